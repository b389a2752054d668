package crmaccess

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	return s.contactsAccess(ctx, actorID, isPrivate, managerList, false, 0, contactsMatching(&filter))
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
	return s.contactsAccess(ctx, actorID, isPrivate, managerList, false, 0, contactsFound(func(ctx context.Context, tx Reader) ([]Contact, error) {
		return tx.Contacts(ctx, ids)
	}))
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
	res, err := s.contactsAccess(ctx, actorID, isPrivate, managerList, false, id, contactsFound(func(ctx context.Context, tx Reader) ([]Contact, error) {
		found, err := tx.Contacts(ctx, []int64{id})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, Errorf(ENOTFOUND, "contact %d not found", id)
		}
		return found, nil
	}))
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

// contactSource reads the candidate contacts of a change of access,
// through r: it calls keep with each, in ascending id order (keep copies
// what it keeps), then tags with the position of a kept contact among the
// kept ones and its tags, unless keep's copy had them (see ContactScanner).
type contactSource func(ctx context.Context, r Reader, keep func(*Contact) (bool, error), tags func(i int, tags []string)) error

// contactsMatching is the source of the contacts filter matches: streamed
// by a ContactScanner, else read whole by FindContacts.
func contactsMatching(filter *ContactFilter) contactSource {
	return func(ctx context.Context, r Reader, keep func(*Contact) (bool, error), tags func(int, []string)) error {
		if sc, ok := r.(ContactScanner); ok {
			return sc.ScanContacts(ctx, filter, keep, tags)
		}
		found, err := r.FindContacts(ctx, filter)
		if err != nil {
			return err
		}
		return keepEach(found, keep)
	}
}

// contactsFound is the source of the contacts find reads whole, with
// their tags.
func contactsFound(find func(ctx context.Context, r Reader) ([]Contact, error)) contactSource {
	return func(ctx context.Context, r Reader, keep func(*Contact) (bool, error), _ func(int, []string)) error {
		found, err := find(ctx, r)
		if err != nil {
			return err
		}
		return keepEach(found, keep)
	}
}

func keepEach(found []Contact, keep func(*Contact) (bool, error)) error {
	for i := range found {
		if _, err := keep(&found[i]); err != nil {
			return err
		}
	}
	return nil
}

// contactsAccess is the write of the three, or with dryRun its preview:
// source reads the candidate contacts, inside the write's transaction or
// on the preview's state. one is the contact of a write about one contact
// (0: any number), which is committed with the other writes of the
// instance waiting for the writer lock (updateGrouped).
func (s *Service) contactsAccess(ctx context.Context, actorID string, isPrivate bool, managerList []string, dryRun bool,
	one int64, source contactSource) (*ContactsAccessResult, error) {
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
	var kept *keptContacts
	// decide reads the candidates and decides from memory, at the state
	// the write holds: every candidate the actor may edit gets after, and
	// is kept for the answer, marked when its access changes; those it may
	// only read are counted.
	decide := func(ctx context.Context, r Reader) error {
		if err := s.knownUsers("managerList", list); err != nil {
			return err
		}
		res, kept = &ContactsAccessResult{}, newKeptContacts()
		n := 0
		var keepErr error
		keep := func(c *Contact) (bool, error) {
			if n%cancelCheckEvery == 0 && ctx.Err() != nil {
				keepErr = Internal(ctx.Err())
				return false, keepErr
			}
			n++
			ref := ContactRef(c.ID)
			if ok, err := s.allowed(u, ref, ActionEdit); err != nil {
				keepErr = err
				return false, err
			} else if !ok {
				if ok, err := s.allowed(u, ref, ActionRead); err != nil {
					keepErr = err
					return false, err
				} else if ok {
					res.Skipped++
				}
				return false, nil
			}
			kept.add(c, contactChanged(s.auth.Access(ref), after))
			return true, nil
		}
		err := source(ctx, r, keep, kept.setTags)
		kept.doneReading()
		switch {
		case keepErr != nil:
			return keepErr
		case ErrorCode(err) == ENOTFOUND:
			return err
		case err != nil:
			return Internal(err)
		}
		return nil
	}

	if dryRun {
		tok, err := s.preview(ctx, u, func(ctx context.Context, r Reader) error {
			if err := decide(ctx, r); err != nil {
				return err
			}
			res.Contacts = kept.results(after)
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

	var tok Token
	if one != 0 {
		// One contact: decided on memory for that contact and on users
		// only, a write for a group.
		tok, err = s.updateGrouped(ctx, u, []Ref{ContactRef(one)}, func(ctx context.Context, tx Reader) (*Batch, error) {
			if err := decide(ctx, tx); err != nil {
				return nil, err
			}
			var b *Batch
			err := s.contactChanges(kept, u, after, math.MaxInt, func(p *Batch) error {
				b = p
				return nil
			})
			return b, err
		})
	} else {
		tok, err = s.updateInParts(ctx, u, decide, func(size int, emit func(*Batch) error) error {
			return s.contactChanges(kept, u, after, size, emit)
		})
	}
	if err != nil {
		return nil, err
	}
	// Built only now: the write's rules are gone (updateInParts).
	res.Contacts = kept.results(after)
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

// contactChanged reports whether a contact's access changes from before to
// after.
func contactChanged(before, after AccessState) bool {
	return before.ShareType != after.ShareType || !slices.Equal(before.List, after.List)
}

// contactChanges emits the change records (and share types) of the
// contacts kept that change to after, size contacts a part, their
// before-states read from memory again: until this write applies itself,
// memory stays at the state the decision read (the writer lock keeps
// others' commits out of the log), so that a part is built from the
// answer alone rather than from a copy of every candidate, and the same
// parts again after the commit (see updateInParts).
func (s *Service) contactChanges(kept *keptContacts, actor string, after AccessState, size int, emit func(*Batch) error) error {
	now := s.now()
	p := &Batch{Kind: EntryAccess}
	var last int64
	err := kept.each(func(r *keptContact) error {
		if r.id <= last {
			// Parts must be about distinct records (updateInParts).
			return Internal(fmt.Errorf("crmaccess: contact %d read out of order", r.id))
		}
		last = r.id
		if !r.changed {
			return nil
		}
		ref := ContactRef(r.id)
		before := s.auth.Access(ref)
		if !contactChanged(before, after) {
			return Internal(errors.New("crmaccess: memory moved under the writer lock"))
		}
		if before.ShareType != after.ShareType {
			p.ContactShares = append(p.ContactShares, ContactShare{ID: r.id, ShareType: after.ShareType})
		}
		p.Changes = append(p.Changes, Change{At: now, Actor: actor, Entity: ref, Before: before, After: after})
		if len(p.Changes) == size {
			if err := emit(p); err != nil {
				return err
			}
			p.ContactShares, p.Changes, p.RemoveRules, p.AddRules = p.ContactShares[:0], p.Changes[:0], nil, nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(p.Changes) > 0 {
		return emit(p)
	}
	return nil
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
