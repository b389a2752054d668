package crmaccess

import (
	"context"
	"slices"
	"time"
)

// Upsert loads a data set into a store that may already hold data, the
// way a team adopts crmaccess on a running CRM: users, stages, contacts and
// opportunities missing from the store are added with their access; those
// present are brought to the data set's fields and access (a user's admin
// role included; a user the store removed is added again; a user's
// status, and a record's creator and creation time, stay). Every access
// consequence is recorded in the change log. It is idempotent: the same
// data set a second time writes nothing. The data set is checked as for
// Import (its references within itself); one transaction.
//
// Errors: EINVALID (the data set fails DataSet.Canonical's checks; the
// message names the entry), EUNAVAILABLE, EINTERNAL.
func (s *Service) Upsert(ctx context.Context, d *DataSet) (Token, error) {
	d, err := d.canonical()
	if err != nil {
		return "", err
	}
	users, stages, contacts, opps := d.Users, d.Stages, d.Contacts, d.Opportunities
	admins := adminSet(d.Admins)
	return s.update(ctx, "", func(ctx context.Context, tx Reader) (*Batch, error) {
		b := &Batch{Kind: EntryImport}
		now := s.now()
		if err := s.upsertUsers(ctx, tx, b, now, users, admins); err != nil {
			return nil, err
		}
		if err := upsertStages(ctx, tx, b, stages); err != nil {
			return nil, err
		}
		if err := s.upsertContacts(ctx, tx, b, now, contacts); err != nil {
			return nil, err
		}
		if err := s.upsertOpportunities(ctx, tx, b, now, opps); err != nil {
			return nil, err
		}
		return b, nil
	})
}

func (s *Service) upsertUsers(ctx context.Context, tx Reader, b *Batch, now time.Time, users []User, admins map[string]bool) error {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	stored, err := tx.Users(ctx, ids)
	if err != nil {
		return Internal(err)
	}
	byID := make(map[string]User, len(stored))
	for _, u := range stored {
		byID[u.ID] = u
	}
	for _, u := range users {
		before := s.userState(u.ID)
		after := AccessState{Admin: admins[u.ID], Status: before.Status}
		if after.Status == UserUnknown {
			after.Status = UserActive
		}
		u.Status = after.Status
		old, found := byID[u.ID]
		switch {
		case !found:
			b.Users = append(b.Users, u)
		case old != u:
			b.UpdateUsers = append(b.UpdateUsers, u)
		}
		if before.Admin != after.Admin || before.Status != after.Status {
			b.Changes = append(b.Changes, Change{At: now, User: u.ID, Before: before, After: after})
		}
	}
	return nil
}

func upsertStages(ctx context.Context, tx Reader, b *Batch, stages []Stage) error {
	ids := make([]int64, len(stages))
	for i, st := range stages {
		ids[i] = st.ID
	}
	stored, err := tx.Stages(ctx, ids)
	if err != nil {
		return Internal(err)
	}
	byID := make(map[int64]Stage, len(stored))
	for _, st := range stored {
		byID[st.ID] = st
	}
	for _, st := range stages {
		switch old, found := byID[st.ID]; {
		case !found:
			b.Stages = append(b.Stages, st)
		case old != st:
			b.UpdateStages = append(b.UpdateStages, st)
		}
	}
	return nil
}

func (s *Service) upsertContacts(ctx context.Context, tx Reader, b *Batch, now time.Time, contacts []Contact) error {
	ids := make([]int64, len(contacts))
	for i, c := range contacts {
		ids[i] = c.ID
	}
	stored, err := tx.Contacts(ctx, ids)
	if err != nil {
		return Internal(err)
	}
	byID := make(map[int64]*Contact, len(stored))
	for i := range stored {
		byID[stored[i].ID] = &stored[i]
	}
	for _, c := range contacts {
		ref := ContactRef(c.ID)
		before := s.auth.Access(ref)
		after := AccessState{IsPrivate: c.ShareType == ShareNone, ShareType: c.ShareType, List: sortedList(c.ManagerList)}
		old, found := byID[c.ID]
		switch {
		case !found:
			b.Contacts = append(b.Contacts, c)
		case !sameContactFields(old, &c):
			b.UpdateContacts = append(b.UpdateContacts, c)
		}
		if found && old.ShareType != c.ShareType {
			b.ContactShares = append(b.ContactShares, ContactShare{ID: c.ID, ShareType: c.ShareType})
		}
		if !sameRules(stateRules(s.auth, &Change{Entity: ref}, before), stateRules(s.auth, &Change{Entity: ref}, after)) {
			b.Changes = append(b.Changes, Change{At: now, Entity: ref, Before: before, After: after})
		}
	}
	return nil
}

func (s *Service) upsertOpportunities(ctx context.Context, tx Reader, b *Batch, now time.Time, opps []Opportunity) error {
	ids := make([]int64, len(opps))
	for i, o := range opps {
		ids[i] = o.ID
	}
	stored, err := tx.Opportunities(ctx, ids)
	if err != nil {
		return Internal(err)
	}
	byID := make(map[int64]*Opportunity, len(stored))
	for i := range stored {
		byID[stored[i].ID] = &stored[i]
	}
	for _, o := range opps {
		ref := OpportunityRef(o.ID)
		old, found := byID[o.ID]
		if found {
			// The creator and creation time of a record stay as stored.
			o.CreateBy, o.Created = old.CreateBy, old.Created
		}
		before := s.auth.Access(ref)
		after := AccessState{IsPrivate: o.IsPrivate, List: sortedList(o.AccessList), Creator: o.CreateBy, Responsible: o.Responsible}
		switch {
		case !found:
			b.Opportunities = append(b.Opportunities, o)
		case !sameOpportunityFields(old, &o):
			b.UpdateOpportunities = append(b.UpdateOpportunities, o)
		}
		if found && old.IsPrivate != o.IsPrivate {
			b.OpportunityPrivacy = append(b.OpportunityPrivacy, OpportunityPrivacy{ID: o.ID, IsPrivate: o.IsPrivate})
		}
		if !sameRules(stateRules(s.auth, &Change{Entity: ref}, before), stateRules(s.auth, &Change{Entity: ref}, after)) {
			b.Changes = append(b.Changes, Change{At: now, Entity: ref, Before: before, After: after})
		}
	}
	return nil
}

// sameContactFields compares what UpdateContacts writes.
func sameContactFields(a, b *Contact) bool {
	return a.IsCompany == b.IsCompany && a.CompanyName == b.CompanyName && a.FirstName == b.FirstName &&
		a.LastName == b.LastName && a.Title == b.Title && a.CompanyID == b.CompanyID && a.About == b.About &&
		a.ContactStage == b.ContactStage && a.ContactType == b.ContactType && slices.Equal(a.Tags, b.Tags)
}

// sameOpportunityFields compares what UpdateOpportunities writes.
func sameOpportunityFields(a, b *Opportunity) bool {
	am, bm := slices.Clone(a.Members), slices.Clone(b.Members)
	slices.Sort(am)
	slices.Sort(bm)
	return a.Title == b.Title && a.Description == b.Description && a.Responsible == b.Responsible &&
		a.ContactID == b.ContactID && a.StageID == b.StageID && a.SuccessProbability == b.SuccessProbability &&
		a.ExpectedCloseDate.Equal(b.ExpectedCloseDate) && slices.Equal(slices.Compact(am), slices.Compact(bm)) &&
		slices.Equal(a.Tags, b.Tags)
}
