package crmaccess_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/crmaccess/crmaccess"
)

func TestSetOpportunityAccessRejectsIDNotPositive(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessRejectsIDNotPositive)
}

func testSetOpportunityAccessRejectsIDNotPositive(t *testing.T, db database) {
	p := newPortalOn(t, db)
	for _, id := range []int64{0, -1} {
		_, err := p.SetOpportunityAccess(t.Context(), alice, id, true, []string{dave})
		wantCode(t, err, crmaccess.EINVALID)
	}
}

func TestSetOpportunityAccessHidesPrivateRecordsAsMissing(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessHidesPrivateRecordsAsMissing)
}

func testSetOpportunityAccessHidesPrivateRecordsAsMissing(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	_, missing := p.SetOpportunityAccess(ctx, dave, 99, false, nil)
	_, hidden := p.SetOpportunityAccess(ctx, dave, 3, false, nil)
	wantCode(t, missing, crmaccess.ENOTFOUND)
	wantCode(t, hidden, crmaccess.ENOTFOUND)
	if crmaccess.ErrorMessage(missing) != "opportunity 99 not found" || crmaccess.ErrorMessage(hidden) != "opportunity 3 not found" {
		t.Errorf("messages differ in form: %q / %q", crmaccess.ErrorMessage(missing), crmaccess.ErrorMessage(hidden))
	}
	// A bad list does not reveal the record either: not found comes first.
	_, err := p.SetOpportunityAccess(ctx, dave, 3, true, []string{"nope"})
	wantCode(t, err, crmaccess.ENOTFOUND)
}

func TestSetOpportunityAccessForbidsReadersWhoAreNotCreatorOrAdmin(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessForbidsReadersWhoAreNotCreatorOrAdmin)
}

func testSetOpportunityAccessForbidsReadersWhoAreNotCreatorOrAdmin(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	for _, c := range []struct {
		user string
		id   int64
	}{{dave, 1}, {bob, 1}, {dave, 2}, {carol, 2}} {
		_, err := p.SetOpportunityAccess(ctx, c.user, c.id, true, []string{c.user})
		wantCode(t, err, crmaccess.EFORBIDDEN)
	}
	if st := mustCheck(t, p.Service, bob, crmaccess.OpportunityRef(1), read); st.Reason != crmaccess.ReasonPublic {
		t.Errorf("opportunity 1 changed by a forbidden call: %+v", st)
	}
}

func TestSetOpportunityAccessParsesGUIDsAndAddsTheActor(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessParsesGUIDsAndAddsTheActor)
}

func testSetOpportunityAccessParsesGUIDsAndAddsTheActor(t *testing.T, db database) {
	p := newPortalOn(t, db)
	res, err := p.SetOpportunityAccess(t.Context(), alice, 1, true, []string{
		"{AAAAAAAA-0000-0000-0000-000000000005}",
		"aaaaaaaa-0000-0000-0000-000000000005",
		"AAAAAAAA-0000-0000-0000-000000000004",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{alice, carol, dave}
	if !res.IsPrivate || !slices.Equal(res.AccessList, want) || !res.CanEdit {
		t.Fatalf("result: private=%v list=%v canEdit=%v, want private [%v] canEdit", res.IsPrivate, res.AccessList, res.CanEdit, want)
	}
	if res.Title != "Hotel catalogue" || res.Responsible != bob || !slices.Equal(res.Members, []int64{3}) {
		t.Errorf("result lost the record's fields: %+v", res.Opportunity)
	}
	if d := mustCheck(t, p.Service, carol, crmaccess.OpportunityRef(1), edit); d.Reason != crmaccess.ReasonInAccessList {
		t.Errorf("carol: %+v", d)
	}
	if d := mustCheck(t, p.Service, bob, crmaccess.OpportunityRef(1), read); d.Reason != crmaccess.ReasonResponsible {
		t.Errorf("bob, responsible, off the list: %+v", d)
	}
	_, err = p.Check(t.Context(), "aaaaaaaa-0000-0000-0000-000000000009", crmaccess.OpportunityRef(1), read)
	wantCode(t, err, crmaccess.EUNAUTHORIZED) // no user of the store
	// An admin who sets a list is added to it too.
	res, err = p.SetOpportunityAccess(t.Context(), admin, 1, true, []string{dave})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.AccessList, []string{admin, dave}) {
		t.Errorf("admin's list = %v", res.AccessList)
	}
}

func TestSetOpportunityAccessChecksEveryEntryEvenWhenPublic(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessChecksEveryEntryEvenWhenPublic)
}

func testSetOpportunityAccessChecksEveryEntryEvenWhenPublic(t *testing.T, db database) {
	p := newPortalOn(t, db)
	before := decisions(t, p.Service)
	for _, private := range []bool{true, false} {
		_, err := p.SetOpportunityAccess(t.Context(), alice, 2, private, []string{dave, "not-a-guid"})
		wantCode(t, err, crmaccess.EINVALID)
	}
	if after := decisions(t, p.Service); !mapsEqual(before, after) {
		t.Error("a rejected call changed decisions")
	}
}

func TestSetOpportunityAccessEmptyListOrFalseMakesPublic(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessEmptyListOrFalseMakesPublic)
}

func testSetOpportunityAccessEmptyListOrFalseMakesPublic(t *testing.T, db database) {
	for _, c := range []struct {
		name    string
		private bool
		list    []string
	}{
		{"private with an empty list", true, nil},
		{"public with a list", false, []string{dave, bob}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPortalOn(t, db)
			res, err := p.SetOpportunityAccess(t.Context(), alice, 2, c.private, c.list)
			if err != nil {
				t.Fatal(err)
			}
			if res.IsPrivate || len(res.AccessList) != 0 {
				t.Fatalf("got private=%v list=%v, want public with no list", res.IsPrivate, res.AccessList)
			}
			if d := mustCheck(t, p.Service, bob, crmaccess.OpportunityRef(2), read); d.Reason != crmaccess.ReasonPublic {
				t.Errorf("bob: %+v", d)
			}
			if got, _ := p.Opportunity(t.Context(), bob, 2); got == nil || got.IsPrivate {
				t.Errorf("stored opportunity: %+v", got)
			}
		})
	}
}

func TestSetOpportunityAccessRecordsChangesAndWritesNothingWhenUnchanged(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessRecordsChangesAndWritesNothingWhenUnchanged)
}

func testSetOpportunityAccessRecordsChangesAndWritesNothingWhenUnchanged(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := context.Background()
	if _, err := p.SetOpportunityAccess(ctx, alice, 2, true, []string{dave}); err != nil { // alice is added: a change
		t.Fatal(err)
	}
	if _, err := p.SetOpportunityAccess(ctx, alice, 2, true, []string{dave, alice}); err != nil { // the same set
		t.Fatal(err)
	}
	if _, err := p.SetOpportunityAccess(ctx, alice, 2, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetOpportunityAccess(ctx, alice, 2, false, []string{bob}); err != nil { // still public
		t.Fatal(err)
	}
	ch, err := p.Changes(ctx, crmaccess.OpportunityRef(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 3 {
		t.Fatalf("%d change records, want the import's and 2 (unchanged requests write nothing): %+v", len(ch), ch)
	}
	imported, first, second := ch[0], ch[1], ch[2]
	if imported.Actor != "" || len(imported.Before.List) != 0 || imported.Before.Creator != "" ||
		!slices.Equal(imported.After.List, []string{dave}) || imported.After.Creator != alice || imported.After.Responsible != carol {
		t.Errorf("the import's change = %+v, want from nothing to the imported access", imported)
	}
	if first.Actor != alice || !first.Before.IsPrivate || !slices.Equal(first.Before.List, []string{dave}) ||
		!first.After.IsPrivate || !slices.Equal(first.After.List, []string{alice, dave}) {
		t.Errorf("first change = %+v", first)
	}
	if !second.Before.IsPrivate || second.After.IsPrivate || len(second.After.List) != 0 || second.Seq <= first.Seq {
		t.Errorf("second change = %+v", second)
	}
	if !first.At.Equal(testNow) {
		t.Errorf("change time %v, want the service clock's %v", first.At, testNow)
	}
}

func TestSetOpportunityAccessRejectsMissingActor(t *testing.T) {
	eachDatabase(t, testSetOpportunityAccessRejectsMissingActor)
}

func testSetOpportunityAccessRejectsMissingActor(t *testing.T, db database) {
	p := newPortalOn(t, db)
	_, err := p.SetOpportunityAccess(t.Context(), "", 1, false, nil)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	_, err = p.SetOpportunityAccess(t.Context(), "alice", 1, false, nil)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// countingStore counts the opportunity reads that reach the store.
type countingStore struct {
	crmaccess.Store
	reads atomic.Int64
}

func (s *countingStore) Opportunity(ctx context.Context, id int64) (*crmaccess.Opportunity, error) {
	s.reads.Add(1)
	return s.Store.Opportunity(ctx, id)
}

// A hidden opportunity and a missing one are refused from memory alike,
// before any database read: same answer, same path, same time class.
func TestHiddenAndMissingOpportunitiesAreNotRead(t *testing.T) {
	eachDatabase(t, testHiddenAndMissingOpportunitiesAreNotRead)
}

func testHiddenAndMissingOpportunitiesAreNotRead(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	cs := &countingStore{Store: p.store}
	svc := serviceOver(t, cs)
	for _, id := range []int64{2, 99} { // 2 is hidden from bob; 99 does not exist
		_, err := svc.SetOpportunityAccess(ctx, bob, id, false, nil)
		wantCode(t, err, crmaccess.ENOTFOUND)
		_, err = svc.Opportunity(ctx, bob, id)
		wantCode(t, err, crmaccess.ENOTFOUND)
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("%d store reads for a hidden or missing opportunity", n)
	}
}
