package policy_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

var allActions = []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess}

// shapesPortal has a record of every access shape: opportunities public and
// private, with and without a list, creator and responsible user present,
// absent, the same user or on the list; contacts of each share type with
// and without managers. User 0 is the admin; user 9 is on no line at all.
func shapesPortal() ([]crmaccess.Opportunity, []crmaccess.Contact) {
	var opps []crmaccess.Opportunity
	id := int64(0)
	for _, private := range []bool{false, true} {
		for _, list := range [][]string{nil, {user(3)}, {user(1), user(3)}} {
			for _, people := range [][2]string{{"", ""}, {user(1), ""}, {"", user(2)}, {user(1), user(2)}, {user(1), user(1)}, {user(3), user(2)}} {
				id++
				o := crmaccess.Opportunity{ID: id, IsPrivate: private, CreateBy: people[0], Responsible: people[1]}
				if private {
					o.AccessList = list
				}
				opps = append(opps, o)
			}
		}
	}
	var contacts []crmaccess.Contact
	id = 0
	for _, share := range []crmaccess.ShareType{crmaccess.ShareNone, crmaccess.ShareReadWrite, crmaccess.ShareRead} {
		for _, managers := range [][]string{nil, {user(3)}, {user(1), user(3)}} {
			id++
			contacts = append(contacts, crmaccess.Contact{ID: id, ShareType: share, ManagerList: managers})
		}
	}
	return opps, contacts
}

// specAllows is SPEC §2's table, written out on its own: the answer every
// implementation must give.
func specAllows(u string, admin bool, o *crmaccess.Opportunity, c *crmaccess.Contact, a crmaccess.Action) bool {
	if admin {
		return true
	}
	if o != nil {
		readable := !o.IsPrivate || slices.Contains(o.AccessList, u) || o.CreateBy == u || o.Responsible == u
		if a == crmaccess.ActionChangeAccess {
			return o.CreateBy == u
		}
		return readable // edit and delete: same as read
	}
	editable := c.ShareType == crmaccess.ShareReadWrite || slices.Contains(c.ManagerList, u)
	if a == crmaccess.ActionRead {
		return editable || c.ShareType == crmaccess.ShareRead
	}
	return editable // edit, delete, and change access: same as edit
}

// TestEveryPathDecidesAsTheSpec: over a portal of every access shape, for
// every user, record and action (contacts' "access" included), the
// Engine's Decide, its Enforce (Casbin over the Engine's index) and a stock
// Casbin enforcer with Model() and the same rules all give SPEC §2's answer.
func TestEveryPathDecidesAsTheSpec(t *testing.T) {
	opps, contacts := shapesPortal()
	// user(testUsers) is unknown; user(testUsers+1) known but inactive,
	// and on every list: neither may do anything.
	unknown, inactive := user(testUsers), user(testUsers+1)
	for i := range opps {
		opps[i].AccessList = append(slices.Clone(opps[i].AccessList), unknown, inactive)
	}
	rules := rulesOf(opps, contacts, user(0), inactive)
	inactiveRule, _ := policy.StatusRule(inactive, crmaccess.UserInactive)
	rules = append(rules, inactiveRule)
	eng := newEngine(t)
	if err := eng.Load(rules); err != nil {
		t.Fatal(err)
	}
	m, err := model.NewModelFromString(policy.Model())
	if err != nil {
		t.Fatal(err)
	}
	stock, err := casbin.NewEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if _, err := stock.AddNamedGroupingPolicy(r.Type, r.From, r.To); err != nil {
			t.Fatal(err)
		}
	}
	type subject struct {
		ref  crmaccess.Ref
		opp  *crmaccess.Opportunity
		cont *crmaccess.Contact
	}
	var records []subject
	for i := range opps {
		records = append(records, subject{ref: crmaccess.OpportunityRef(opps[i].ID), opp: &opps[i]})
	}
	for i := range contacts {
		records = append(records, subject{ref: crmaccess.ContactRef(contacts[i].ID), cont: &contacts[i]})
	}
	allowed := map[string]int{} // per kind and action, to show every answer occurs
	for u := range 10 {
		for _, rec := range records {
			for _, a := range allActions {
				want := specAllows(user(u), u == 0, rec.opp, rec.cont, a)
				what := fmt.Sprintf("user %d %s %s (%s)", u, a, policy.Object(rec.ref), shape(rec.opp, rec.cont))
				d, err := eng.Decide(user(u), rec.ref, a)
				if err != nil || d.Allowed != want {
					t.Errorf("%s: Decide %+v %v, spec %v", what, d, err, want)
				}
				got, err := eng.Enforce(user(u), policy.Object(rec.ref), string(a))
				if err != nil || got != want {
					t.Errorf("%s: Engine.Enforce %v %v, spec %v", what, got, err, want)
				}
				got, err = stock.Enforce(user(u), policy.Object(rec.ref), string(a))
				if err != nil || got != want {
					t.Errorf("%s: stock Casbin %v %v, spec %v", what, got, err, want)
				}
				allowed[fmt.Sprint(rec.ref.Kind, " ", a, " ", want)]++
			}
		}
	}
	for _, u := range []string{unknown, inactive} {
		for _, rec := range records {
			for _, a := range allActions {
				d, err := eng.Decide(u, rec.ref, a)
				enforced, err2 := eng.Enforce(u, policy.Object(rec.ref), string(a))
				stocked, err3 := stock.Enforce(u, policy.Object(rec.ref), string(a))
				if d.Allowed || enforced || stocked || err != nil || err2 != nil || err3 != nil {
					t.Errorf("%s, not an active user, %s %v: Decide %+v, Enforce %v, stock %v (%v %v %v)",
						u, a, rec.ref, d, enforced, stocked, err, err2, err3)
				}
			}
		}
	}
	for _, kind := range []crmaccess.Kind{crmaccess.KindOpportunity, crmaccess.KindContact} {
		for _, a := range allActions {
			for _, want := range []bool{true, false} {
				if allowed[fmt.Sprint(kind, " ", a, " ", want)] == 0 {
					t.Errorf("no %s %s answered %v: the portal lacks a shape", kind, a, want)
				}
			}
		}
	}
}

// TestUnknownActionsAreDenied: Casbin's paths deny an action the model does
// not define, to admins too, as Decide refuses it.
func TestUnknownActionsAreDenied(t *testing.T) {
	opps, contacts := shapesPortal()
	eng := newEngine(t)
	if err := eng.Load(rulesOf(opps, contacts, user(0))); err != nil {
		t.Fatal(err)
	}
	for _, act := range []string{"write", "", "READ", "access ", "*"} {
		for _, obj := range []string{"opportunity:1", "contact:2"} {
			for _, u := range []string{user(0), user(1)} {
				if ok, err := eng.Enforce(u, obj, act); err != nil || ok {
					t.Errorf("Enforce(%s, %s, %q) = %v, %v", u, obj, act, ok, err)
				}
			}
		}
		if _, err := eng.Decide(user(0), crmaccess.OpportunityRef(1), crmaccess.Action(act)); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("Decide(%q) = %v, want EINVALID", act, err)
		}
	}
}

// shape describes a record's access for messages.
func shape(o *crmaccess.Opportunity, c *crmaccess.Contact) string {
	if o != nil {
		return fmt.Sprintf("private %v, list %v, creator %q, responsible %q", o.IsPrivate, o.AccessList, o.CreateBy, o.Responsible)
	}
	return fmt.Sprintf("shareType %d, managers %v", c.ShareType, c.ManagerList)
}
