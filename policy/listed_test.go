package policy_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// listedOnByAccess is ListedOn worked out the slow way: every record's
// access read back, its list searched.
func listedOnByAccess(e *policy.Engine, opps []crmaccess.Opportunity, contacts []crmaccess.Contact, u string) []crmaccess.Ref {
	var out []crmaccess.Ref
	for _, c := range contacts {
		if ref := crmaccess.ContactRef(c.ID); slices.Contains(e.Access(ref).List, u) {
			out = append(out, ref)
		}
	}
	for _, o := range opps {
		if ref := crmaccess.OpportunityRef(o.ID); slices.Contains(e.Access(ref).List, u) {
			out = append(out, ref)
		}
	}
	return out
}

// ListedOn follows every way a list changes: the load (Load, Replace),
// records made private or public, lists changed, records gone, and a
// user's lines removed from every record at once.
func TestListedOnFollowsEveryWrite(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	opps, contacts := randomRecords(r, 500, testUsers)
	e := newEngine(t)
	if err := e.Load(rulesOf(opps, contacts)); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		for i := range testUsers + 2 { // two users no line names
			u := user(i)
			if got, want := e.ListedOn(u), listedOnByAccess(e, opps, contacts, u); !slices.Equal(got, want) {
				t.Fatalf("%s: ListedOn(%s) = %v, want %v", step, u, got, want)
			}
		}
	}
	check("loaded")
	for round := range 20 {
		var remove, add []crmaccess.Rule
		oppPicks, contactPicks := r.Perm(len(opps))[:30], r.Perm(len(contacts))[:30] // each record once a write
		for n := range 30 {
			i := oppPicks[n]
			before := policy.OpportunityRules(&opps[i])
			switch r.IntN(3) {
			case 0: // deleted
				opps[i] = crmaccess.Opportunity{ID: opps[i].ID}
				opps[i].IsPrivate = true
			default:
				fresh, _ := randomRecords(r, 1, testUsers)
				fresh[0].ID = opps[i].ID
				opps[i] = fresh[0]
			}
			rm, ad := diff(before, policy.OpportunityRules(&opps[i]))
			remove, add = append(remove, rm...), append(add, ad...)
			j := contactPicks[n]
			before = policy.ContactRules(&contacts[j])
			_, fresh := randomRecords(r, 1, testUsers)
			fresh[0].ID = contacts[j].ID
			contacts[j] = fresh[0]
			rm, ad = diff(before, policy.ContactRules(&contacts[j]))
			remove, add = append(remove, rm...), append(add, ad...)
		}
		if err := e.Apply(remove, add); err != nil {
			t.Fatal(err)
		}
		check("after a write")
		if round%5 == 4 {
			// One user taken off every list, as RemoveUser does.
			u := user(r.IntN(testUsers))
			var remove []crmaccess.Rule
			for _, ref := range e.ListedOn(u) {
				remove = append(remove, crmaccess.Rule{Type: "g", From: policy.Object(ref), To: u})
			}
			if len(remove) == 0 {
				t.Fatalf("user %s is on no list", u)
			}
			if err := e.Apply(remove, nil); err != nil {
				t.Fatal(err)
			}
			for i := range opps {
				opps[i].AccessList = slices.DeleteFunc(opps[i].AccessList, func(m string) bool { return m == u })
			}
			for i := range contacts {
				contacts[i].ManagerList = slices.DeleteFunc(contacts[i].ManagerList, func(m string) bool { return m == u })
			}
			if got := e.ListedOn(u); len(got) != 0 {
				t.Fatalf("ListedOn(%s) after its removal: %v", u, got)
			}
			check("after a user's removal")
		}
	}
	// Replace builds the index afresh.
	all := rulesOf(opps, contacts)
	if err := e.Replace(func(add func([]crmaccess.Rule) error) error { return add(all) }); err != nil {
		t.Fatal(err)
	}
	check("replaced")
}

// diff returns the rules of before not in after, and of after not in
// before.
func diff(before, after []crmaccess.Rule) (remove, add []crmaccess.Rule) {
	for _, r := range before {
		if !slices.Contains(after, r) {
			remove = append(remove, r)
		}
	}
	for _, r := range after {
		if !slices.Contains(before, r) {
			add = append(add, r)
		}
	}
	return remove, add
}
