package crmaccess

// OpportunityResult is an opportunity with its current access, whether the
// acting user may edit it, and the token of the state it shows.
type OpportunityResult struct {
	Opportunity
	CanEdit bool
	Token   Token
}

// ContactResult is a contact with its current access and what the acting
// user may do with it.
type ContactResult struct {
	Contact
	CanEdit   bool
	CanDelete bool
}

// ContactsResult is the answer of SetContactsAccess: every matching contact
// the actor could edit, with its new values, how many the actor could read
// but not edit (skipped), and the token of the write.
type ContactsResult struct {
	Contacts []ContactResult
	Skipped  int
	Token    Token
}

// actor returns the canonical id of the acting user, or EUNAUTHORIZED.
func actor(user string) (string, error) {
	if user == "" {
		return "", Errorf(EUNAUTHORIZED, "no acting user")
	}
	id, err := ParseGUID(user)
	if err != nil {
		return "", Errorf(EUNAUTHORIZED, "the acting user %q is not a valid user id", user)
	}
	return id, nil
}
