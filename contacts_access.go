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
// in one transaction.
//
// Errors: EUNAUTHORIZED, EINVALID (a filter field, a managerList entry that
// is not a GUID), EUNAVAILABLE (the database stayed busy), EINTERNAL.
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

	var res *ContactsResult
	tok, err := s.update(ctx, func(ctx context.Context, tx Reader) (*Batch, error) {
		matched, err := tx.FindContacts(ctx, &filter)
		if err != nil {
			return nil, Internal(err)
		}
		res = &ContactsResult{Contacts: make([]ContactResult, 0, len(matched))}
		b := &Batch{Kind: EntryAccess}
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
				if ok, err := s.allowed(u, ref, ActionRead); err != nil {
					return nil, err
				} else if ok {
					res.Skipped++
				}
				continue
			}
			before := s.auth.Access(ref)
			if before.ShareType != after.ShareType || !slices.Equal(before.List, after.List) {
				if before.ShareType != after.ShareType {
					b.ContactShares = append(b.ContactShares, ContactShare{ID: c.ID, ShareType: after.ShareType})
				}
				b.Changes = append(b.Changes, Change{At: now, Actor: u, Entity: ref, Before: before, After: after})
			}
			c.ShareType, c.ManagerList = after.ShareType, after.List
			res.Contacts = append(res.Contacts, ContactResult{Contact: *c})
		}
		if len(b.Changes) == 0 {
			return nil, nil
		}
		return b, nil
	})
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
