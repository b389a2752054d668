package crmaccess

import (
	"context"
	"slices"
)

// SetContactsAccess applies privacy to every contact the filter matches and
// the actor may edit: isPrivate makes them private (ShareNone) with exactly
// the managers of managerList (the actor is not added); otherwise shared
// (ShareReadWrite) with no managers. Matching contacts the actor may read
// but not edit are skipped and counted; those the actor may not even read
// are neither changed, nor counted, nor returned. It decides on the
// committed state, inside the store's writer lock, and all changes commit
// in one transaction. Each returned contact has its new values, Changed set
// when its access differed. PreviewContactsAccess answers the same without
// writing.
//
// Errors: EUNAUTHORIZED, EINVALID (a filter field, a managerList entry that
// is not a GUID), EUNAVAILABLE (the database stayed busy), EINTERNAL.
func (s *Service) SetContactsAccess(ctx context.Context, actorID string, filter ContactFilter, isPrivate bool, managerList []string) (*ContactsAccessResult, error) {
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	return s.contactsAccess(ctx, actorID, isPrivate, managerList, false, func(ctx context.Context, tx Reader) ([]Contact, error) {
		return tx.FindContacts(ctx, &filter)
	})
}

// SetContactsAccessByID is SetContactsAccess over the contacts of ids:
// those the actor may edit are changed, those the actor may only read are
// skipped and counted, and missing or hidden ones are neither changed, nor
// counted, nor returned. PreviewContactsAccessByID answers the same without
// writing.
//
// Errors: EUNAUTHORIZED, EINVALID (an id <= 0, a managerList entry that is
// not a GUID), EUNAVAILABLE, EINTERNAL.
func (s *Service) SetContactsAccessByID(ctx context.Context, actorID string, ids []int64, isPrivate bool, managerList []string) (*ContactsAccessResult, error) {
	if err := positiveIDs("contact", ids); err != nil {
		return nil, err
	}
	return s.contactsAccess(ctx, actorID, isPrivate, managerList, false, func(ctx context.Context, tx Reader) ([]Contact, error) {
		return tx.Contacts(ctx, ids)
	})
}

// SetContactAccess applies privacy to one contact, as SetContactsAccess
// does to each.
//
// Errors: EUNAUTHORIZED, EINVALID (id <= 0, a managerList entry that is not
// a GUID), ENOTFOUND (missing, or hidden from the actor), EFORBIDDEN (the
// actor may read it but not edit it), EUNAVAILABLE, EINTERNAL.
func (s *Service) SetContactAccess(ctx context.Context, actorID string, id int64, isPrivate bool, managerList []string) (*ContactResult, error) {
	if id <= 0 {
		return nil, Errorf(EINVALID, "contact id %d is not positive", id)
	}
	res, err := s.contactsAccess(ctx, actorID, isPrivate, managerList, false, func(ctx context.Context, tx Reader) ([]Contact, error) {
		found, err := tx.Contacts(ctx, []int64{id})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, Errorf(ENOTFOUND, "contact %d not found", id)
		}
		return found, nil
	})
	switch {
	case err != nil:
		return nil, err
	case len(res.Contacts) == 1:
		c := res.Contacts[0]
		c.Token = res.Token
		return &c, nil
	case res.Skipped == 1:
		return nil, Errorf(EFORBIDDEN, "only an admin or a manager may change the access of contact %d", id)
	}
	// Hidden from the actor: the same answer as a missing contact.
	return nil, Errorf(ENOTFOUND, "contact %d not found", id)
}

// contactsAccess is the write of the three, or with dryRun its preview:
// find reads the candidate contacts, inside the write's transaction or on
// the preview's state.
func (s *Service) contactsAccess(ctx context.Context, actorID string, isPrivate bool, managerList []string, dryRun bool,
	find func(context.Context, Reader) ([]Contact, error)) (*ContactsAccessResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	list, err := s.parseList("managerList", managerList)
	if err != nil {
		return nil, err
	}
	after := AccessState{ShareType: ShareReadWrite}
	if isPrivate {
		after = AccessState{IsPrivate: true, ShareType: ShareNone, List: list}
	}

	var res *ContactsAccessResult
	// build decides from memory, at the state the write holds: every
	// candidate the actor may edit gets after, and those it may only read
	// are counted.
	build := func(ctx context.Context, tx Reader) (*Batch, error) {
		if err := s.knownUsers("managerList", list); err != nil {
			return nil, err
		}
		candidates, err := find(ctx, tx)
		if ErrorCode(err) == ENOTFOUND {
			return nil, err
		} else if err != nil {
			return nil, Internal(err)
		}
		res = &ContactsAccessResult{Contacts: make([]ContactResult, 0, len(candidates))}
		b := &Batch{Kind: EntryAccess}
		now := s.now()
		for i := range candidates {
			if i%cancelCheckEvery == 0 && ctx.Err() != nil {
				return nil, Internal(ctx.Err())
			}
			c := &candidates[i]
			ref := ContactRef(c.ID)
			if ok, err := s.allowed(u, ref, ActionEdit); err != nil {
				return nil, err
			} else if !ok {
				if ok, err := s.allowed(u, ref, ActionRead); err != nil {
					return nil, err
				} else if ok {
					res.Skipped++
				}
				continue
			}
			before := s.auth.Access(ref)
			changed := before.ShareType != after.ShareType || !slices.Equal(before.List, after.List)
			if changed {
				if before.ShareType != after.ShareType {
					b.ContactShares = append(b.ContactShares, ContactShare{ID: c.ID, ShareType: after.ShareType})
				}
				b.Changes = append(b.Changes, Change{At: now, Actor: u, Entity: ref, Before: before, After: after})
			}
			c.ShareType, c.ManagerList = after.ShareType, after.List
			res.Contacts = append(res.Contacts, ContactResult{Contact: *c, Changed: changed})
		}
		if len(b.Changes) == 0 {
			return nil, nil
		}
		return b, nil
	}

	if dryRun {
		tok, err := s.preview(ctx, u, func(ctx context.Context, r Reader) error {
			if _, err := build(ctx, r); err != nil {
				return err
			}
			// What memory will answer once the write is applied.
			for i := range res.Contacts {
				c := &res.Contacts[i]
				c.CanEdit = s.allowedAfter(u, ContactRef(c.ID), after, ActionEdit)
				c.CanDelete = s.allowedAfter(u, ContactRef(c.ID), after, ActionDelete)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		res.Token = tok
		return res, nil
	}

	tok, err := s.update(ctx, u, build)
	if err != nil {
		return nil, err
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
	res.Token = tok
	return res, nil
}

// positiveIDs refuses a list of ids with one that is not positive.
func positiveIDs(kind string, ids []int64) error {
	for _, id := range ids {
		if id <= 0 {
			return Errorf(EINVALID, "%s id %d is not positive", kind, id)
		}
	}
	return nil
}
