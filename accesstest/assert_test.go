package accesstest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
)

type assertion func(accesstest.T, accesstest.Checker, string, crmaccess.Ref) bool

// byAction are the named assertions of each action: may, may not.
var byAction = map[crmaccess.Action][2]assertion{
	crmaccess.ActionRead:         {accesstest.MayRead, accesstest.MayNotRead},
	crmaccess.ActionEdit:         {accesstest.MayEdit, accesstest.MayNotEdit},
	crmaccess.ActionDelete:       {accesstest.MayDelete, accesstest.MayNotDelete},
	crmaccess.ActionChangeAccess: {accesstest.MayChangeAccess, accesstest.MayNotChangeAccess},
}

// generic are May and MayNot bound to one action.
func generic(a crmaccess.Action) [2]assertion {
	return [2]assertion{
		func(t accesstest.T, c accesstest.Checker, u string, r crmaccess.Ref) bool {
			return accesstest.May(t, c, u, r, a)
		},
		func(t accesstest.T, c accesstest.Checker, u string, r crmaccess.Ref) bool {
			return accesstest.MayNot(t, c, u, r, a)
		},
	}
}

// The demo portal's decisions, one per reason in CRM terms.
var demoDecisions = []struct {
	user    string
	ref     crmaccess.Ref
	action  crmaccess.Action
	allowed bool
	reason  crmaccess.Reason
}{
	{ada, crmaccess.OpportunityRef(5), crmaccess.ActionEdit, true, crmaccess.ReasonAdmin},
	{lin, crmaccess.OpportunityRef(1), crmaccess.ActionRead, true, crmaccess.ReasonPublic},
	{mike, crmaccess.OpportunityRef(2), crmaccess.ActionEdit, true, crmaccess.ReasonInAccessList},
	{nadia, crmaccess.OpportunityRef(5), crmaccess.ActionChangeAccess, true, crmaccess.ReasonCreator},
	{mike, crmaccess.OpportunityRef(5), crmaccess.ActionDelete, true, crmaccess.ReasonResponsible},
	{mike, crmaccess.OpportunityRef(5), crmaccess.ActionChangeAccess, false, crmaccess.ReasonDenied},
	{mike, crmaccess.OpportunityRef(2), crmaccess.ActionChangeAccess, false, crmaccess.ReasonDenied},
	{lin, crmaccess.OpportunityRef(2), crmaccess.ActionRead, false, crmaccess.ReasonDenied},
	{lin, crmaccess.ContactRef(1), crmaccess.ActionEdit, true, crmaccess.ReasonSharedReadWrite},
	{lin, crmaccess.ContactRef(3), crmaccess.ActionRead, true, crmaccess.ReasonPublic},
	{lin, crmaccess.ContactRef(3), crmaccess.ActionEdit, false, crmaccess.ReasonDenied},
	{omar, crmaccess.ContactRef(3), crmaccess.ActionChangeAccess, true, crmaccess.ReasonInManagerList},
	{omar, crmaccess.ContactRef(15), crmaccess.ActionDelete, false, crmaccess.ReasonDenied},
	{nobody, crmaccess.OpportunityRef(1), crmaccess.ActionRead, false, accesstest.ReasonUnauthorized},
}

func TestAssertionsPassOnTheRuleAndFailWithTheReasonOtherwise(t *testing.T) {
	svc := demoService(t)
	for _, d := range demoDecisions {
		for _, kind := range []string{"named", "generic"} {
			pair := byAction[d.action]
			if kind == "generic" {
				pair = generic(d.action)
			}
			right, wrong := pair[0], pair[1]
			rightWord, wrongWord := "may", "may not"
			if !d.allowed {
				right, wrong = wrong, right
				rightWord, wrongWord = wrongWord, rightWord
			}
			verb := string(d.action)
			if d.action == crmaccess.ActionChangeAccess {
				verb = "change access of"
			}
			name := fmt.Sprintf("%s %s %s %v (%s)", d.user[:8], rightWord, d.action, d.ref, kind)
			t.Run(name, func(t *testing.T) {
				var r recorder
				if !right(&r, svc, d.user, d.ref) || len(r.errors) != 0 {
					t.Errorf("the assertion that holds failed: %q", r.errors)
				}
				r = recorder{}
				if wrong(&r, svc, d.user, d.ref) {
					t.Errorf("the assertion that does not hold returned true")
				}
				want := fmt.Sprintf("accesstest: want user %s %s %s %v, but user %s %s: %s",
					d.user, wrongWord, verb, d.ref, d.user, rightWord, d.reason)
				if len(r.errors) != 1 || r.errors[0] != want {
					t.Errorf("reported %q,\nwant %q", r.errors, want)
				}
				if r.helpers == 0 {
					t.Errorf("the assertion did not call Helper")
				}
			})
		}
	}
}

func TestAssertionsFailBothWaysWhenTheCheckFails(t *testing.T) {
	svc := demoService(t)
	bad := crmaccess.Ref{Kind: "invoice", ID: 1}
	for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess} {
		for i, assert := range byAction[a] {
			var r recorder
			if assert(&r, svc, ada, bad) {
				t.Errorf("%s assertion %d on %v returned true", a, i, bad)
			}
			if len(r.errors) != 1 || !strings.Contains(r.errors[0], "the check failed") {
				t.Errorf("%s assertion %d on %v reported %q, want one failed check", a, i, bad, r.errors)
			}
		}
	}
}

// An assertion holds on the state after a write of the same Service.
func TestAssertionsSeeTheServicesWrites(t *testing.T) {
	svc := demoService(t)
	accesstest.MayNotRead(t, svc, lin, crmaccess.OpportunityRef(2))
	if _, err := svc.SetOpportunityAccess(t.Context(), nadia, 2, true, []string{lin}); err != nil {
		t.Fatal(err)
	}
	accesstest.MayRead(t, svc, lin, crmaccess.OpportunityRef(2))
	accesstest.MayNotRead(t, svc, mike, crmaccess.OpportunityRef(2)) // the list is set, not merged
}

// A Service that does not follow in the background decides on what it
// loaded until asked for a fresher state: AtLeast asks.
func TestAtLeastDecidesOnTheWritesState(t *testing.T) {
	writer, path := demoServiceAt(t)
	reader := serviceOver(t, path, &crmaccess.Options{PollInterval: -1})
	res, err := writer.SetOpportunityAccess(t.Context(), nadia, 2, true, []string{lin})
	if err != nil {
		t.Fatal(err)
	}
	accesstest.MayNotRead(t, reader, lin, crmaccess.OpportunityRef(2)) // not followed yet
	accesstest.MayRead(t, accesstest.AtLeast(reader, res.Token), lin, crmaccess.OpportunityRef(2))
}
