package crmaccess

// OpportunityResult is an opportunity with its current access, whether the
// acting user may edit it, and the token of the state it shows. Changed is
// set in the answer of a change of access, or of its preview, on a record
// whose access that change altered (or would alter); false on a record it
// left as it was, and on every other answer.
type OpportunityResult struct {
	Opportunity
	CanEdit bool
	Changed bool
	Token   Token
}

// ContactResult is a contact with its current access and what the acting
// user may do with it. Token is set on the answer about one contact
// (SetContactAccess); in a ContactsAccessResult the list's Token names the state.
// Changed is as in OpportunityResult.
type ContactResult struct {
	Contact
	CanEdit   bool
	CanDelete bool
	Changed   bool
	Token     Token
}

// OpportunitiesAccessResult is the answer of a change of many opportunities:
// every one the actor could change, with its new values, how many the actor
// could read but not change (skipped), and the token of the write (of the
// state it was decided on, for a preview, which writes nothing).
type OpportunitiesAccessResult struct {
	Opportunities []OpportunityResult
	Skipped       int
	Token         Token
}

// ContactsAccessResult is the answer of SetContactsAccess: every matching contact
// the actor could edit, with its new values, how many the actor could read
// but not edit (skipped), and the token of the write (of the state it was
// decided on, for a preview, which writes nothing). The contacts' slices
// (Tags, ManagerList) are shared by contacts with the same values: read
// them, copy them to change them.
type ContactsAccessResult struct {
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
