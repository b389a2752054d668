package policy_test

import (
	"fmt"
	"log"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// Translate a private opportunity into rules, load them into an engine with
// the users' status rules (only known, active users act) and decide checks;
// then make it public with Apply, as a commit would.
func Example() {
	const (
		mike  = "22222222-2222-4222-8222-222222222222" // the creator
		nadia = "33333333-3333-4333-8333-333333333333" // on the access list
		omar  = "44444444-4444-4444-8444-444444444444" // neither
	)
	private := crmaccess.Opportunity{ID: 1, CreateBy: mike, IsPrivate: true, AccessList: []string{mike, nadia}}
	rules := policy.OpportunityRules(&private)
	for _, r := range rules {
		fmt.Println(r.Type, r.From, r.To)
	}

	engine, err := policy.New()
	if err != nil {
		log.Fatal(err)
	}
	var statuses []crmaccess.Rule
	for _, u := range []string{mike, nadia, omar} {
		status, _ := policy.StatusRule(u, crmaccess.UserActive)
		statuses = append(statuses, status)
	}
	if err := engine.Load(append(statuses, rules...)); err != nil {
		log.Fatal(err)
	}
	ref := crmaccess.OpportunityRef(1)
	for _, check := range []struct {
		name, user string
		action     crmaccess.Action
	}{
		{"Nadia", nadia, crmaccess.ActionEdit},
		{"Nadia", nadia, crmaccess.ActionChangeAccess},
		{"Mike", mike, crmaccess.ActionChangeAccess},
		{"Omar", omar, crmaccess.ActionRead},
	} {
		d, err := engine.Decide(check.user, ref, check.action)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s: %v (%s)\n", check.name, check.action, d.Allowed, d.Reason)
	}

	public := private
	public.IsPrivate, public.AccessList = false, nil
	if err := engine.Apply(rules, policy.OpportunityRules(&public)); err != nil {
		log.Fatal(err)
	}
	d, _ := engine.Decide(omar, ref, crmaccess.ActionRead)
	fmt.Printf("made public, Omar read: %v (%s)\n", d.Allowed, d.Reason)
	// Output:
	// g opportunity:1 22222222-2222-4222-8222-222222222222
	// g opportunity:1 33333333-3333-4333-8333-333333333333
	// g2 opportunity:1 22222222-2222-4222-8222-222222222222
	// Nadia edit: true (in accessList)
	// Nadia access: false (denied)
	// Mike access: true (creator)
	// Omar read: false (denied)
	// made public, Omar read: true (public)
}
