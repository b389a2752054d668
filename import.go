package crmaccess

import (
	"context"
	"slices"
)

// Import loads a parsed fixture into an empty store in one transaction:
// its records, their access rules and the admin role of its admins. The
// starting state goes into the change log as one entry (a change record
// per record and admin, from no access to its imported access, with no
// actor), so that every instance follows it and history starts complete.
//
// Errors: EINVALID (the fixture fails ParseFixture's checks), ECONFLICT
// (the store already holds data), EUNAVAILABLE, EINTERNAL.
func (s *Service) Import(ctx context.Context, f *Fixture) (Token, error) {
	if err := f.normalize(); err != nil {
		return "", err
	}
	users, stages, contacts, opps := f.records()
	return s.update(ctx, "", func(context.Context, Reader) (*Batch, error) {
		b := &Batch{Kind: EntryImport, RequireEmpty: true, Users: users, Stages: stages, Contacts: contacts, Opportunities: opps}
		now := s.now()
		b.Changes = make([]Change, 0, len(users)+len(contacts)+len(opps))
		for _, u := range f.Users {
			b.Changes = append(b.Changes, Change{At: now, User: u.ID, Before: s.userState(u.ID),
				After: AccessState{Admin: u.Admin, Status: UserActive}})
		}
		for i := range contacts {
			c := &contacts[i]
			ref := ContactRef(c.ID)
			b.Changes = append(b.Changes, Change{At: now, Entity: ref, Before: s.auth.Access(ref), After: AccessState{
				IsPrivate: c.ShareType == ShareNone, ShareType: c.ShareType, List: sortedList(c.ManagerList)}})
		}
		for i := range opps {
			o := &opps[i]
			ref := OpportunityRef(o.ID)
			b.Changes = append(b.Changes, Change{At: now, Entity: ref, Before: s.auth.Access(ref), After: AccessState{
				IsPrivate: o.IsPrivate, List: sortedList(o.AccessList), Creator: o.CreateBy, Responsible: o.Responsible}})
		}
		return b, nil
	})
}

// sortedList returns list ascending, nil when empty (as Access reads it back).
func sortedList(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(list))
}
