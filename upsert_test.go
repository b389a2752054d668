package crmaccess_test

import (
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// Bulk adoption (SPEC §9): a data set upserted into a store that holds
// data adds what is missing, brings the rest to the data set, and is
// idempotent.

func TestUpsertAddsUpdatesAndIsIdempotent(t *testing.T) {
	eachDatabase(t, testUpsertAddsUpdatesAndIsIdempotent)
}

func testUpsertAddsUpdatesAndIsIdempotent(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	head := p.Token()
	tok, err := p.Upsert(ctx, portalFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok != head {
		t.Errorf("upserting the imported data set wrote something: %s after %s", tok, head)
	}

	fx := portalFixture(t)
	fx.Contacts[0].ShareType, fx.Contacts[0].ManagerList = crmaccess.ShareNone, []string{bob}
	fx.Contacts = append(fx.Contacts, crmaccess.Contact{ID: 7, FirstName: "New", CreateBy: alice, ManagerList: []string{dave}, ShareType: crmaccess.ShareNone})
	fx.Opportunities[0].Title, fx.Opportunities[0].Responsible = "Renamed", carol
	fx.Opportunities = append(fx.Opportunities, crmaccess.Opportunity{ID: 4, Title: "New", CreateBy: dave, Responsible: dave,
		IsPrivate: true, AccessList: []string{bob}})
	for i := range fx.Users {
		if fx.Users[i].ID == bob {
			fx.Users[i].DisplayName = "Bob Admin"
		}
	}
	fx.Admins = append(fx.Admins, bob)
	tok, err = p.Upsert(ctx, fx)
	if err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.ContactRef(1), read); d.Allowed {
		t.Errorf("contact 1, now private to bob, open to dave: %+v", d)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.ContactRef(7), edit); d.Reason != crmaccess.ReasonInManagerList {
		t.Errorf("dave on the new contact 7: %+v", d)
	}
	o, err := p.Opportunity(ctx, admin, 1)
	if err != nil || o.Title != "Renamed" || o.Responsible != carol || o.CreateBy != alice {
		t.Errorf("opportunity 1: %+v, %v", o, err)
	}
	if d := mustCheck(t, p.Service, carol, crmaccess.OpportunityRef(1), edit); d.Allowed != true {
		t.Errorf("carol, now responsible (and 1 is public): %+v", d)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.OpportunityRef(4), crmaccess.ActionChangeAccess); d.Reason != crmaccess.ReasonCreator {
		t.Errorf("dave on the new opportunity 4: %+v", d)
	}
	if ok, _ := p.IsAdmin(ctx, bob); !ok {
		t.Error("bob is not an admin after the upsert")
	}
	if users, _ := p.Users(ctx, []string{bob}); users[0].DisplayName != "Bob Admin" {
		t.Errorf("bob's name: %+v", users[0])
	}
	ch, _ := p.Changes(ctx, crmaccess.OpportunityRef(1))
	if last := ch[len(ch)-1]; last.Before.Responsible != bob || last.After.Responsible != carol {
		t.Errorf("opportunity 1's change: %+v", last)
	}
	compareWithStockCasbin(t, p)

	again, err := p.Upsert(ctx, fx)
	if err != nil {
		t.Fatal(err)
	}
	if again != tok {
		t.Errorf("the same data set a second time wrote: %s after %s", again, tok)
	}
	if !mapsEqual(decisions(t, p.Service), decisions(t, p.reopen(t).Service)) {
		t.Error("a fresh instance decides otherwise after the upserts")
	}
}

// Upserted into an empty store, a data set gives what Import gives.
func TestUpsertIntoAnEmptyStoreIsImport(t *testing.T) {
	eachDatabase(t, testUpsertIntoAnEmptyStoreIsImport)
}

func testUpsertIntoAnEmptyStoreIsImport(t *testing.T, db database) {
	imported := newPortalOn(t, db)
	upserted := newEmptyPortalOn(t, db)
	if _, err := upserted.Upsert(t.Context(), portalFixture(t)); err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(decisions(t, imported.Service), decisions(t, upserted.Service)) {
		t.Error("the upserted store decides otherwise than the imported one")
	}
	a, _ := imported.Opportunity(t.Context(), admin, 2)
	b, _ := upserted.Opportunity(t.Context(), admin, 2)
	a.Token, b.Token = "", ""
	if a.Title != b.Title || !slices.Equal(a.AccessList, b.AccessList) || a.Responsible != b.Responsible {
		t.Errorf("opportunity 2: imported %+v, upserted %+v", a, b)
	}
}
