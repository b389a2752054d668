package crmaccess

import (
	"context"
	"errors"
	"time"
)

// Reader is what the Service reads from persistence, in committed state:
// through Store outside a write, and through the reader a write transaction
// hands to its build function (Store.Update) inside one. Every method takes
// the caller's context first; errors carry codes (ENOTFOUND for a missing
// record, EINTERNAL otherwise).
//
// A store keeps the record rows, the access rules (the policy lines) and the
// change log. The lists of a record (accessList, managerList) are rules,
// not record columns: the store returns records with empty lists and the
// Authorizer, which follows the log, answers for them.
type Reader interface {
	// Opportunity returns one opportunity (Members filled, AccessList empty).
	Opportunity(ctx context.Context, id int64) (*Opportunity, error)
	// Opportunities returns the opportunities of ids that exist (Members
	// filled, AccessList empty), in ascending id order.
	Opportunities(ctx context.Context, ids []int64) ([]Opportunity, error)
	// Contacts returns the contacts of ids that exist (Tags filled,
	// ManagerList empty), in ascending id order.
	Contacts(ctx context.Context, ids []int64) ([]Contact, error)
	// FindContacts returns every contact the filter matches (Tags filled,
	// ManagerList empty) in ascending id order. The filter is valid.
	FindContacts(ctx context.Context, f *ContactFilter) ([]Contact, error)
	// FindOpportunities returns every opportunity the filter matches
	// (Members and Tags filled, AccessList empty) in ascending id order. The
	// filter is valid.
	FindOpportunities(ctx context.Context, f *OpportunityFilter) ([]Opportunity, error)
	// ReadableOpportunities and ReadableContacts return the records the
	// filter matches that user may read (an active user who is not an
	// admin: see Check), by ascending id, skipping offset, at most limit (0:
	// all), and how many match in all: access decided in the query, so
	// that a page reads its rows only (with a search text, the matching
	// rows). Members and Tags filled, lists empty.
	ReadableOpportunities(ctx context.Context, f *OpportunityFilter, user string, offset, limit int) ([]Opportunity, int, error)
	ReadableContacts(ctx context.Context, f *ContactFilter, user string, offset, limit int) ([]Contact, int, error)
	// Stages returns the stages of ids that exist, in ascending id order.
	Stages(ctx context.Context, ids []int64) ([]Stage, error)
	// Users returns the users of ids that exist (removed ones included), in
	// ascending id order.
	Users(ctx context.Context, ids []string) ([]User, error)
	// StageInUse reports whether an opportunity is at stage id.
	StageInUse(ctx context.Context, id int64) (bool, error)
	// Log calls fn with every log entry after position after, in position
	// order, each whole (all the changes of its commit), and stops at fn's
	// first error. Positions are consecutive: the entry after position n is
	// n+1.
	Log(ctx context.Context, after int64, fn func(*LogEntry) error) error
}

// Store is what the Service needs from persistence: the committed reads,
// a consistent snapshot of the rules to start from, and one way to write.
//
// storage/storagetest holds the conformance suite every Store must pass.
type Store interface {
	Reader
	// RecordIDs returns the ids of the stored records of kind above after,
	// ascending, at most limit (> 0), and how many records of kind there
	// are in all, both read in one consistent state.
	RecordIDs(ctx context.Context, kind Kind, after int64, limit int) (ids []int64, total int, err error)
	// Changes returns the change records of one record (or, with a zero Ref
	// and a user id, of one user's admin role), oldest first.
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)
	// Snapshot calls fn for every stored rule, in no particular order, all
	// read in one consistent state, and returns the log position of that
	// state. It stops at fn's first error.
	Snapshot(ctx context.Context, fn func(Rule) error) (position int64, err error)
	// HistoryReader answers from the change log for a past state.
	HistoryReader
	// Update runs one write transaction. It first takes the store's writer
	// lock, so that no other writer, in this process or another, commits
	// until it ends; then it calls build with a Reader of the transaction and
	// the log position of the committed state (the head). build decides from
	// that state and returns the batch to write, or nil to write nothing.
	// Update writes the batch, appends its changes to the log as one entry at
	// head+1, commits, and returns the entry's position (head when nothing
	// was written). A build error is returned as it is, after a rollback.
	//
	// An error from the commit itself leaves the outcome unknown: the entry
	// may or may not be in the log.
	Update(ctx context.Context, build func(ctx context.Context, tx Reader, head int64) (*Batch, error)) (position int64, err error)
}

// BuildFunc decides one write inside a write transaction (Store.Update):
// from tx, a Reader of the transaction, and head, the log position of the
// state it decides on, it returns the batch to write, or nil to write
// nothing.
type BuildFunc = func(ctx context.Context, tx Reader, head int64) (*Batch, error)

// GroupUpdater is an optional capability of a Store: several writes in one
// transaction (group commit). The Service uses it to commit concurrent
// writes that do not touch the same records together.
type GroupUpdater interface {
	// UpdateGroup is Update for several builds: it takes the writer lock
	// once, calls the builds in order, each with the head the batches
	// before it bring the log to (so that the entries are consecutive),
	// then writes each batch as its own log entry, and commits once. The
	// builds are all called before any batch is written: a build's reads
	// see the committed state, not the batches of the builds before it,
	// so a group must not hold a write that reads what another writes. It returns
	// each build's position (its entry's, or the head it saw when it
	// wrote nothing) and each build's error: a build that fails writes
	// nothing and does not stop the others. err is the failure of the
	// transaction (writing a batch, the commit): then no build's batch is
	// written, or, from the commit itself, the outcome is unknown.
	UpdateGroup(ctx context.Context, builds []BuildFunc) (positions []int64, errs []error, err error)
}

// AheadUpdater is an optional capability of a Store: a write decided
// before the writer lock, committed in one round trip when the store is
// still in the state it was decided on. The Service decides a write that
// names its records (WithReads) on memory at its log position, guessing
// which of the records it looks up exist, and hands the batch here with
// what it took for granted; when UpdateAhead answers ErrNotAsExpected,
// nothing was written and the Service makes the write the usual way,
// deciding again under the writer lock (service.go).
type AheadUpdater interface {
	// WritesAhead reports whether UpdateAhead may commit at all (false:
	// it always answers ErrNotAsExpected, and the Service does not try).
	WritesAhead() bool
	// UpdateAhead takes the writer lock and, in the same transaction,
	// checks that the log's head is e.Head and that the records of
	// e.Present are stored and those of e.Absent are not; then it writes
	// b as the entry at e.Head+1 and commits, returning that position.
	// The opportunities of read are read as the lock finds them, before
	// the write, and returned as Reader.Opportunities returns them: the
	// rows a write's answer shows. When a check fails, or b is of a shape
	// it does not write this way, it writes nothing and returns
	// ErrNotAsExpected. Its other errors are Update's: a failed commit
	// leaves the outcome unknown.
	UpdateAhead(ctx context.Context, e Expectation, b *Batch, read []int64) (position int64, rows []Opportunity, err error)
}

// Expectation is the state a write decided ahead of the writer lock
// holds for true: the log's head, and which records exist.
type Expectation struct {
	Head    int64
	Present Reads // records that must be stored
	Absent  Reads // records that must not be
}

// ErrNotAsExpected is UpdateAhead's answer when the store is not in the
// state the write was decided on, or the write is not one it makes ahead:
// nothing was written.
var ErrNotAsExpected = errors.New("crmaccess: the store is not in the state the write was decided on")

// Notifier is an optional capability of a Store: a wake-up when a process
// appended to the log (PostgreSQL's LISTEN/NOTIFY). The Service polls the
// log as well, so a missed wake-up only costs latency.
type Notifier interface {
	// Notify sends on the returned channel, until ctx ends, the position of
	// each entry appended to the log, or 0 when the log may have grown by
	// entries it cannot name (after a lost connection). Sends do not block:
	// pending positions merge into the newest. A nil channel means this
	// store sends no wake-ups (the Service then polls often).
	Notify(ctx context.Context) (<-chan int64, error)
}

// Rule is one line of the policy store in the encoding of the policy
// package: a line of type Type links From to To (a record to a user on its
// list, a user to a role). The storage package keeps rules in the policy
// table (Type as ptype, From as v0, To as v1) without interpreting them.
type Rule struct {
	Type string
	From string
	To   string
}

// Batch is one atomic write.
type Batch struct {
	// RequireEmpty makes the commit fail with ECONFLICT, writing nothing,
	// when the store already holds records or rules.
	RequireEmpty bool

	// Records inserted as they are (lists are rules, not columns).
	Users []User
	// Users replaced whole (name, title, avatar, profile, status).
	UpdateUsers   []User
	Stages        []Stage
	Contacts      []Contact
	Opportunities []Opportunity

	// Existing records replaced: every field but the creator, the creation
	// time and the access (an opportunity's members and tags, a contact's
	// tags, replaced too). An id that does not exist fails with ECONFLICT.
	UpdateContacts      []Contact
	UpdateOpportunities []Opportunity
	UpdateStages        []Stage

	// Privacy updates of existing records.
	OpportunityPrivacy []OpportunityPrivacy
	ContactShares      []ContactShare

	// Records deleted by id, with their members and tags. A deleted contact
	// leaves its persons without a company and opportunities without it as
	// main contact or member. An id that does not exist fails with
	// ECONFLICT.
	DeleteOpportunities []int64
	DeleteContacts      []int64
	DeleteStages        []int64

	// Rules removed and added; a removed rule that is not stored, or an added
	// one that already is, fails the commit with ECONFLICT.
	RemoveRules []Rule
	AddRules    []Rule

	// The log entry: its kind, its time (zero: the store's clock), and its
	// change records in order. The store assigns the entry's position and
	// the records' Seq.
	Kind    EntryKind
	At      time.Time
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

// EntryKind says what kind of write made a log entry.
type EntryKind string

const (
	EntryAccess EntryKind = "access" // a change of privacy or lists
	EntryAdmin  EntryKind = "admin"  // a grant or revocation of the admin role
	EntryImport EntryKind = "import" // a data set loaded into an empty store
	EntryRecord EntryKind = "record" // a record created, edited or deleted
	// EntryBaseline is the state of a store that held records or rules
	// without their change records (written before the log recorded
	// them): one change record per record and user whose stored access
	// the log did not explain, Before and After both that stored access.
	// History is complete from it on.
	EntryBaseline EntryKind = "baseline"
)

// LogEntry is one committed write as the change log keeps it: its position,
// and every change of access it made, in order. The rules at position n are
// the replay of the changes of the entries up to n.
type LogEntry struct {
	Position int64
	Kind     EntryKind
	Changes  []Change
}

// A user's change records carry the user's whole state: Admin and Status.

// Change is one recorded change of access: who, when, what, before and
// after. It is the audit trail and what every instance follows.
type Change struct {
	Seq      int64 // assigned by the store, increasing
	Position int64 // the log position of the write that made it
	At       time.Time
	Actor    string
	Entity   Ref    // the record; zero for a change of a user's admin role
	User     string // the user whose admin role changed
	Before   AccessState
	After    AccessState
}

// AccessState is a record's access at one moment: IsPrivate, List, Creator
// and Responsible for an opportunity; ShareType and List for a contact;
// Admin for a user. A record that does not exist has the state of no rules:
// a private opportunity and a private contact with empty lists.
type AccessState struct {
	IsPrivate   bool
	ShareType   ShareType
	List        []string
	Creator     string // an opportunity's creator
	Responsible string // an opportunity's responsible user
	Admin       bool
	Status      UserStatus // a user's status
}

// ChangeQuery selects the change records of one record (Entity) or of one
// user's admin role (User).
type ChangeQuery struct {
	Entity Ref
	User   string
}

// HistoryReader reads the change log as history: where a time falls in the
// log, the access of records and users at a log position, and change
// records by filter. The state at position n is the replay of the entries
// up to n: a record's access is the After of its last change record at or
// before n (none: the access of no rules, see AccessState), a user's admin
// role and status the After of the user's last change record at or before
// n (none: an unknown user). Change records are ordered by Seq, which
// follows log positions (positions are handed out under the writer lock).
type HistoryReader interface {
	// PositionAt returns the position of the log entry stamped latest at
	// or before t (ties: the highest position), and its time; 0 and the
	// zero time when no entry is.
	PositionAt(ctx context.Context, t time.Time) (position int64, at time.Time, err error)
	// EntryTime returns the time of the entry at position (ENOTFOUND when
	// the log has none there).
	EntryTime(ctx context.Context, position int64) (time.Time, error)
	// HistoryStart returns the position from which the log explains the
	// whole state: the newest baseline entry's (EntryBaseline), or 0 when
	// the log holds every change since the store was empty.
	HistoryStart(ctx context.Context) (int64, error)
	// RecordsAt returns the access of each ref at position, in the order
	// of refs.
	RecordsAt(ctx context.Context, position int64, refs []Ref) ([]StateAt, error)
	// UsersAt returns the states at position of users ids and, with
	// admins, of every user who was an admin then; each user once,
	// ascending by id.
	UsersAt(ctx context.Context, position int64, ids []string, admins bool) ([]StateAt, error)
	// AllUsersAt calls fn with the state at position of every user whose
	// change records reach back to it, ascending by id.
	AllUsersAt(ctx context.Context, position int64, fn func(StateAt) error) error
	// ReadableAt returns, ascending, the ids of the records of kind whose
	// access at position opens them to user for reading by itself (a
	// public opportunity or one naming user as creator, responsible or on
	// its accessList; a contact shared, or with user on its managerList):
	// what an active user who is not an admin could read then.
	ReadableAt(ctx context.Context, position int64, kind Kind, user string) ([]int64, error)
	// ChangedSince returns, ascending, the records of kind with a change
	// record after position and at or before head, and those of them
	// whose access at position (the Before of their first such change
	// record) opened them to user for reading by itself, as ReadableAt
	// decides: what turns the readable records at head into those at
	// position, reading the changes since position only.
	ChangedSince(ctx context.Context, position, head int64, kind Kind, user string) (changed, readable []int64, err error)
	// SeqAt returns the highest Seq of the change records at or before
	// position (0 when there are none): how many change records a replay
	// up to position reads, compared with another position's.
	SeqAt(ctx context.Context, position int64) (int64, error)
	// FindChanges returns the change records f selects, by ascending Seq,
	// after f.After, at most f.Limit (> 0).
	FindChanges(ctx context.Context, f ChangeFilter) ([]Change, error)
}

// StateAt is the access of one record (Ref) or user (User) at a log
// position: State is the After of its last change record at or before the
// position, Seq that record's (0 when there is none: the access of no
// rules, or an unknown user).
type StateAt struct {
	Ref   Ref
	User  string
	Seq   int64
	State AccessState
}

// ChangeFilter selects change records; its conditions combine with AND,
// and a zero field selects everything.
type ChangeFilter struct {
	// Entity: the change records of one record.
	Entity Ref
	// User: the change records of one user's admin role and status (not
	// of the records whose lists name the user).
	User string
	// Actor: the change records of the writes of one user ("" selects
	// every actor, including the none of an import or baseline).
	Actor string
	// From (inclusive) and To (exclusive) bound the change records' time.
	From, To time.Time
	// After is the cursor: only change records with a larger Seq.
	After int64
	// Limit caps the answer; 0 is DefaultChangeLimit.
	Limit int
}

// DefaultChangeLimit is how many change records a page holds by default,
// and MaxChangeLimit the most it may hold.
const (
	DefaultChangeLimit = 100
	MaxChangeLimit     = 10_000
)
