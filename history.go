package crmaccess

import (
	"context"
	"math"
	"slices"
	"time"
)

// Moment names a state of the store's history, for the point-in-time
// questions (WhoCould, UsersWhoCould, ReadableAt).
//
// The change log is the history: every write is one entry at the next
// position, stamped with the writing Service's clock (Options.Now) while
// it holds the writer lock, and the state at position n is the replay of
// the entries up to n (records' access, users' admin role and status).
//
//   - The zero Moment is now: the state this Service holds in memory, after
//     catching up as Check does (a token in ctx, a write of unknown
//     outcome).
//   - Time: the state after every entry stamped at or before Time. Precisely:
//     the state at the position of the entry stamped latest at or before
//     Time (ties: the highest position). Entries are stamped in position
//     order whenever the writers' clocks agree (one process, or synchronized
//     hosts), and then that is the state after exactly the entries stamped at
//     or before Time. Before the first entry: the empty store (no users, no
//     access).
//   - Position: the state at that log position (a write's token: MomentOf).
//
// A store whose log began after its data (see EntryBaseline) has no
// history before its baseline entry: asking for an earlier Moment fails
// with EINVALID.
type Moment struct {
	Time     time.Time
	Position int64
}

// MomentOf returns the Moment of a token: the state right after the write
// that returned it. Errors: EINVALID (a malformed token).
func MomentOf(t Token) (Moment, error) {
	pos, err := t.position()
	if err != nil {
		return Moment{}, err
	}
	return Moment{Position: pos}, nil
}

// Grant is one user allowed an action, with the reason Check gives.
type Grant struct {
	User   string
	Reason Reason
}

// WhoCould answers who could do an action on a record at a Moment.
type WhoCould struct {
	Ref    Ref
	Action Action
	// Position is the log position the answer is the state at (0: the
	// empty store), Time the time of that entry (zero at position 0).
	Position int64
	Time     time.Time
	// Access is the record's access then: its privacy or share type, its
	// list, an opportunity's creator and responsible user. A record that
	// did not exist has the access of no rules (admins only).
	Access AccessState
	// Everyone, when not empty, is the reason every active user could
	// (ReasonPublic, ReasonSharedReadWrite): the users are then not listed
	// one by one, except the admins (whose reason is ReasonAdmin).
	// UsersWhoCould lists them all.
	Everyone Reason
	// Users are the active users who could by name, ascending: the
	// admins, and unless Everyone covers them, the users of the list, the
	// creator and the responsible user, each with the reason Check gave
	// then.
	Users []Grant
}

// Allowed reports whether user could, with the reason: ReasonDenied when
// not. A user who was not active then is denied, as Check denies; active
// users Everyone covers need active, their status then (UsersWhoCould
// answers for them from the log).
func (w *WhoCould) Allowed(user string, active bool) Decision {
	for _, g := range w.Users {
		if g.User == user {
			return Decision{Allowed: true, Reason: g.Reason}
		}
	}
	if w.Everyone != "" && active {
		return Decision{Allowed: true, Reason: w.Everyone}
	}
	return Decision{Reason: ReasonDenied}
}

// WhoCould answers who could do action on the record ref at Moment at,
// each user with the reason in CRM terms (the reasons of Check): the
// admins, then either every active user (a public record: Everyone) or
// the users its access names. The answer equals what Check answered for
// every user at that state. It reads the change log: a few index lookups.
//
// Errors: EINVALID (an unknown kind or action, an id <= 0, a Moment with
// both a time and a position, a position the log has not reached, a moment
// before the store's history starts), EUNAVAILABLE, EINTERNAL.
func (s *Service) WhoCould(ctx context.Context, ref Ref, action Action, at Moment) (*WhoCould, error) {
	if !ref.Valid() {
		return nil, Errorf(EINVALID, "no record %v: unknown kind or id not positive", ref)
	}
	if !action.Valid() {
		return nil, Errorf(EINVALID, "unknown action %q", action)
	}
	pos, t, err := s.resolveMoment(ctx, at)
	if err != nil {
		return nil, err
	}
	w := &WhoCould{Ref: ref, Action: action, Position: pos, Time: t, Access: noAccess(ref)}
	if pos == 0 {
		return w, nil
	}
	recs, err := s.base.RecordsAt(ctx, pos, []Ref{ref})
	if err != nil {
		return nil, Internal(err)
	}
	if len(recs) == 1 && recs[0].Seq != 0 {
		w.Access = recs[0].State
	}
	w.Everyone = everyoneReason(ref, w.Access, action)
	named := append(slices.Clone(w.Access.List), w.Access.Creator, w.Access.Responsible)
	named = slices.DeleteFunc(named, func(u string) bool { return u == "" })
	users, err := s.base.UsersAt(ctx, pos, named, true)
	if err != nil {
		return nil, Internal(err)
	}
	for _, u := range users {
		d := decideAt(u.State, u.User, ref, w.Access, action)
		if d.Allowed && d.Reason != w.Everyone {
			w.Users = append(w.Users, Grant{User: u.User, Reason: d.Reason})
		}
	}
	return w, nil
}

// UsersWhoCould lists every user who could do action on ref at Moment at,
// one by one and ascending, each with the reason Check gave: what
// WhoCould answers, with Everyone spelled out as the users active then.
// It reads every user's state then: a command-line tool's answer, not a
// request's.
//
// Errors: those of WhoCould.
func (s *Service) UsersWhoCould(ctx context.Context, ref Ref, action Action, at Moment) ([]Grant, error) {
	if at == (Moment{}) {
		// Pin now to one position, so that both reads see one state.
		if err := s.fresh(ctx); err != nil {
			return nil, err
		}
		at = Moment{Position: s.applied.Load()}
		if at.Position == 0 {
			return nil, nil
		}
	}
	w, err := s.WhoCould(ctx, ref, action, at)
	if err != nil {
		return nil, err
	}
	if w.Everyone == "" {
		return w.Users, nil
	}
	var out []Grant
	err = s.base.AllUsersAt(ctx, w.Position, func(u StateAt) error {
		if d := decideAt(u.State, u.User, ref, w.Access, action); d.Allowed {
			out = append(out, Grant{User: u.User, Reason: d.Reason})
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

// Readable answers which records of one kind a user could read at a
// Moment.
type Readable struct {
	User     string
	Kind     Kind
	Position int64     // the log position of the state (see WhoCould)
	Time     time.Time // the time of that entry
	// Status is the user's status then; a user who was not active could
	// read nothing (IDs empty).
	Status UserStatus
	// Admin: the user was an admin then, and could read every record of
	// the kind (IDs is then nil: the log keeps records' access, not
	// which records existed).
	Admin bool
	// IDs are the records the user could read, ascending: public ones and
	// those whose access named the user (list, creator, responsible).
	IDs []int64
}

// ReadableAt answers which records of kind user could read at Moment at.
// Now (the zero Moment) is answered from memory; a past Moment from the
// change log, in one query over the last change record of each record at
// or before it.
//
// Errors: EINVALID (user is not a GUID, an unknown kind, a Moment as for
// WhoCould), EUNAVAILABLE, EINTERNAL.
func (s *Service) ReadableAt(ctx context.Context, user string, kind Kind, at Moment) (*Readable, error) {
	id, err := ParseGUID(user)
	if err != nil {
		return nil, Errorf(EINVALID, "user %q is not a GUID", user)
	}
	if kind != KindOpportunity && kind != KindContact {
		return nil, Errorf(EINVALID, "unknown kind %q", kind)
	}
	r := &Readable{User: id, Kind: kind}
	if at == (Moment{}) {
		if err := s.fresh(ctx); err != nil {
			return nil, err
		}
		// Memory, read while no log entry is applied, at one position.
		s.applyMu.Lock()
		r.Position = s.applied.Load()
		r.Status, r.Admin = s.auth.UserStatus(id), s.auth.IsAdmin(id)
		if r.Status == UserActive && !r.Admin {
			r.IDs, _, err = s.auth.Granted(id, kind, ActionRead, 0, math.MaxInt32)
		}
		s.applyMu.Unlock()
		if err != nil {
			return nil, Internal(err)
		}
		if r.Status != UserActive {
			r.Admin = false
		}
		if r.Position > 0 {
			if r.Time, err = s.base.EntryTime(ctx, r.Position); err != nil {
				return nil, Internal(err)
			}
		}
		return r, nil
	}
	if r.Position, r.Time, err = s.resolveMoment(ctx, at); err != nil {
		return nil, err
	}
	if r.Position == 0 {
		return r, nil
	}
	users, err := s.base.UsersAt(ctx, r.Position, []string{id}, false)
	if err != nil {
		return nil, Internal(err)
	}
	if len(users) == 1 {
		r.Status = users[0].State.Status
		r.Admin = r.Status == UserActive && users[0].State.Admin
	}
	if r.Status != UserActive || r.Admin {
		return r, nil
	}
	if r.IDs, err = s.readableAt(ctx, r.Position, kind, id); err != nil {
		return nil, Internal(err)
	}
	return r, nil
}

// readableAt lists what user, active and not an admin, could read at pos,
// reading the shorter side of the log: the change records up to pos
// (Store.ReadableAt), or those since pos up to memory's position, undone
// from what memory grants now (Store.ChangedSince).
func (s *Service) readableAt(ctx context.Context, pos int64, kind Kind, user string) ([]int64, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	head := s.applied.Load()
	if head < pos {
		return s.base.ReadableAt(ctx, pos, kind, user)
	}
	var seqs [3]int64
	for i, p := range [3]int64{0, pos, head} {
		var err error
		if seqs[i], err = s.base.SeqAt(ctx, p); err != nil {
			return nil, err
		}
	}
	if seqs[2]-seqs[1] >= seqs[1]-seqs[0] {
		return s.base.ReadableAt(ctx, pos, kind, user)
	}
	changed, readable, err := s.base.ChangedSince(ctx, pos, head, kind, user)
	if err != nil {
		return nil, err
	}
	// What memory grants at head: read with no entry being applied, and
	// only if memory is still at head (else the change records read are
	// not those since pos up to memory's state: read forward).
	s.applyMu.Lock()
	now, _, err := s.auth.Granted(user, kind, ActionRead, 0, math.MaxInt32)
	moved := s.applied.Load() != head
	s.applyMu.Unlock()
	if err != nil {
		return nil, err
	}
	if moved {
		return s.base.ReadableAt(ctx, pos, kind, user)
	}
	// Records not changed since pos are as memory holds them; the others
	// as they were at pos.
	out := make([]int64, 0, len(now)+len(readable))
	for _, id := range now {
		if _, found := slices.BinarySearch(changed, id); !found {
			out = append(out, id)
		}
	}
	out = append(out, readable...)
	slices.Sort(out)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// resolveMoment returns the log position and time of at.
func (s *Service) resolveMoment(ctx context.Context, at Moment) (int64, time.Time, error) {
	var pos int64
	var t time.Time
	var err error
	switch {
	case !at.Time.IsZero() && at.Position != 0:
		return 0, time.Time{}, Errorf(EINVALID, "a moment is a time or a log position, not both")
	case at.Position < 0:
		return 0, time.Time{}, Errorf(EINVALID, "log position %d is negative", at.Position)
	case at.Position > 0:
		pos = at.Position
		if t, err = s.base.EntryTime(ctx, pos); ErrorCode(err) == ENOTFOUND {
			return 0, time.Time{}, Errorf(EINVALID, "the log has no entry at position %d", pos)
		}
	case !at.Time.IsZero():
		pos, t, err = s.base.PositionAt(ctx, at.Time)
	default:
		if err := s.fresh(ctx); err != nil {
			return 0, time.Time{}, err
		}
		if pos = s.applied.Load(); pos > 0 {
			t, err = s.base.EntryTime(ctx, pos)
		}
	}
	if err != nil {
		return 0, time.Time{}, Internal(err)
	}
	start, err := s.base.HistoryStart(ctx)
	if err != nil {
		return 0, time.Time{}, Internal(err)
	}
	if pos < start {
		return 0, time.Time{}, Errorf(EINVALID, "the history of this store starts at log position %d (its baseline): %d is before it", start, pos)
	}
	return pos, t, nil
}

// everyoneReason is the reason every active user may do action on a
// record with access st, "" when not every user may.
func everyoneReason(ref Ref, st AccessState, action Action) Reason {
	if ref.Kind == KindOpportunity {
		if !st.IsPrivate && action != ActionChangeAccess {
			return ReasonPublic
		}
		return ""
	}
	switch {
	case st.ShareType == ShareReadWrite:
		return ReasonSharedReadWrite
	case st.ShareType == ShareRead && action == ActionRead:
		return ReasonPublic
	}
	return ""
}

// decideAt decides as Check does, from a user's state (admin role,
// status) and a record's access: the rules of SPEC §2 with the reasons in
// the order the policy package gives them.
func decideAt(u AccessState, user string, ref Ref, st AccessState, action Action) Decision {
	if u.Status != UserActive {
		return Decision{Reason: ReasonDenied}
	}
	if u.Admin {
		return Decision{Allowed: true, Reason: ReasonAdmin}
	}
	opportunity := ref.Kind == KindOpportunity
	if !opportunity && action == ActionChangeAccess {
		action = ActionEdit
	}
	// An opportunity's list counts while it is private (a public one has
	// no list lines); a contact's whatever its share type.
	listed := (!opportunity || st.IsPrivate) && slices.Contains(st.List, user)
	creator := opportunity && st.Creator == user
	if action == ActionChangeAccess {
		if creator {
			return Decision{Allowed: true, Reason: ReasonCreator}
		}
		return Decision{Reason: ReasonDenied}
	}
	switch r := everyoneReason(ref, st, ActionEdit); {
	case r != "":
		return Decision{Allowed: true, Reason: r}
	case listed && opportunity:
		return Decision{Allowed: true, Reason: ReasonInAccessList}
	case listed:
		return Decision{Allowed: true, Reason: ReasonInManagerList}
	case creator:
		return Decision{Allowed: true, Reason: ReasonCreator}
	case opportunity && st.Responsible == user:
		return Decision{Allowed: true, Reason: ReasonResponsible}
	case !opportunity && st.ShareType == ShareRead && action == ActionRead:
		return Decision{Allowed: true, Reason: ReasonPublic}
	}
	return Decision{Reason: ReasonDenied}
}
