package crmaccess

import (
	"context"
	"time"
)

// Store is what the Service needs from persistence. Every method takes the
// caller's context first; errors carry codes (ENOTFOUND for a missing record,
// ECONFLICT for a write the stored state refuses, EINTERNAL otherwise).
//
// A store keeps the record rows, the access rules (the policy lines) and the
// change records. The lists of a record (accessList, managerList) are rules,
// not record columns: the store returns records with empty lists and the
// Authorizer, loaded from Rules, answers for them.
//
// storage/storagetest holds the conformance suite every Store must pass.
type Store interface {
	// Opportunity returns one opportunity (Members filled, AccessList empty).
	Opportunity(ctx context.Context, id int64) (*Opportunity, error)
	// Contacts returns the contacts of ids that exist (Tags filled,
	// ManagerList empty), in ascending id order.
	Contacts(ctx context.Context, ids []int64) ([]Contact, error)
	// FindContacts returns every contact the filter matches (Tags filled,
	// ManagerList empty) in ascending id order. The filter is valid.
	FindContacts(ctx context.Context, f *ContactFilter) ([]Contact, error)
	// Users returns the users of ids that exist, in ascending id order.
	Users(ctx context.Context, ids []string) ([]User, error)
	// Stages returns the stages of ids that exist, in ascending id order.
	Stages(ctx context.Context, ids []int64) ([]Stage, error)
	// Rules calls fn for every stored rule, in no particular order, and stops
	// at fn's first error.
	Rules(ctx context.Context, fn func(Rule) error) error
	// Changes returns the change records of one record (or, with a zero Ref
	// and a user id, of one user's admin role), oldest first.
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)
	// Commit writes the whole batch in one transaction: all of it or none.
	Commit(ctx context.Context, b *Batch) error
}

// Rule is one line of the policy store in the encoding of the policy
// package: a line type and its two values. The storage package keeps rules
// in the policy table without interpreting them.
type Rule struct {
	PType string
	V0    string
	V1    string
}

// Batch is one atomic write.
type Batch struct {
	// RequireEmpty makes the commit fail with ECONFLICT, writing nothing,
	// when the store already holds records or rules.
	RequireEmpty bool

	// Records inserted as they are (lists are rules, not columns).
	Users         []User
	Stages        []Stage
	Contacts      []Contact
	Opportunities []Opportunity

	// Privacy updates of existing records.
	OpportunityPrivacy []OpportunityPrivacy
	ContactShares      []ContactShare

	// Rules removed and added; a removed rule that is not stored, or an added
	// one that already is, fails the commit with ECONFLICT.
	RemoveRules []Rule
	AddRules    []Rule

	// Change records appended; the store assigns their Seq.
	Changes []Change
}

// OpportunityPrivacy sets one opportunity's privacy flag.
type OpportunityPrivacy struct {
	ID        int64
	IsPrivate bool
}

// ContactShare sets one contact's share type.
type ContactShare struct {
	ID        int64
	ShareType ShareType
}

// Change is one recorded change of access: who, when, what, before and after.
type Change struct {
	Seq    int64 // assigned by the store, increasing
	At     time.Time
	Actor  string
	Entity Ref    // the record; zero for a change of a user's admin role
	User   string // the user whose admin role changed
	Before AccessState
	After  AccessState
}

// AccessState is a record's access at one moment: IsPrivate and List for
// an opportunity; ShareType and List for a contact; Admin for a user.
type AccessState struct {
	IsPrivate bool
	ShareType ShareType
	List      []string
	Admin     bool
}

// ChangeQuery selects the change records of one record (Entity) or of one
// user's admin role (User).
type ChangeQuery struct {
	Entity Ref
	User   string
}

// Authorizer holds the access rules in memory, translates records into rules
// and back, and answers checks without I/O. The policy package implements
// it on Casbin. Methods that read may run concurrently with each other;
// Load and Apply are called by one writer at a time.
type Authorizer interface {
	// OpportunityRules and ContactRules translate a record's access (and for
	// an opportunity its creator and responsible user) into rules.
	OpportunityRules(o *Opportunity) []Rule
	ContactRules(c *Contact) []Rule
	// AdminRule is the rule that makes user an admin.
	AdminRule(user string) Rule

	// Load adds stored rules while the service starts; an unknown rule fails.
	Load(rules []Rule) error
	// Apply changes the rules in memory after a commit.
	Apply(remove, add []Rule) error

	// Access translates a record's rules back: IsPrivate or ShareType, and
	// the list (ascending).
	Access(ref Ref) AccessState
	// IsAdmin reports whether user holds the admin role.
	IsAdmin(user string) bool
	// Decide answers whether user may do action on the record, and why.
	Decide(user string, ref Ref, action Action) (Decision, error)
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
