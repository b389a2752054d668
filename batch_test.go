package crmaccess_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The batch forms of ONLYOFFICE's access family (SPEC §4): what the actor
// may change is changed, what the actor may only read is skipped and
// counted, and what is missing or hidden is neither changed, nor counted,
// nor returned.

func TestSetOpportunitiesAccessSkipsReadersAndHidesTheHidden(t *testing.T) {
	eachDatabase(t, testSetOpportunitiesAccessSkipsReadersAndHidesTheHidden)
}

func testSetOpportunitiesAccessSkipsReadersAndHidesTheHidden(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	before := decisions(t, p.Service)
	// dave reads 1 (public) and 2 (on its list) but created neither; 3 is
	// hidden from him; 99 does not exist.
	res, err := p.SetOpportunitiesAccess(ctx, dave, []int64{1, 2, 3, 99}, true, []string{dave})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Opportunities) != 0 || res.Skipped != 2 {
		t.Errorf("dave: changed %d, skipped %d; want 0 and 2 (3 and 99 neither counted)", len(res.Opportunities), res.Skipped)
	}
	if !mapsEqual(before, decisions(t, p.Service)) {
		t.Error("a batch that changed nothing changed decisions")
	}

	res, err = p.SetOpportunitiesAccess(ctx, alice, []int64{3, 2, 1, 99, 1}, true, []string{bob})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, o := range res.Opportunities {
		ids = append(ids, o.ID)
		if !o.IsPrivate || !slices.Equal(o.AccessList, []string{alice, bob}) || !o.CanEdit {
			t.Errorf("opportunity %d: private %v list %v canEdit %v", o.ID, o.IsPrivate, o.AccessList, o.CanEdit)
		}
	}
	if !slices.Equal(ids, []int64{1, 2}) || res.Skipped != 0 {
		t.Errorf("alice: changed %v, skipped %d; want [1 2] and 0", ids, res.Skipped)
	}
	for _, ref := range []crmaccess.Ref{crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(2)} {
		if d := mustCheck(t, p.Service, bob, ref, read); d.Reason != crmaccess.ReasonInAccessList && d.Reason != crmaccess.ReasonResponsible {
			t.Errorf("bob on %v: %+v", ref, d)
		}
		if d := mustCheck(t, p.Service, dave, ref, read); d.Allowed {
			t.Errorf("dave still reads %v", ref)
		}
	}
	if mustCheck(t, p.Service, alice, crmaccess.OpportunityRef(3), read).Allowed {
		t.Error("the batch opened opportunity 3 to alice")
	}
	_, err = p.SetOpportunitiesAccess(ctx, alice, []int64{1, 0}, false, nil)
	wantCode(t, err, crmaccess.EINVALID)
}

func TestSetContactsAccessByIDSkipsReadersAndHidesTheHidden(t *testing.T) {
	eachDatabase(t, testSetContactsAccessByIDSkipsReadersAndHidesTheHidden)
}

func testSetContactsAccessByIDSkipsReadersAndHidesTheHidden(t *testing.T, db database) {
	p := newPortalOn(t, db)
	// dave may edit 1 and 5 (shared read-write) and only read 3 (shared
	// read); 2 and 4 are private to others; 99 does not exist.
	res, err := p.SetContactsAccessByID(t.Context(), dave, []int64{1, 2, 3, 4, 5, 99}, true, []string{bob})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range res.Contacts {
		ids = append(ids, c.ID)
		if c.ShareType != crmaccess.ShareNone || !slices.Equal(c.ManagerList, []string{bob}) {
			t.Errorf("contact %d: %v %v", c.ID, c.ShareType, c.ManagerList)
		}
	}
	if !slices.Equal(ids, []int64{1, 5}) || res.Skipped != 1 {
		t.Errorf("changed %v, skipped %d; want [1 5] and 1", ids, res.Skipped)
	}
	if d := mustCheck(t, p.Service, dave, crmaccess.ContactRef(3), read); d.Reason != crmaccess.ReasonPublic {
		t.Errorf("the skipped contact 3 changed: %+v", d)
	}
}

func TestSetContactAccessAnswersOneContact(t *testing.T) {
	eachDatabase(t, testSetContactAccessAnswersOneContact)
}

func testSetContactAccessAnswersOneContact(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	_, missing := p.SetContactAccess(ctx, dave, 99, true, nil)
	_, hidden := p.SetContactAccess(ctx, dave, 2, true, nil)
	wantCode(t, missing, crmaccess.ENOTFOUND)
	wantCode(t, hidden, crmaccess.ENOTFOUND)
	if crmaccess.ErrorMessage(missing) != "contact 99 not found" || crmaccess.ErrorMessage(hidden) != "contact 2 not found" {
		t.Errorf("messages differ in form: %q / %q", crmaccess.ErrorMessage(missing), crmaccess.ErrorMessage(hidden))
	}
	_, readOnly := p.SetContactAccess(ctx, dave, 3, true, nil)
	wantCode(t, readOnly, crmaccess.EFORBIDDEN)
	c, err := p.SetContactAccess(ctx, dave, 1, true, []string{dave})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != 1 || c.ShareType != crmaccess.ShareNone || !c.CanEdit || c.Token == "" {
		t.Errorf("answer %+v", c)
	}
	if d := mustCheck(t, p.Service, bob, crmaccess.ContactRef(1), read); d.Allowed {
		t.Error("contact 1 is still open to bob")
	}
}

func TestSetOpportunitiesAccessByFilter(t *testing.T) {
	eachDatabase(t, testSetOpportunitiesAccessByFilter)
}

func testSetOpportunitiesAccessByFilter(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	// Alice created 1 and 2; 2 is at stage 31. Carol is 2's responsible.
	stage := int64(31)
	res, err := p.SetOpportunitiesAccessByFilter(ctx, alice, crmaccess.OpportunityFilter{Stage: &stage}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Opportunities) != 1 || res.Opportunities[0].ID != 2 || res.Opportunities[0].IsPrivate {
		t.Fatalf("answer %+v, want opportunity 2 made public", res)
	}
	if d := mustCheck(t, p.Service, bob, crmaccess.OpportunityRef(2), read); d.Reason != crmaccess.ReasonPublic {
		t.Errorf("bob on 2: %+v", d)
	}
	// Carol may read 2 (responsible) but not change it; 1 does not match.
	res, err = p.SetOpportunitiesAccessByFilter(ctx, carol, crmaccess.OpportunityFilter{Responsible: carol}, true, []string{carol})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Opportunities) != 0 || res.Skipped != 1 {
		t.Errorf("carol: changed %d, skipped %d; want 0 and 1", len(res.Opportunities), res.Skipped)
	}
	_, err = p.SetOpportunitiesAccessByFilter(ctx, alice, crmaccess.OpportunityFilter{Responsible: "nope"}, false, nil)
	wantCode(t, err, crmaccess.EINVALID)
}

// The skipped count never reveals a hidden contact (SPEC §3): a caller
// probing names, tags or creation days gets the same count, and the same
// answer, whether or not a contact hidden from them matches.
func TestSkippedCountIsTheSameWhetherOrNotHiddenContactsMatch(t *testing.T) {
	eachDatabase(t, testSkippedCountIsTheSameWhetherOrNotHiddenContactsMatch)
}

func testSkippedCountIsTheSameWhetherOrNotHiddenContactsMatch(t *testing.T, db database) {
	probes := []crmaccess.ContactFilter{
		{Tags: []string{"lead"}},
		{Search: "Secr"},
		{Tags: []string{"lead"}, Search: "Secret"},
		{FromDate: testNow.Add(-time.Hour), ToDate: testNow},
		{},
	}
	answers := func(p *portal) []string {
		var out []string
		for _, f := range probes {
			// Bob shares them (true is a no-op for what he may edit).
			res, err := p.SetContactsAccess(t.Context(), bob, f, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, c := range res.Contacts {
				ids = append(ids, c.ID)
			}
			out = append(out, fmt.Sprintf("%+v: changed %v, skipped %d", f, ids, res.Skipped))
		}
		return out
	}
	without := newPortalOn(t, db)
	with := newPortalOn(t, db)
	// Alice's secret: private to her, tagged lead, created now.
	if _, err := with.CreateContact(t.Context(), alice, crmaccess.Contact{ID: 20, FirstName: "Secret", LastName: "Merger",
		Tags: []string{"lead"}, ShareType: crmaccess.ShareNone, ManagerList: []string{alice}}); err != nil {
		t.Fatal(err)
	}
	a, b := answers(without), answers(with)
	if !slices.Equal(a, b) {
		t.Errorf("the answers differ with a hidden contact that matches:\nwithout: %v\nwith:    %v", a, b)
	}
	// And the secret is there for alice to find: the probes are not empty
	// for a caller who may read it.
	res, err := with.SetContactsAccess(t.Context(), alice, crmaccess.ContactFilter{Search: "Secr"}, true, []string{alice})
	if err != nil || len(res.Contacts) != 1 {
		t.Errorf("alice's own probe: %+v, %v", res, err)
	}
}
