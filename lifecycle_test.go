package crmaccess_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// Records are created, edited and deleted through the Service (SPEC §9);
// each access consequence goes into the change log.

func TestCreateOpportunityMakesTheActorItsCreator(t *testing.T) {
	eachDatabase(t, testCreateOpportunityMakesTheActorItsCreator)
}

func testCreateOpportunityMakesTheActorItsCreator(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	o, err := p.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "New deal", CreateBy: alice,
		StageID: 30, ContactID: 1, Members: []int64{3, 3}, Tags: []string{"vip"}}, true, []string{bob})
	if err != nil {
		t.Fatal(err)
	}
	if o.CreateBy != dave || o.Responsible != dave || !o.IsPrivate || !slices.Equal(o.AccessList, []string{bob, dave}) || !o.CanEdit || o.Token == "" {
		t.Errorf("created %+v", o)
	}
	ref := crmaccess.OpportunityRef(10)
	if d := mustCheck(t, p.Service, dave, ref, crmaccess.ActionChangeAccess); d.Reason != crmaccess.ReasonCreator {
		t.Errorf("dave: %+v", d)
	}
	if d := mustCheck(t, p.Service, bob, ref, read); d.Reason != crmaccess.ReasonInAccessList {
		t.Errorf("bob: %+v", d)
	}
	if mustCheck(t, p.Service, alice, ref, read).Allowed {
		t.Error("alice reads an opportunity private to others")
	}
	stored, err := p.Opportunity(ctx, dave, 10)
	if err != nil || !slices.Equal(stored.Members, []int64{3}) || !slices.Equal(stored.Tags, []string{"vip"}) {
		t.Errorf("stored %+v, %v", stored, err)
	}
	ch, err := p.Changes(ctx, ref)
	if err != nil || len(ch) != 1 || ch[0].Actor != dave || ch[0].After.Creator != dave || len(ch[0].Before.List) != 0 {
		t.Errorf("change records %+v, %v", ch, err)
	}

	_, err = p.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10}, false, nil)
	wantCode(t, err, crmaccess.ECONFLICT)
	_, err = p.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 11, StageID: 99}, false, nil)
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 11, Members: []int64{99}}, false, nil)
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 0}, false, nil)
	wantCode(t, err, crmaccess.EINVALID)
	if _, err := p.Opportunity(ctx, admin, 11); crmaccess.ErrorCode(err) != crmaccess.ENOTFOUND {
		t.Errorf("a refused creation left opportunity 11: %v", err)
	}
}

func TestUpdateOpportunityMovesTheResponsibleUsersAccess(t *testing.T) {
	eachDatabase(t, testUpdateOpportunityMovesTheResponsibleUsersAccess)
}

func testUpdateOpportunityMovesTheResponsibleUsersAccess(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	if _, err := p.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Title: "Private", Responsible: bob}, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetOpportunityAccess(ctx, alice, 10, true, []string{alice}); err != nil {
		t.Fatal(err)
	}
	ref := crmaccess.OpportunityRef(10)
	if d := mustCheck(t, p.Service, bob, ref, read); d.Reason != crmaccess.ReasonResponsible {
		t.Fatalf("bob before: %+v", d)
	}
	_, err := p.UpdateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "mine now", Responsible: dave})
	wantCode(t, err, crmaccess.ENOTFOUND) // hidden from dave
	o, err := p.UpdateOpportunity(ctx, bob, crmaccess.Opportunity{ID: 10, Title: "Renamed", Responsible: carol, StageID: 31})
	if err != nil {
		t.Fatal(err)
	}
	if o.Title != "Renamed" || o.Responsible != carol || o.CreateBy != alice || !o.IsPrivate || o.CanEdit {
		t.Errorf("updated %+v (bob handed it on, so he may no longer edit it)", o)
	}
	if mustCheck(t, p.Service, bob, ref, read).Allowed {
		t.Error("the old responsible user still reads it")
	}
	if d := mustCheck(t, p.Service, carol, ref, edit); d.Reason != crmaccess.ReasonResponsible {
		t.Errorf("carol: %+v", d)
	}
	ch, err := p.Changes(ctx, ref)
	if err != nil || len(ch) != 3 {
		t.Fatalf("change records %+v, %v; want creation, access, responsible", ch, err)
	}
	if last := ch[2]; last.Actor != bob || last.Before.Responsible != bob || last.After.Responsible != carol {
		t.Errorf("the responsible change %+v", last)
	}
	// An edit that keeps the responsible user records no change of access.
	if _, err := p.UpdateOpportunity(ctx, carol, crmaccess.Opportunity{ID: 10, Title: "Again"}); err != nil {
		t.Fatal(err)
	}
	if ch, _ := p.Changes(ctx, ref); len(ch) != 3 {
		t.Errorf("%d change records after an edit of the title, want 3", len(ch))
	}
}

func TestDeleteOpportunityTakesItsAccessAway(t *testing.T) {
	eachDatabase(t, testDeleteOpportunityTakesItsAccessAway)
}

func testDeleteOpportunityTakesItsAccessAway(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	_, err := p.DeleteOpportunity(ctx, dave, 3)
	wantCode(t, err, crmaccess.ENOTFOUND)
	tok, err := p.DeleteOpportunity(ctx, alice, 2)
	if err != nil || tok == "" {
		t.Fatalf("DeleteOpportunity: %q, %v", tok, err)
	}
	ref := crmaccess.OpportunityRef(2)
	for _, u := range []string{alice, carol, dave} {
		if mustCheck(t, p.Service, u, ref, read).Allowed {
			t.Errorf("%s still reads the deleted opportunity", u)
		}
	}
	_, err = p.Opportunity(ctx, admin, 2)
	wantCode(t, err, crmaccess.ENOTFOUND)
	if !mapsEqual(decisions(t, p.Service), decisions(t, p.reopen(t).Service)) {
		t.Error("memory and the database disagree after the deletion")
	}
	ch, _ := p.Changes(ctx, ref)
	if last := ch[len(ch)-1]; last.Actor != alice || len(last.After.List) != 0 || last.After.Creator != "" {
		t.Errorf("the deletion's change %+v", last)
	}
}

func TestContactLifecycle(t *testing.T) { eachDatabase(t, testContactLifecycle) }

func testContactLifecycle(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	company, err := p.CreateContact(ctx, dave, crmaccess.Contact{ID: 10, IsCompany: true, CompanyName: "Newco",
		ShareType: crmaccess.ShareRead, ManagerList: []string{dave}})
	if err != nil {
		t.Fatal(err)
	}
	if company.CreateBy != dave || company.ShareType != crmaccess.ShareRead || !company.CanEdit {
		t.Errorf("created %+v", company)
	}
	if _, err := p.CreateContact(ctx, bob, crmaccess.Contact{ID: 11, FirstName: "Pat", CompanyID: 10, ShareType: crmaccess.ShareReadWrite}); err != nil {
		t.Fatal(err)
	}
	_, err = p.CreateContact(ctx, bob, crmaccess.Contact{ID: 12, CompanyID: 11, ShareType: crmaccess.ShareReadWrite})
	wantCode(t, err, crmaccess.EINVALID) // 11 is a person
	// bob may read the company (shared read) but not edit it.
	_, err = p.UpdateContact(ctx, bob, crmaccess.Contact{ID: 10, CompanyName: "Renamed"})
	wantCode(t, err, crmaccess.EFORBIDDEN)
	c, err := p.UpdateContact(ctx, dave, crmaccess.Contact{ID: 10, CompanyName: "Renamed", Tags: []string{"partner"}})
	if err != nil || c.CompanyName != "Renamed" || !c.IsCompany || c.ShareType != crmaccess.ShareRead {
		t.Fatalf("updated %+v, %v", c, err)
	}
	// Deleting the company unlinks its person; deleting contact 5 leaves
	// opportunity 2 without a main contact.
	if _, err := p.DeleteContact(ctx, dave, 10); err != nil {
		t.Fatal(err)
	}
	if cs, err := p.Contacts(ctx, admin, []int64{10, 11}); err != nil || len(cs) != 1 || cs[0].CompanyID != 0 {
		t.Errorf("after deleting the company: %+v, %v", cs, err)
	}
	if _, err := p.DeleteContact(ctx, admin, 5); err != nil {
		t.Fatal(err)
	}
	if o, err := p.Opportunity(ctx, admin, 2); err != nil || o.ContactID != 0 {
		t.Errorf("opportunity 2 after deleting its contact: %+v, %v", o, err)
	}
	if mustCheck(t, p.Service, dave, crmaccess.ContactRef(10), read).Allowed {
		t.Error("the deleted company is still readable")
	}
}

func TestStagesAreAdminsAndRefusedWhileInUse(t *testing.T) {
	eachDatabase(t, testStagesAreAdminsAndRefusedWhileInUse)
}

func testStagesAreAdminsAndRefusedWhileInUse(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	_, err := p.AddStage(ctx, alice, crmaccess.Stage{ID: 40, Title: "Won", StageType: 1})
	wantCode(t, err, crmaccess.EFORBIDDEN)
	if _, err := p.AddStage(ctx, admin, crmaccess.Stage{ID: 40, Title: "Won", StageType: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = p.AddStage(ctx, admin, crmaccess.Stage{ID: 40})
	wantCode(t, err, crmaccess.ECONFLICT)
	if _, err := p.UpdateStage(ctx, admin, crmaccess.Stage{ID: 40, Title: "Closed won", StageType: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = p.DeleteStage(ctx, admin, 31) // opportunity 2 is at it
	wantCode(t, err, crmaccess.ECONFLICT)
	if _, err := p.DeleteStage(ctx, admin, 40); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Stages(ctx, []int64{30, 31, 40}); err != nil || len(st) != 2 {
		t.Errorf("stages %+v, %v", st, err)
	}
}

// After a random mix of lifecycle, user and access changes, a stock Casbin
// enforcer loaded by gorm-adapter from the database agrees with Check on
// every (user, record, action).
func TestRandomLifecycleAgreesWithStockCasbin(t *testing.T) {
	eachDatabase(t, testRandomLifecycleAgreesWithStockCasbin)
}

func testRandomLifecycleAgreesWithStockCasbin(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(9, 9))
	users := []string{admin, alice, bob, carol, dave}
	pick := func() string { return users[rng.IntN(len(users))] }
	for i := range 150 {
		id := int64(1 + rng.IntN(8))
		switch rng.IntN(10) {
		case 7:
			p.SetUserActive(ctx, admin, []string{bob, carol, dave}[rng.IntN(3)], rng.IntN(2) == 0)
		case 8:
			p.RemoveUser(ctx, admin, []string{bob, carol, dave}[rng.IntN(3)])
		case 9:
			u := []string{bob, carol, dave}[rng.IntN(3)]
			p.PutUser(ctx, admin, crmaccess.User{ID: u, DisplayName: u})
		case 0:
			p.CreateOpportunity(ctx, pick(), crmaccess.Opportunity{ID: id, Responsible: pick()}, rng.IntN(2) == 0, []string{pick()})
		case 1:
			p.UpdateOpportunity(ctx, pick(), crmaccess.Opportunity{ID: id, Responsible: pick()})
		case 2:
			p.DeleteOpportunity(ctx, pick(), id)
		case 3:
			p.SetOpportunityAccess(ctx, pick(), id, rng.IntN(2) == 0, []string{pick(), pick()})
		case 4:
			p.CreateContact(ctx, pick(), crmaccess.Contact{ID: id, ShareType: crmaccess.ShareType(rng.IntN(3)), ManagerList: []string{pick()}})
		case 5:
			p.DeleteContact(ctx, pick(), id)
		default:
			p.SetContactsAccessByID(ctx, pick(), []int64{id, id + 1}, rng.IntN(2) == 0, []string{pick()})
		}
		if i%50 == 49 {
			compareWithStockCasbin(t, p)
		}
	}
}

func compareWithStockCasbin(t *testing.T, p *portal) {
	t.Helper()
	e := stockEnforcer(t, p.place.Gorm(t), p.place.RuleTable())
	fresh := p.reopen(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := p.WaitFor(ctx, fresh.Token()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{admin, alice, bob, carol, dave} {
		for id := int64(1); id <= 9; id++ {
			for _, ref := range []crmaccess.Ref{crmaccess.OpportunityRef(id), crmaccess.ContactRef(id)} {
				for _, a := range []crmaccess.Action{read, edit, del, crmaccess.ActionChangeAccess} {
					d, err := p.Check(ctx, u, ref, a)
					fd, ferr := fresh.Check(ctx, u, ref, a)
					if crmaccess.ErrorCode(err) == crmaccess.EUNAUTHORIZED && crmaccess.ErrorCode(ferr) == crmaccess.EUNAUTHORIZED {
						err, ferr = nil, nil // not an active user: denied, as stock Casbin must
					}
					if err != nil || ferr != nil {
						t.Fatalf("%s %v %s: %v / %v", u, ref, a, err, ferr)
					}
					stock, err := e.Enforce(u, policy.Object(ref), string(a))
					if err != nil {
						t.Fatal(err)
					}
					if d.Allowed != stock || d != fd {
						t.Fatalf("%s %v %s: Check %+v, stock Casbin %v, a fresh service %+v", u, ref, a, d, stock, fd)
					}
				}
			}
		}
	}
}
