package crmaccess

import (
	"context"
	"slices"
)

// activeActor refuses an acting user that is not a known, active user of
// the store (SPEC §2), as memory holds it.
func (s *Service) activeActor(u string) error {
	if s.auth.UserStatus(u) != UserActive {
		return Errorf(EUNAUTHORIZED, "user %s is not a known, active user", u)
	}
	return nil
}

// parseList parses a user list (see ParseGUIDList) no longer than the
// configured maximum.
func (s *Service) parseList(field string, list []string) ([]string, error) {
	if len(list) > s.maxList {
		return nil, Errorf(EINVALID, "%s: %d entries, more than the %d allowed", field, len(list), s.maxList)
	}
	return ParseGUIDList(field, list)
}

// knownUsers refuses a list entry that is not a known user, naming it.
func (s *Service) knownUsers(field string, list []string) error {
	for _, u := range list {
		if s.auth.UserStatus(u) == UserUnknown {
			return Errorf(EINVALID, "%s: %s is not a known user", field, u)
		}
	}
	return nil
}

// PutUser adds user u, active, or updates a known user's name, title,
// avatar and profile (its status stays). The host decides who may call it
// (it is not exposed over HTTP); the actor, an active user, is recorded.
// Adding a user is recorded in the change log; an update of a user's
// details is logged as an entry without change records.
//
// Errors: EUNAUTHORIZED (actor), EINVALID (u.ID is not a GUID),
// EUNAVAILABLE, EINTERNAL.
func (s *Service) PutUser(ctx context.Context, actorID string, u User) (Token, error) {
	a, err := actor(actorID)
	if err != nil {
		return "", err
	}
	if u.ID, err = ParseGUID(u.ID); err != nil {
		return "", Errorf(EINVALID, "user id %q is not a GUID", u.ID)
	}
	return s.update(ctx, a, func(ctx context.Context, tx Reader) (*Batch, error) {
		before := s.userState(u.ID)
		if before.Status == UserUnknown {
			found, err := tx.Users(ctx, []string{u.ID})
			if err != nil {
				return nil, Internal(err)
			}
			after := before
			after.Status = UserActive
			u.Status = UserActive
			b := &Batch{Kind: EntryRecord, Changes: []Change{{At: s.now(), Actor: a, User: u.ID, Before: before, After: after}}}
			if len(found) > 0 { // removed before: it comes back
				b.UpdateUsers = []User{u}
			} else {
				b.Users = []User{u}
			}
			return b, nil
		}
		u.Status = before.Status
		return &Batch{Kind: EntryRecord, UpdateUsers: []User{u}}, nil
	})
}

// SetUserActive deactivates a known user (active false), who then may not
// act but stays on lists, or activates one again.
//
// Errors: EUNAUTHORIZED (actor), EINVALID (not a GUID, not a known user),
// EUNAVAILABLE, EINTERNAL.
func (s *Service) SetUserActive(ctx context.Context, actorID, user string, active bool) (Token, error) {
	status := UserInactive
	if active {
		status = UserActive
	}
	return s.updateKnownUser(ctx, actorID, user, func(a string, u User, before AccessState) (*Batch, error) {
		if before.Status == status {
			return nil, nil
		}
		after := before
		after.Status = status
		u.Status = status
		return &Batch{Kind: EntryRecord, UpdateUsers: []User{u},
			Changes: []Change{{At: s.now(), Actor: a, User: u.ID, Before: before, After: after}}}, nil
	})
}

// RemoveUser removes a user: off every access and manager list (each
// record's change recorded), no longer an admin, and unknown from then on,
// so it may neither act nor be put on a list. Records keep the ids of
// their creator and responsible user.
//
// Errors: EUNAUTHORIZED (actor), EINVALID (not a GUID, not a known user),
// EUNAVAILABLE, EINTERNAL.
func (s *Service) RemoveUser(ctx context.Context, actorID, user string) (Token, error) {
	return s.updateKnownUser(ctx, actorID, user, func(a string, u User, before AccessState) (*Batch, error) {
		now := s.now()
		id := u.ID
		u.Status = UserUnknown
		b := &Batch{Kind: EntryRecord, UpdateUsers: []User{u},
			Changes: []Change{{At: now, Actor: a, User: id, Before: before, After: AccessState{}}}}
		for _, ref := range s.auth.ListedOn(id) {
			st := s.auth.Access(ref)
			after := st
			// The privacy stays: a record private to nobody else is open
			// to its creator, responsible user and the admins only.
			after.List = slices.DeleteFunc(slices.Clone(st.List), func(m string) bool { return m == id })
			if len(after.List) == 0 {
				after.List = nil
			}
			b.Changes = append(b.Changes, Change{At: now, Actor: a, Entity: ref, Before: st, After: after})
		}
		return b, nil
	})
}

// updateKnownUser runs a write about a known user: build gets the actor,
// the user's stored row and its state in memory, and returns the batch.
func (s *Service) updateKnownUser(ctx context.Context, actorID, user string, build func(actor string, u User, before AccessState) (*Batch, error)) (Token, error) {
	a, err := actor(actorID)
	if err != nil {
		return "", err
	}
	id, err := ParseGUID(user)
	if err != nil {
		return "", Errorf(EINVALID, "user %q is not a GUID", user)
	}
	return s.update(ctx, a, func(ctx context.Context, tx Reader) (*Batch, error) {
		before := s.userState(id)
		if before.Status == UserUnknown {
			return nil, Errorf(EINVALID, "user %s is not a known user", id)
		}
		found, err := tx.Users(ctx, []string{id})
		if err != nil || len(found) == 0 {
			return nil, Internal(err)
		}
		return build(a, found[0], before)
	})
}

// userState is a user's state in memory.
func (s *Service) userState(id string) AccessState {
	return AccessState{Admin: s.auth.IsAdmin(id), Status: s.auth.UserStatus(id)}
}
