package crmaccess_test

import (
	"testing"

	"github.com/crmaccess/crmaccess"
)

func TestReopenGivesTheSameDecisions(t *testing.T) {
	p := newPortal(t)
	ctx := t.Context()
	if _, err := p.SetOpportunityAccess(ctx, alice, 1, true, []string{carol}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{Tags: []string{"vip"}}, true, []string{dave}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GrantAdmin(ctx, admin, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RevokeAdmin(ctx, admin, admin); err != nil {
		t.Fatal(err)
	}
	before := decisions(t, p.Service)
	if err := p.store.Close(); err != nil {
		t.Fatal(err)
	}
	after := decisions(t, openPortal(t, p.path).Service)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %+v before close, %+v after reopen", k, v, after[k])
		}
	}
}

func TestImportRefusesANonEmptyStore(t *testing.T) {
	p := newPortal(t)
	before := decisions(t, p.Service)
	fx := &crmaccess.DataSet{Users: []crmaccess.User{{ID: "aaaaaaaa-0000-0000-0000-000000000009"}}, Admins: []string{"aaaaaaaa-0000-0000-0000-000000000009"}}
	_, err := p.Import(t.Context(), fx)
	wantCode(t, err, crmaccess.ECONFLICT)
	if ok, _ := p.IsAdmin(t.Context(), "aaaaaaaa-0000-0000-0000-000000000009"); ok {
		t.Error("the refused import granted admin")
	}
	if !mapsEqual(before, decisions(t, openPortal(t, p.path).Service)) {
		t.Error("the refused import reached the database")
	}
}
