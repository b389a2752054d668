package crmaccess

import (
	"context"
	"slices"
)

// Import loads a data set into an empty store in one transaction: its
// records, their access rules and the admin role of its admins. The
// starting state goes into the change log as one entry (a change record
// per record and user, from no access to its imported access, with no
// actor), so that every instance follows it and history starts complete.
//
// Errors: EINVALID (the data set fails DataSet.Canonical's checks; the
// message names the entry), ECONFLICT (the store already holds data),
// EUNAVAILABLE, EINTERNAL.
func (s *Service) Import(ctx context.Context, d *DataSet) (Token, error) {
	d, err := d.canonical()
	if err != nil {
		return "", err
	}
	users, contacts, opps := activeUsers(d.Users), d.Contacts, d.Opportunities
	admins := adminSet(d.Admins)
	return s.update(ctx, "", func(context.Context, Reader) (*Batch, error) {
		b := &Batch{Kind: EntryImport, RequireEmpty: true, Users: users, Stages: d.Stages, Contacts: contacts, Opportunities: opps}
		now := s.now()
		b.Changes = make([]Change, 0, len(users)+len(contacts)+len(opps))
		for _, u := range users {
			b.Changes = append(b.Changes, Change{At: now, User: u.ID, Before: s.userState(u.ID),
				After: AccessState{Admin: admins[u.ID], Status: UserActive}})
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

// activeUsers returns users, each active (a data set's users are added
// active, whatever their Status says). users is a copy of the caller's.
func activeUsers(users []User) []User {
	for i := range users {
		users[i].Status = UserActive
	}
	return users
}

// adminSet returns the ids of admins as a set.
func adminSet(admins []string) map[string]bool {
	set := make(map[string]bool, len(admins))
	for _, a := range admins {
		set[a] = true
	}
	return set
}
