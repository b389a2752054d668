package crmaccess

import (
	"context"
)

// CreateContact creates contact c (the host's record id in c.ID), a person
// or a company, created by the actor whatever c.CreateBy says. Its access
// is c.ShareType with c.ManagerList as managers (managers only count while
// it is private or shared read-only, and are dropped from a contact shared
// read-write; the zero ShareType, ShareNone, makes it private to them and
// the admins). The access goes into the change log.
//
// Errors: EUNAUTHORIZED, EINVALID (id <= 0, a field or reference that is
// not valid), ECONFLICT (the id is taken), EUNAVAILABLE, EINTERNAL.
func (s *Service) CreateContact(ctx context.Context, actorID string, c Contact) (*ContactResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if c.ID <= 0 {
		return nil, Errorf(EINVALID, "contact id %d is not positive", c.ID)
	}
	if !c.ShareType.Valid() {
		return nil, Errorf(EINVALID, "shareType: %d is not 0, 1 or 2", int(c.ShareType))
	}
	if c.ManagerList, err = s.parseList("managerList", c.ManagerList); err != nil {
		return nil, err
	}
	if c.ShareType == ShareReadWrite {
		c.ManagerList = nil // everyone may edit it: managers add nothing (as SetContactsAccess)
	}
	if err := normalizeContact(&c); err != nil {
		return nil, err
	}
	c.CreateBy = u
	if c.Created.IsZero() {
		c.Created = s.now()
	}
	ref := ContactRef(c.ID)
	tok, err := s.update(ctx, u, func(ctx context.Context, tx Reader) (*Batch, error) {
		if found, err := tx.Contacts(ctx, []int64{c.ID}); err != nil {
			return nil, Internal(err)
		} else if len(found) > 0 {
			return nil, Errorf(ECONFLICT, "contact %d already exists", c.ID)
		}
		if err := checkCompany(ctx, tx, &c); err != nil {
			return nil, err
		}
		if err := s.knownUsers("managerList", c.ManagerList); err != nil {
			return nil, err
		}
		after := AccessState{IsPrivate: c.ShareType == ShareNone, ShareType: c.ShareType, List: sortedList(c.ManagerList)}
		c.ManagerList = after.List // the answer shows what this write set
		return &Batch{Kind: EntryRecord, Contacts: []Contact{c},
			Changes: []Change{{At: s.now(), Actor: u, Entity: ref, Before: s.auth.Access(ref), After: after}}}, nil
	})
	if err != nil {
		return nil, err
	}
	return s.contactResult(u, c, tok)
}

// UpdateContact replaces the fields of contact c.ID a host may edit: names,
// title, about, company link, tags, stage and type. Whether it is a
// company, its creator, creation time and access stay.
//
// Errors: EUNAUTHORIZED, EINVALID, ENOTFOUND (missing or hidden),
// EFORBIDDEN (the actor may read it but not edit it), EUNAVAILABLE,
// EINTERNAL.
func (s *Service) UpdateContact(ctx context.Context, actorID string, c Contact) (*ContactResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if c.ID <= 0 {
		return nil, Errorf(EINVALID, "contact id %d is not positive", c.ID)
	}
	if err := normalizeContact(&c); err != nil {
		return nil, err
	}
	tok, err := s.update(ctx, u, func(ctx context.Context, tx Reader) (*Batch, error) {
		stored, err := s.editableContact(ctx, tx, u, c.ID, ActionEdit)
		if err != nil {
			return nil, err
		}
		c.IsCompany, c.CreateBy, c.Created = stored.IsCompany, stored.CreateBy, stored.Created
		st := s.auth.Access(ContactRef(c.ID))
		c.ShareType, c.ManagerList = st.ShareType, st.List // the answer shows the state of this write
		if err := checkCompany(ctx, tx, &c); err != nil {
			return nil, err
		}
		return &Batch{Kind: EntryRecord, UpdateContacts: []Contact{c}}, nil
	})
	if err != nil {
		return nil, err
	}
	return s.contactResult(u, c, tok)
}

// DeleteContact deletes contact id with its tags: a company's persons lose
// their company, and opportunities lose it as main contact and member. The
// access it gave goes, recorded in the change log.
//
// Errors: EUNAUTHORIZED, EINVALID (id <= 0), ENOTFOUND (missing or hidden),
// EFORBIDDEN, EUNAVAILABLE, EINTERNAL.
func (s *Service) DeleteContact(ctx context.Context, actorID string, id int64) (Token, error) {
	u, err := actor(actorID)
	if err != nil {
		return "", err
	}
	if id <= 0 {
		return "", Errorf(EINVALID, "contact id %d is not positive", id)
	}
	ref := ContactRef(id)
	return s.update(ctx, u, func(ctx context.Context, tx Reader) (*Batch, error) {
		if _, err := s.editableContact(ctx, tx, u, id, ActionDelete); err != nil {
			return nil, err
		}
		return &Batch{Kind: EntryRecord, DeleteContacts: []int64{id},
			Changes: []Change{{At: s.now(), Actor: u, Entity: ref, Before: s.auth.Access(ref), After: noAccess(ref)}}}, nil
	})
}

// editableContact reads a contact the actor may do action on: ENOTFOUND
// when missing or hidden, EFORBIDDEN when only readable.
func (s *Service) editableContact(ctx context.Context, tx Reader, u string, id int64, action Action) (*Contact, error) {
	notFound := Errorf(ENOTFOUND, "contact %d not found", id)
	ref := ContactRef(id)
	if ok, err := s.allowed(u, ref, ActionRead); err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound
	}
	found, err := tx.Contacts(ctx, []int64{id})
	if err != nil {
		return nil, Internal(err)
	}
	if len(found) == 0 {
		return nil, notFound
	}
	if ok, err := s.allowed(u, ref, action); err != nil {
		return nil, err
	} else if !ok {
		return nil, Errorf(EFORBIDDEN, "you may not %s contact %d", action, id)
	}
	return &found[0], nil
}

// checkCompany refuses a person's company link to a contact that does not
// exist or is not a company; a company has no company.
func checkCompany(ctx context.Context, tx Reader, c *Contact) error {
	if c.CompanyID == 0 {
		return nil
	}
	if c.IsCompany {
		return Errorf(EINVALID, "companyid: a company belongs to no company")
	}
	found, err := tx.Contacts(ctx, []int64{c.CompanyID})
	if err != nil {
		return Internal(err)
	}
	if len(found) == 0 || !found[0].IsCompany {
		return Errorf(EINVALID, "companyid: contact %d is not a company", c.CompanyID)
	}
	return nil
}

func normalizeContact(c *Contact) error {
	if c.CompanyID < 0 {
		return Errorf(EINVALID, "companyid: %d is negative", c.CompanyID)
	}
	if c.CompanyID == c.ID {
		return Errorf(EINVALID, "companyid: a contact is not its own company")
	}
	return checkTags(c.Tags)
}

// contactResult renders c, with the access its write left, for u.
func (s *Service) contactResult(u string, c Contact, tok Token) (*ContactResult, error) {
	ref := ContactRef(c.ID)
	r := &ContactResult{Contact: c, Token: tok}
	var err error
	if r.CanEdit, err = s.allowed(u, ref, ActionEdit); err != nil {
		return nil, err
	}
	if r.CanDelete, err = s.allowed(u, ref, ActionDelete); err != nil {
		return nil, err
	}
	return r, nil
}
