package crmaccess

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Service keeps record-level access for opportunities and contacts. It
// validates requests, translates access into rules through its Authorizer,
// commits records, rules and a change record in one Store transaction, and
// only then updates the rules in memory. Writes are serialized; checks run
// concurrently and never do I/O.
type Service struct {
	store Store
	auth  Authorizer
	now   func() time.Time

	// writeMu serializes writes: a write reads the state it changes, commits
	// the diff and applies it to memory before the next one reads.
	writeMu sync.Mutex
}

// Options configures a Service; nil means the defaults.
type Options struct {
	// Now is the clock of change records; nil is time.Now.
	Now func() time.Time
}

// cancelCheckEvery is how many contacts a long loop handles between two
// looks at its context.
const cancelCheckEvery = 4096

// loadChunk is how many stored rules are handed to the Authorizer at once.
const loadChunk = 10_000

// NewService loads every stored rule into auth and returns the service.
// It fails with EINVALID when the store holds a rule auth does not know, or
// EINTERNAL.
func NewService(ctx context.Context, store Store, auth Authorizer, opts *Options) (*Service, error) {
	s := &Service{store: store, auth: auth, now: time.Now}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	chunk := make([]Rule, 0, loadChunk)
	err := store.Rules(ctx, func(r Rule) error {
		chunk = append(chunk, r)
		if len(chunk) == loadChunk {
			if err := auth.Load(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
		return nil
	})
	if err == nil {
		err = auth.Load(chunk)
	}
	if err != nil {
		return nil, Internal(err)
	}
	return s, nil
}

// OpportunityResult is an opportunity with its current access and whether
// the acting user may edit it.
type OpportunityResult struct {
	Opportunity
	CanEdit bool
}

// ContactResult is a contact with its current access and what the acting
// user may do with it.
type ContactResult struct {
	Contact
	CanEdit   bool
	CanDelete bool
}

// ContactsResult is the answer of SetContactsAccess: every matching contact
// the actor could edit, with its new values, and how many were skipped.
type ContactsResult struct {
	Contacts []ContactResult
	Skipped  int
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

// SetOpportunityAccess makes opportunity id private with accessList (the
// actor is added to it), or public when isPrivate is false or the list is
// empty. A request that changes nothing writes nothing.
//
// Errors: EUNAUTHORIZED (no valid actor), EINVALID (id <= 0, an entry that
// is not a GUID), ENOTFOUND (missing, or hidden from the actor), EFORBIDDEN
// (the actor is neither an admin nor the creator), EINTERNAL.
func (s *Service) SetOpportunityAccess(ctx context.Context, actorID string, id int64, isPrivate bool, accessList []string) (*OpportunityResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, Errorf(EINVALID, "opportunity id %d is not positive", id)
	}
	ref := OpportunityRef(id)

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	o, err := s.readableOpportunity(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if d, err := s.auth.Decide(u, ref, ActionChangeAccess); err != nil {
		return nil, Internal(err)
	} else if !d.Allowed {
		return nil, Errorf(EFORBIDDEN, "only an admin or the creator may change the access of opportunity %d", id)
	}
	list, err := ParseGUIDList("accessList", accessList)
	if err != nil {
		return nil, err
	}

	before := s.auth.Access(ref)
	after := AccessState{}
	if isPrivate && len(list) > 0 {
		if i, found := slices.BinarySearch(list, u); !found {
			list = slices.Insert(list, i, u)
		}
		after = AccessState{IsPrivate: true, List: list}
	}
	if before.IsPrivate != after.IsPrivate || !slices.Equal(before.List, after.List) {
		old, changed := *o, *o
		old.IsPrivate, old.AccessList = before.IsPrivate, before.List
		changed.IsPrivate, changed.AccessList = after.IsPrivate, after.List
		remove, add := diffRules(s.auth.OpportunityRules(&old), s.auth.OpportunityRules(&changed))
		b := &Batch{
			OpportunityPrivacy: []OpportunityPrivacy{{ID: id, IsPrivate: after.IsPrivate}},
			RemoveRules:        remove,
			AddRules:           add,
			Changes:            []Change{{At: s.now(), Actor: u, Entity: ref, Before: before, After: after}},
		}
		if err := s.commit(ctx, b); err != nil {
			return nil, err
		}
	}
	o.IsPrivate, o.AccessList = after.IsPrivate, after.List
	canEdit, err := s.allowed(u, ref, ActionEdit)
	if err != nil {
		return nil, err
	}
	return &OpportunityResult{Opportunity: *o, CanEdit: canEdit}, nil
}

// Opportunity returns opportunity id as the actor sees it.
//
// Errors: EUNAUTHORIZED, EINVALID (id <= 0), ENOTFOUND (missing or hidden),
// EINTERNAL.
func (s *Service) Opportunity(ctx context.Context, actorID string, id int64) (*OpportunityResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, Errorf(EINVALID, "opportunity id %d is not positive", id)
	}
	o, err := s.readableOpportunity(ctx, u, id)
	if err != nil {
		return nil, err
	}
	st := s.auth.Access(OpportunityRef(id))
	o.IsPrivate, o.AccessList = st.IsPrivate, st.List
	canEdit, err := s.allowed(u, OpportunityRef(id), ActionEdit)
	if err != nil {
		return nil, err
	}
	return &OpportunityResult{Opportunity: *o, CanEdit: canEdit}, nil
}

// readableOpportunity loads an opportunity and hides it, with the same
// error as a missing one, from a user who may not read it.
func (s *Service) readableOpportunity(ctx context.Context, u string, id int64) (*Opportunity, error) {
	notFound := Errorf(ENOTFOUND, "opportunity %d not found", id)
	// Decide first: it reads only memory, so a hidden opportunity and a
	// missing one take the same path, without I/O, in the same time.
	if ok, err := s.allowed(u, OpportunityRef(id), ActionRead); err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound
	}
	o, err := s.store.Opportunity(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, Internal(err)
	}
	return o, nil
}

// SetContactsAccess applies privacy to every contact the filter matches and
// the actor may edit: isPrivate makes them private (ShareNone) with exactly
// the managers of managerList (the actor is not added); otherwise shared
// (ShareReadWrite) with no managers. Contacts the actor may not edit are
// skipped and counted. All changes commit in one transaction.
//
// Errors: EUNAUTHORIZED, EINVALID (a filter field, a managerList entry that
// is not a GUID), EINTERNAL.
func (s *Service) SetContactsAccess(ctx context.Context, actorID string, filter ContactFilter, isPrivate bool, managerList []string) (*ContactsResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	list, err := ParseGUIDList("managerList", managerList)
	if err != nil {
		return nil, err
	}
	after := AccessState{ShareType: ShareReadWrite}
	if isPrivate {
		after = AccessState{IsPrivate: true, ShareType: ShareNone, List: list}
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	matched, err := s.store.FindContacts(ctx, &filter)
	if err != nil {
		return nil, Internal(err)
	}
	res := &ContactsResult{Contacts: make([]ContactResult, 0, len(matched))}
	b := &Batch{}
	now := s.now()
	for i := range matched {
		if i%cancelCheckEvery == 0 && ctx.Err() != nil {
			return nil, Internal(ctx.Err())
		}
		c := &matched[i]
		ref := ContactRef(c.ID)
		if ok, err := s.allowed(u, ref, ActionEdit); err != nil {
			return nil, err
		} else if !ok {
			res.Skipped++
			continue
		}
		before := s.auth.Access(ref)
		if before.ShareType != after.ShareType || !slices.Equal(before.List, after.List) {
			old, changed := *c, *c
			old.ShareType, old.ManagerList = before.ShareType, before.List
			changed.ShareType, changed.ManagerList = after.ShareType, after.List
			remove, add := diffRules(s.auth.ContactRules(&old), s.auth.ContactRules(&changed))
			b.RemoveRules = append(b.RemoveRules, remove...)
			b.AddRules = append(b.AddRules, add...)
			if before.ShareType != after.ShareType {
				b.ContactShares = append(b.ContactShares, ContactShare{ID: c.ID, ShareType: after.ShareType})
			}
			b.Changes = append(b.Changes, Change{At: now, Actor: u, Entity: ref, Before: before, After: after})
		}
		c.ShareType, c.ManagerList = after.ShareType, after.List
		res.Contacts = append(res.Contacts, ContactResult{Contact: *c})
	}
	if len(b.Changes) > 0 {
		if err := s.commit(ctx, b); err != nil {
			return nil, err
		}
	}
	for i := range res.Contacts {
		r := &res.Contacts[i]
		ref := ContactRef(r.ID)
		if r.CanEdit, err = s.allowed(u, ref, ActionEdit); err != nil {
			return nil, err
		}
		if r.CanDelete, err = s.allowed(u, ref, ActionDelete); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Check answers whether user may do action on the record, with the reason
// in CRM terms. It reads only memory; it does not tell whether the record
// exists (for a missing record only an admin is allowed).
//
// Errors: EUNAUTHORIZED (user is not a valid user id), EINVALID (an unknown
// kind or action, an id <= 0), EINTERNAL.
func (s *Service) Check(ctx context.Context, user string, ref Ref, action Action) (Decision, error) {
	u, err := actor(user)
	if err != nil {
		return Decision{}, err
	}
	if !ref.Valid() {
		return Decision{}, Errorf(EINVALID, "cannot check %v: unknown kind or id not positive", ref)
	}
	if !action.Valid() {
		return Decision{}, Errorf(EINVALID, "unknown action %q", action)
	}
	d, err := s.auth.Decide(u, ref, action)
	if err != nil {
		return Decision{}, Internal(err)
	}
	return d, nil
}

func (s *Service) allowed(u string, ref Ref, action Action) (bool, error) {
	d, err := s.auth.Decide(u, ref, action)
	if err != nil {
		return false, Internal(err)
	}
	return d.Allowed, nil
}

// GrantAdmin gives user the admin role; RevokeAdmin takes it away. The host
// decides who may call them (they are not exposed over HTTP); actor is
// recorded in the change record. Granting what is already held writes
// nothing.
//
// Errors: EUNAUTHORIZED (actor), EINVALID (user is not a GUID), EINTERNAL.
func (s *Service) GrantAdmin(ctx context.Context, actorID, user string) error {
	return s.setAdmin(ctx, actorID, user, true)
}

// RevokeAdmin takes the admin role from user; see GrantAdmin.
func (s *Service) RevokeAdmin(ctx context.Context, actorID, user string) error {
	return s.setAdmin(ctx, actorID, user, false)
}

func (s *Service) setAdmin(ctx context.Context, actorID, user string, admin bool) error {
	a, err := actor(actorID)
	if err != nil {
		return err
	}
	id, err := ParseGUID(user)
	if err != nil {
		return Errorf(EINVALID, "user %q is not a GUID", user)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	was := s.auth.IsAdmin(id)
	if was == admin {
		return nil
	}
	b := &Batch{Changes: []Change{{At: s.now(), Actor: a, User: id,
		Before: AccessState{Admin: was}, After: AccessState{Admin: admin}}}}
	if admin {
		b.AddRules = []Rule{s.auth.AdminRule(id)}
	} else {
		b.RemoveRules = []Rule{s.auth.AdminRule(id)}
	}
	return s.commit(ctx, b)
}

// IsAdmin reports whether user holds the admin role.
//
// Errors: EINVALID (user is not a GUID).
func (s *Service) IsAdmin(ctx context.Context, user string) (bool, error) {
	id, err := ParseGUID(user)
	if err != nil {
		return false, Errorf(EINVALID, "user %q is not a GUID", user)
	}
	return s.auth.IsAdmin(id), nil
}

// Changes returns the change records of one record, oldest first: the
// audit trail of its access.
//
// Errors: EINVALID (an invalid ref), EINTERNAL.
func (s *Service) Changes(ctx context.Context, ref Ref) ([]Change, error) {
	if !ref.Valid() {
		return nil, Errorf(EINVALID, "no record %v: unknown kind or id not positive", ref)
	}
	ch, err := s.store.Changes(ctx, ChangeQuery{Entity: ref})
	return ch, Internal(err)
}

// AdminChanges returns the change records of user's admin role, oldest
// first.
//
// Errors: EINVALID (user is not a GUID), EINTERNAL.
func (s *Service) AdminChanges(ctx context.Context, user string) ([]Change, error) {
	id, err := ParseGUID(user)
	if err != nil {
		return nil, Errorf(EINVALID, "user %q is not a GUID", user)
	}
	ch, err := s.store.Changes(ctx, ChangeQuery{User: id})
	return ch, Internal(err)
}

// Import loads a parsed fixture into an empty store in one transaction:
// its records, their access rules and the admin role of its admins. It
// records no change (a fixture is a starting state, not a change).
//
// Errors: EINVALID (the fixture fails ParseFixture's checks), ECONFLICT
// (the store already holds data), EINTERNAL.
func (s *Service) Import(ctx context.Context, f *Fixture) error {
	if err := f.normalize(); err != nil {
		return err
	}
	users, stages, contacts, opps := f.records()
	b := &Batch{RequireEmpty: true, Users: users, Stages: stages, Contacts: contacts, Opportunities: opps}
	for _, u := range f.Users {
		if u.Admin {
			b.AddRules = append(b.AddRules, s.auth.AdminRule(u.ID))
		}
	}
	for i := range contacts {
		b.AddRules = append(b.AddRules, s.auth.ContactRules(&contacts[i])...)
	}
	for i := range opps {
		b.AddRules = append(b.AddRules, s.auth.OpportunityRules(&opps[i])...)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.commit(ctx, b)
}

// commit writes b and, once it is durable, applies its rules to memory.
func (s *Service) commit(ctx context.Context, b *Batch) error {
	if err := s.store.Commit(ctx, b); err != nil {
		if code := ErrorCode(err); code == ECONFLICT {
			return err
		}
		return Internal(err)
	}
	if err := s.auth.Apply(b.RemoveRules, b.AddRules); err != nil {
		// The rules were made by the same authorizer; this is a bug.
		return Internal(err)
	}
	return nil
}

// diffRules returns the rules of old that are not in next, and those of next
// that are not in old.
func diffRules(old, next []Rule) (remove, add []Rule) {
	inOld := make(map[Rule]bool, len(old))
	for _, r := range old {
		inOld[r] = true
	}
	inNext := make(map[Rule]bool, len(next))
	for _, r := range next {
		inNext[r] = true
		if !inOld[r] {
			add = append(add, r)
		}
	}
	for _, r := range old {
		if !inNext[r] {
			remove = append(remove, r)
		}
	}
	return remove, add
}
