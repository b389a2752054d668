package crmaccess

import (
	"context"
	"slices"
)

// Users returns the users of ids that exist, in ascending id order; ids
// that are not GUIDs are ignored.
//
// Errors: EINTERNAL.
func (s *Service) Users(ctx context.Context, ids []string) ([]User, error) {
	canon := make([]string, 0, len(ids))
	for _, id := range ids {
		if c, err := ParseGUID(id); err == nil {
			canon = append(canon, c)
		}
	}
	if !s.usesDirectory() {
		users, err := s.store.Users(ctx, canon)
		return users, Internal(err)
	}
	if err := s.freshForToken(ctx); err != nil {
		return nil, err
	}
	users, err := lookup(ctx, &s.dir, &s.dir.users, canon, func(u *User) string { return u.ID }, s.base.Users)
	return users, Internal(err)
}

// Stages returns the stages of ids that exist, in ascending id order.
//
// Errors: EINTERNAL.
func (s *Service) Stages(ctx context.Context, ids []int64) ([]Stage, error) {
	if !s.usesDirectory() {
		stages, err := s.store.Stages(ctx, ids)
		return stages, Internal(err)
	}
	if err := s.freshForToken(ctx); err != nil {
		return nil, err
	}
	stages, err := lookup(ctx, &s.dir, &s.dir.stages, ids, func(st *Stage) int64 { return st.ID }, s.base.Stages)
	return stages, Internal(err)
}

// freshForToken brings memory to the token ctx carries, if any: the
// directory answers as of memory.
func (s *Service) freshForToken(ctx context.Context) error {
	if _, ok := ctx.Value(tokenKey{}).(Token); !ok {
		return nil
	}
	return s.fresh(ctx)
}

// Contacts returns the contacts of ids that exist and the actor may read,
// in ascending id order, with their access and what the actor may do.
//
// Errors: EUNAUTHORIZED, EINVALID (a malformed token in ctx), EUNAVAILABLE
// (the token's state was not reached in time), EINTERNAL.
func (s *Service) Contacts(ctx context.Context, actorID string, ids []int64) ([]ContactResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	if err := s.activeActor(u); err != nil {
		return nil, err
	}
	contacts, err := s.contactRows(ctx, ids)
	if err != nil {
		return nil, Internal(err)
	}
	out := make([]ContactResult, 0, len(contacts))
	for _, c := range contacts {
		ref := ContactRef(c.ID)
		if ok, err := s.allowed(u, ref, ActionRead); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		st := s.auth.Access(ref)
		c.ShareType, c.ManagerList = st.ShareType, st.List
		r := ContactResult{Contact: c}
		if r.CanEdit, err = s.allowed(u, ref, ActionEdit); err != nil {
			return nil, err
		}
		if r.CanDelete, err = s.allowed(u, ref, ActionDelete); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// contactRows reads the contacts of ids as stored (their access is
// memory's), from the directory when it may answer.
func (s *Service) contactRows(ctx context.Context, ids []int64) ([]Contact, error) {
	if !s.usesDirectory() {
		return s.store.Contacts(ctx, ids)
	}
	contacts, err := lookup(ctx, &s.dir, &s.dir.contacts, ids, func(c *Contact) int64 { return c.ID }, s.base.Contacts)
	for i := range contacts {
		// The directory's own slices stay its own.
		contacts[i].Tags = slices.Clone(contacts[i].Tags)
	}
	return contacts, err
}
