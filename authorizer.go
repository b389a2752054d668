package crmaccess

// Authorizer holds the access rules in memory, translates records into rules
// and back, and answers checks without I/O. The policy package implements
// it on Casbin. Methods that read may run concurrently with each other and
// with one writer; Replace and Apply are called by one writer at a time.
type Authorizer interface {
	// OpportunityRules and ContactRules translate a record's access (and for
	// an opportunity its creator and responsible user) into rules.
	OpportunityRules(o *Opportunity) []Rule
	ContactRules(c *Contact) []Rule
	// AdminRule is the rule that makes user an admin.
	AdminRule(user string) Rule
	// StatusRule is the rule that makes user known with status; false for
	// UserUnknown, which has none.
	StatusRule(user string, status UserStatus) (Rule, bool)

	// Replace drops every rule in memory and holds, instead, the rules that
	// load hands to add; checks see the old rules until the new ones are
	// all in. An unknown rule fails the call and keeps the old rules.
	Replace(load func(add func([]Rule) error) error) error
	// Apply removes then adds rules, all visible to checks at once.
	Apply(remove, add []Rule) error

	// Access translates a record's rules back: IsPrivate or ShareType, the
	// list (ascending), and an opportunity's creator and responsible user.
	Access(ref Ref) AccessState
	// IsAdmin reports whether user holds the admin role.
	IsAdmin(user string) bool
	// UserStatus reports whether user is known, and active.
	UserStatus(user string) UserStatus
	// ListedOn returns the records whose list holds user.
	ListedOn(user string) []Ref
	// Decide answers whether user may do action on the record, and why.
	Decide(user string, ref Ref, action Action) (Decision, error)
	// Granted lists the records of kind whose rules (a public marker or a
	// rule naming user) let user do action: what Decide allows a user who
	// is not an admin. The ids above after, ascending, at most limit, and
	// how many there are in all, from one state.
	Granted(user string, kind Kind, action Action, after int64, limit int) (ids []int64, total int, err error)
}

// Action is what a user wants to do with a record.
type Action string

const (
	ActionRead         Action = "read"
	ActionEdit         Action = "edit"
	ActionDelete       Action = "delete"
	ActionChangeAccess Action = "access"
)

// Valid reports whether a is one of the four actions.
func (a Action) Valid() bool {
	switch a {
	case ActionRead, ActionEdit, ActionDelete, ActionChangeAccess:
		return true
	}
	return false
}

// Reason explains a decision in CRM terms.
type Reason string

const (
	ReasonAdmin           Reason = "admin"
	ReasonPublic          Reason = "public"
	ReasonInAccessList    Reason = "in accessList"
	ReasonCreator         Reason = "creator"
	ReasonResponsible     Reason = "responsible"
	ReasonSharedReadWrite Reason = "shared read-write"
	ReasonInManagerList   Reason = "in managerList"
	ReasonDenied          Reason = "denied"
)

// Decision is the answer to a check.
type Decision struct {
	Allowed bool
	Reason  Reason
}
