package crmaccess_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// Users change too (SPEC §9): only known, active users act; list entries
// name known users; a removed user leaves every list and the admin role.

const erin = "aaaaaaaa-0000-0000-0000-000000000006" // not in the test portal

func TestOnlyKnownActiveUsersAct(t *testing.T) { eachDatabase(t, testOnlyKnownActiveUsersAct) }

func testOnlyKnownActiveUsersAct(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	_, err := p.Check(ctx, erin, crmaccess.OpportunityRef(1), read)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	_, err = p.SetOpportunityAccess(ctx, erin, 1, false, nil)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	_, err = p.PutUser(ctx, erin, crmaccess.User{ID: erin})
	wantCode(t, err, crmaccess.EUNAUTHORIZED) // an unknown user cannot add itself

	if _, err := p.PutUser(ctx, admin, crmaccess.User{ID: strings.ToUpper(erin), DisplayName: "Erin"}); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, p.Service, erin, crmaccess.OpportunityRef(1), read); d.Reason != crmaccess.ReasonPublic {
		t.Errorf("erin, added: %+v", d)
	}
	users, err := p.Users(ctx, []string{erin})
	if err != nil || len(users) != 1 || users[0].DisplayName != "Erin" || users[0].Status != crmaccess.UserActive {
		t.Errorf("stored %+v, %v", users, err)
	}
	// An update keeps the status and records no change of access.
	if _, err := p.PutUser(ctx, admin, crmaccess.User{ID: erin, DisplayName: "Erin B.", Title: "Sales"}); err != nil {
		t.Fatal(err)
	}
	if users, _ := p.Users(ctx, []string{erin}); users[0].DisplayName != "Erin B." || users[0].Status != crmaccess.UserActive {
		t.Errorf("updated %+v", users[0])
	}

	// Deactivated: may not act, stays on lists; activated again: acts.
	if _, err := p.SetOpportunityAccess(ctx, alice, 2, true, []string{dave}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetUserActive(ctx, admin, dave, false); err != nil {
		t.Fatal(err)
	}
	_, err = p.Check(ctx, dave, crmaccess.OpportunityRef(2), read)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	if o, err := p.Opportunity(ctx, alice, 2); err != nil || !slices.Contains(o.AccessList, dave) {
		t.Errorf("the deactivated user left the list: %+v, %v", o, err)
	}
	if _, err := p.SetOpportunityAccess(ctx, alice, 2, true, []string{dave, carol}); err != nil {
		t.Errorf("a deactivated user may still be put on a list: %v", err)
	}
	if _, err := p.SetUserActive(ctx, admin, dave, true); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.OpportunityRef(2), read); d.Reason != crmaccess.ReasonInAccessList {
		t.Errorf("dave, active again: %+v", d)
	}
	_, err = p.SetUserActive(ctx, admin, erin+"x", false)
	wantCode(t, err, crmaccess.EINVALID)
}

func TestListEntriesMustBeKnownUsers(t *testing.T) { eachDatabase(t, testListEntriesMustBeKnownUsers) }

func testListEntriesMustBeKnownUsers(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	before := decisions(t, p.Service)
	_, err := p.SetOpportunityAccess(ctx, alice, 1, true, []string{bob, erin})
	wantCode(t, err, crmaccess.EINVALID)
	if msg := crmaccess.ErrorMessage(err); !strings.Contains(msg, erin) {
		t.Errorf("the message %q does not name the entry", msg)
	}
	_, err = p.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{}, true, []string{erin})
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.GrantAdmin(ctx, admin, erin)
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Responsible: erin}, false, nil)
	wantCode(t, err, crmaccess.EINVALID)
	if !mapsEqual(before, decisions(t, p.Service)) {
		t.Error("a refused list changed decisions")
	}
}

func TestListsAreCapped(t *testing.T) { eachDatabase(t, testListsAreCapped) }

func testListsAreCapped(t *testing.T, db database) {
	svc := newPortalWith(t, db, &crmaccess.Options{MaxListLength: 2, Now: func() time.Time { return testNow }}).Service
	if _, err := svc.SetOpportunityAccess(t.Context(), alice, 1, true, []string{bob, carol}); err != nil {
		t.Errorf("a list of the maximum: %v", err)
	}
	_, err := svc.SetOpportunityAccess(t.Context(), alice, 1, true, []string{bob, carol, dave})
	wantCode(t, err, crmaccess.EINVALID)
}

func TestRemovedUserLeavesEveryListAndTheAdminRole(t *testing.T) {
	eachDatabase(t, testRemovedUserLeavesEveryListAndTheAdminRole)
}

func testRemovedUserLeavesEveryListAndTheAdminRole(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	if _, err := p.SetOpportunityAccess(ctx, alice, 1, true, []string{dave}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetContactsAccessByID(ctx, admin, []int64{1, 5}, true, []string{dave, bob}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GrantAdmin(ctx, admin, dave); err != nil {
		t.Fatal(err)
	}
	tok, err := p.RemoveUser(ctx, admin, dave)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Check(ctx, dave, crmaccess.OpportunityRef(1), read)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	if ok, _ := p.IsAdmin(ctx, dave); ok {
		t.Error("the removed user is still an admin")
	}
	for _, ref := range []crmaccess.Ref{crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(2)} {
		o, err := p.Opportunity(ctx, admin, ref.ID)
		if err != nil || slices.Contains(o.AccessList, dave) {
			t.Errorf("%v after the removal: %+v, %v", ref, o, err)
		}
		ch, _ := p.Changes(ctx, ref)
		if last := ch[len(ch)-1]; last.Actor != admin || !slices.Contains(last.Before.List, dave) || slices.Contains(last.After.List, dave) {
			t.Errorf("%v: the removal's change %+v", ref, last)
		}
	}
	cs, err := p.Contacts(ctx, admin, []int64{1, 5})
	if err != nil || len(cs) != 2 || !slices.Equal(cs[0].ManagerList, []string{bob}) || !slices.Equal(cs[1].ManagerList, []string{bob}) {
		t.Errorf("contacts after the removal: %+v, %v", cs, err)
	}
	// Opportunity 2 was private to dave alone besides its creator and
	// responsible user: it stays private to them.
	if d := mustCheck(t, p.Service, carol, crmaccess.OpportunityRef(2), read); d.Reason != crmaccess.ReasonResponsible {
		t.Errorf("carol on 2: %+v", d)
	}
	if d := mustCheck(t, p.Service, bob, crmaccess.OpportunityRef(2), read); d.Allowed {
		t.Errorf("bob on 2: %+v", d)
	}
	_, err = p.SetOpportunityAccess(ctx, alice, 1, true, []string{dave})
	wantCode(t, err, crmaccess.EINVALID) // no longer a user to put on a list
	// A fresh instance agrees, and so does stock Casbin.
	fresh := p.reopen(t)
	if err := fresh.WaitFor(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(decisions(t, p.Service), decisions(t, fresh.Service)) {
		t.Error("a fresh instance decides otherwise after the removal")
	}
	compareWithStockCasbin(t, p)
	// Added again, the user comes back with no list and no role.
	if _, err := p.PutUser(ctx, admin, crmaccess.User{ID: dave, DisplayName: "Dave again"}); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.OpportunityRef(2), read); d.Allowed {
		t.Errorf("dave, added again: %+v", d)
	}
}
