package main

import (
	"context"
	"fmt"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
)

// danglingName is a user or record of an expectations file that is not
// there: where the file first names it, and how.
type danglingName struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// dangling returns the records of e that do not exist and the users that
// are not known, active users. "May not" holds on them whatever the rules
// say, so a mistyped id would pass unseen: check warns about them.
func (a *audit) dangling(ctx context.Context, e *accesstest.Expectations) (records, users []danglingName, err error) {
	firstRecord := map[crmaccess.Ref]accesstest.Assertion{}
	firstUser := map[string]accesstest.Assertion{}
	var refs []crmaccess.Ref
	var ids []string
	for _, as := range e.Assertions {
		if _, ok := firstRecord[as.Record]; !ok {
			firstRecord[as.Record] = as
			refs = append(refs, as.Record)
		}
		if _, ok := firstUser[as.User]; !ok {
			firstUser[as.User] = as
			ids = append(ids, as.User)
		}
	}

	exists := map[crmaccess.Ref]bool{}
	var opps, contacts []int64
	for _, ref := range refs {
		if ref.Kind == crmaccess.KindOpportunity {
			opps = append(opps, ref.ID)
		} else {
			contacts = append(contacts, ref.ID)
		}
	}
	found, err := a.store.Opportunities(ctx, opps)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range found {
		exists[crmaccess.OpportunityRef(o.ID)] = true
	}
	foundContacts, err := a.store.Contacts(ctx, contacts)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range foundContacts {
		exists[crmaccess.ContactRef(c.ID)] = true
	}
	for _, ref := range refs {
		if !exists[ref] {
			as := firstRecord[ref]
			records = append(records, danglingName{Name: as.RecordName, ID: ref.String(), Line: as.Line, Column: as.Column})
		}
	}

	known, err := a.svc.KnownUsers(ctx)
	if err != nil {
		return nil, nil, err
	}
	active := map[string]bool{}
	for _, u := range known {
		active[u.ID] = u.Status == crmaccess.UserActive
	}
	for _, id := range ids {
		if !active[id] {
			as := firstUser[id]
			users = append(users, danglingName{Name: as.UserName, ID: id, Line: as.Line, Column: as.Column})
		}
	}
	return records, users, nil
}

// String is "id (name)", or the id when the file names it by its id.
func (d danglingName) String() string {
	if d.Name == d.ID {
		return d.ID
	}
	return named(d.ID, d.Name)
}

// warnDangling writes dangling's findings to stderr.
func (a *audit) warnDangling(records, users []danglingName) {
	for _, r := range records {
		fmt.Fprintf(a.stderr, "audit check: warning: line %d, column %d: %s does not exist: \"may not\" holds on it whatever the rules\n",
			r.Line, r.Column, r)
	}
	for _, u := range users {
		fmt.Fprintf(a.stderr, "audit check: warning: line %d, column %d: %s is not a known, active user: \"may not\" holds for it whatever the rules\n",
			u.Line, u.Column, u)
	}
}
