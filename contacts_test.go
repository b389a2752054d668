package crmaccess_test

import (
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// matchIDs runs the filter as admin (who may edit everything) with a no-op
// change (shared, no managers) and returns the ids it matched.
func matchIDs(t *testing.T, p *portal, f crmaccess.ContactFilter) []int64 {
	t.Helper()
	res, err := p.SetContactsAccess(t.Context(), admin, f, false, nil)
	if err != nil {
		t.Fatalf("SetContactsAccess(%+v): %v", f, err)
	}
	if res.Skipped != 0 {
		t.Fatalf("admin skipped %d contacts", res.Skipped)
	}
	var ids []int64
	for _, c := range res.Contacts {
		ids = append(ids, c.ID)
	}
	return ids
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestContactFilterSelects(t *testing.T) { eachDatabase(t, testContactFilterSelects) }

func testContactFilterSelects(t *testing.T, db database) {
	p := newPortalOn(t, db)
	plus3 := time.FixedZone("+03:00", 3*3600)
	for _, c := range []struct {
		name string
		f    crmaccess.ContactFilter
		want []int64
	}{
		{"no field matches every contact", crmaccess.ContactFilter{}, []int64{1, 2, 3, 4, 5, 6}},
		{"a tag matches trimmed and case-insensitive", crmaccess.ContactFilter{Tags: []string{"VIP"}}, []int64{1, 2, 5}},
		{"every tag must be carried", crmaccess.ContactFilter{Tags: []string{"vip", " LEAD "}}, []int64{2}},
		{"duplicate tags are ignored", crmaccess.ContactFilter{Tags: []string{"vip", "Vip", " vip"}}, []int64{1, 2, 5}},
		{"an unknown tag matches nothing", crmaccess.ContactFilter{Tags: []string{"vip", "nobody"}}, nil},
		{"stage 0 is a real id", crmaccess.ContactFilter{Stage: int64p(0)}, []int64{2, 5, 6}},
		{"stage 1", crmaccess.ContactFilter{Stage: int64p(1)}, []int64{1, 3}},
		{"a negative stage means any", crmaccess.ContactFilter{Stage: int64p(-1)}, []int64{1, 2, 3, 4, 5, 6}},
		{"type 0 is a real id", crmaccess.ContactFilter{Type: int64p(0)}, []int64{2, 4}},
		{"type 2", crmaccess.ContactFilter{Type: int64p(2)}, []int64{1, 6}},
		{"a negative type means any", crmaccess.ContactFilter{Type: int64p(-5)}, []int64{1, 2, 3, 4, 5, 6}},
		{"list view all", crmaccess.ContactFilter{ListView: crmaccess.ListAll}, []int64{1, 2, 3, 4, 5, 6}},
		{"list view company", crmaccess.ContactFilter{ListView: crmaccess.ListCompany}, []int64{1, 4}},
		{"list view person", crmaccess.ContactFilter{ListView: crmaccess.ListPerson}, []int64{2, 3, 5, 6}},
		// 2 and 5 are main contacts, 3 is a member of opportunity 1.
		{"list view withopportunity: main contact or member", crmaccess.ContactFilter{ListView: crmaccess.ListWithOpportunity}, []int64{2, 3, 5}},
		{"fromDate is inclusive", crmaccess.ContactFilter{FromDate: day("2021-04-24T23:59:59Z")}, []int64{3, 4, 5, 6}},
		{"toDate covers its whole day", crmaccess.ContactFilter{ToDate: day("2021-04-24T00:00:00Z")}, []int64{1, 2, 3}},
		{"toDate's day is taken in its own offset", crmaccess.ContactFilter{ToDate: time.Date(2021, 4, 24, 0, 0, 0, 0, plus3)}, []int64{1, 2}},
		{"from and to on the same day", crmaccess.ContactFilter{FromDate: day("2021-04-24T00:00:00Z"), ToDate: day("2021-04-24T00:00:00Z")}, []int64{2, 3}},
		{"search words are prefixes of name words", crmaccess.ContactFilter{Search: "tad BACH"}, []int64{2}},
		{"search on a company name", crmaccess.ContactFilter{Search: "cult"}, []int64{1}},
		{"a search word must prefix a word", crmaccess.ContactFilter{Search: "adjeddine"}, nil},
		{"fields combine with AND", crmaccess.ContactFilter{Tags: []string{"vip"}, ListView: crmaccess.ListPerson, Type: int64p(1)}, []int64{5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := matchIDs(t, p, c.f); !slices.Equal(got, c.want) {
				t.Errorf("matched %v, want %v", got, c.want)
			}
		})
	}
}

func TestContactFilterRejectsFromAfterTo(t *testing.T) {
	eachDatabase(t, testContactFilterRejectsFromAfterTo)
}

func testContactFilterRejectsFromAfterTo(t *testing.T, db database) {
	p := newPortalOn(t, db)
	before := decisions(t, p.Service)
	f := crmaccess.ContactFilter{FromDate: day("2021-04-25T00:00:00Z"), ToDate: day("2021-04-24T23:00:00Z")}
	_, err := p.SetContactsAccess(t.Context(), admin, f, true, nil)
	wantCode(t, err, crmaccess.EINVALID)
	if !mapsEqual(before, decisions(t, p.Service)) {
		t.Error("a rejected call changed decisions")
	}
	// The last instant of toDate's day is still in range.
	f.FromDate = day("2021-04-24T23:59:59Z")
	if _, err := p.SetContactsAccess(t.Context(), admin, f, false, nil); err != nil {
		t.Fatalf("from at the end of to's day: %v", err)
	}
}

func TestSetContactsAccessRejectsBadManagerList(t *testing.T) {
	eachDatabase(t, testSetContactsAccessRejectsBadManagerList)
}

func testSetContactsAccessRejectsBadManagerList(t *testing.T, db database) {
	p := newPortalOn(t, db)
	before := decisions(t, p.Service)
	for _, private := range []bool{true, false} {
		_, err := p.SetContactsAccess(t.Context(), admin, crmaccess.ContactFilter{}, private, []string{bob, "{bob}"})
		wantCode(t, err, crmaccess.EINVALID)
	}
	_, err := p.SetContactsAccess(t.Context(), admin, crmaccess.ContactFilter{ListView: 7}, true, nil)
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.SetContactsAccess(t.Context(), "", crmaccess.ContactFilter{}, true, nil)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	if !mapsEqual(before, decisions(t, p.Service)) {
		t.Error("a rejected call changed decisions")
	}
}

func TestSetContactsAccessSkipsAndCountsContactsTheActorMayNotEdit(t *testing.T) {
	eachDatabase(t, testSetContactsAccessSkipsAndCountsContactsTheActorMayNotEdit)
}

func testSetContactsAccessSkipsAndCountsContactsTheActorMayNotEdit(t *testing.T, db database) {
	p := newPortalOn(t, db)
	// dave may edit the ReadWrite contacts 1, 5, 6; he may read but not
	// edit 3 (Read): skipped and counted; 2 and 4 are private, hidden from
	// him: neither changed nor counted.
	res, err := p.SetContactsAccess(t.Context(), dave, crmaccess.ContactFilter{}, true, []string{bob, "{AAAAAAAA-0000-0000-0000-000000000003}"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 1 {
		t.Errorf("skipped %d, want 1 (contact 3; the hidden 2 and 4 are not counted)", res.Skipped)
	}
	var ids []int64
	for _, c := range res.Contacts {
		ids = append(ids, c.ID)
		// New values; the actor is not added, so dave has lost the contact.
		if c.ShareType != crmaccess.ShareNone || !c.IsPrivate() || !slices.Equal(c.ManagerList, []string{bob}) || c.CanEdit || c.CanDelete {
			t.Errorf("contact %d: share=%v managers=%v canEdit=%v canDelete=%v", c.ID, c.ShareType, c.ManagerList, c.CanEdit, c.CanDelete)
		}
	}
	if !slices.Equal(ids, []int64{1, 5, 6}) {
		t.Errorf("changed %v, want [1 5 6]", ids)
	}
	for _, id := range []int64{1, 5, 6} {
		if d := mustCheck(t, p.Service, bob, crmaccess.ContactRef(id), edit); d.Reason != crmaccess.ReasonInManagerList {
			t.Errorf("bob on contact %d: %+v", id, d)
		}
		if d := mustCheck(t, p.Service, dave, crmaccess.ContactRef(id), read); d.Allowed {
			t.Errorf("dave still reads contact %d", id)
		}
	}
	// The skipped contacts are as they were.
	if d := mustCheck(t, p.Service, alice, crmaccess.ContactRef(2), edit); d.Reason != crmaccess.ReasonInManagerList {
		t.Errorf("contact 2 changed: %+v", d)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.ContactRef(3), read); d.Reason != crmaccess.ReasonPublic {
		t.Errorf("contact 3 changed: %+v", d)
	}
}

func TestSetContactsAccessPublicEmptiesManagers(t *testing.T) {
	eachDatabase(t, testSetContactsAccessPublicEmptiesManagers)
}

func testSetContactsAccessPublicEmptiesManagers(t *testing.T, db database) {
	p := newPortalOn(t, db)
	res, err := p.SetContactsAccess(t.Context(), alice, crmaccess.ContactFilter{Tags: []string{"lead"}}, false, []string{carol})
	if err != nil {
		t.Fatal(err)
	}
	// alice may edit 2 (manager); 3 is Read-shared and alice is not its manager.
	if res.Skipped != 1 || len(res.Contacts) != 1 || res.Contacts[0].ID != 2 {
		t.Fatalf("result: %+v", res)
	}
	c := res.Contacts[0]
	if c.ShareType != crmaccess.ShareReadWrite || c.IsPrivate() || !c.IsShared() || len(c.ManagerList) != 0 || !c.CanEdit || !c.CanDelete {
		t.Errorf("contact 2: %+v", c)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.ContactRef(2), del); d.Reason != crmaccess.ReasonSharedReadWrite {
		t.Errorf("dave on contact 2: %+v", d)
	}
	ch, err := p.Changes(t.Context(), crmaccess.ContactRef(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || ch[0].Actor != "" {
		t.Fatalf("changes: %+v, want the import's and one", ch)
	}
	ch = ch[1:]
	if ch[0].Before.ShareType != crmaccess.ShareNone || !slices.Equal(ch[0].Before.List, []string{alice}) ||
		ch[0].After.ShareType != crmaccess.ShareReadWrite || len(ch[0].After.List) != 0 || ch[0].Actor != alice {
		t.Errorf("changes: %+v", ch)
	}
}

func TestSetContactsAccessReturnsUnchangedMatchesAndWritesNothing(t *testing.T) {
	eachDatabase(t, testSetContactsAccessReturnsUnchangedMatchesAndWritesNothing)
}

func testSetContactsAccessReturnsUnchangedMatchesAndWritesNothing(t *testing.T, db database) {
	p := newPortalOn(t, db)
	// Contacts 1, 5, 6 are already ReadWrite with no managers.
	res, err := p.SetContactsAccess(t.Context(), dave, crmaccess.ContactFilter{}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contacts) != 3 || res.Skipped != 1 {
		t.Fatalf("result: %d contacts, %d skipped", len(res.Contacts), res.Skipped)
	}
	for _, id := range []int64{1, 5, 6} {
		if ch, err := p.Changes(t.Context(), crmaccess.ContactRef(id)); err != nil || len(ch) != 1 {
			t.Errorf("contact %d: %d changes recorded (%v), want the import's only", id, len(ch), err)
		}
	}
}

func TestSetContactsAccessReturnsRecordFields(t *testing.T) {
	eachDatabase(t, testSetContactsAccessReturnsRecordFields)
}

func testSetContactsAccessReturnsRecordFields(t *testing.T, db database) {
	p := newPortalOn(t, db)
	res, err := p.SetContactsAccess(t.Context(), admin, crmaccess.ContactFilter{Search: "bachir"}, true, []string{alice, bob})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contacts) != 1 {
		t.Fatalf("%d contacts", len(res.Contacts))
	}
	c := res.Contacts[0]
	if c.FirstName != "Tadjeddine" || c.LastName != "Bachir" || c.DisplayName() != "Tadjeddine Bachir" || c.CompanyID != 1 ||
		c.Title != "Programmer" || !c.Created.Equal(day("2021-04-24T00:00:00Z")) || c.CreateBy != alice ||
		!slices.Equal(c.Tags, []string{" vip ", "lead"}) || !slices.Equal(c.ManagerList, []string{alice, bob}) {
		t.Errorf("contact: %+v", c.Contact)
	}
}
