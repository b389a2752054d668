package policy_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// A stage applies what Apply of the same rules would, part by part, all at
// once: nothing a check sees changes before Apply, and a user the stage
// names for the first time (a made-up user released before) gets a working
// id. A rule the model does not know fails the stage, before and at Apply,
// and memory stays as it was.
func TestStageAppliesWhatApplyWould(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	opps, contacts := randomRecords(r, 300, testUsers)
	staged, direct := newEngine(t), newEngine(t)
	for _, e := range []*policy.Engine{staged, direct} {
		if err := e.Load(rulesOf(opps, contacts, user(3))); err != nil {
			t.Fatal(err)
		}
	}
	next, nextContacts := randomRecords(r, 300, testUsers)
	fresh := "cccccccc-0000-0000-0000-000000000001" // named by no rule yet
	next[5].IsPrivate, next[5].AccessList = true, []string{fresh}
	st := staged.StageParts()
	var removeAll, addAll []crmaccess.Rule
	for i := 0; i < len(opps); i += 50 { // parts of 50 records of each kind
		var remove, add []crmaccess.Rule
		for j := i; j < i+50; j++ {
			remove = append(remove, policy.OpportunityRules(&opps[j])...)
			remove = append(remove, policy.ContactRules(&contacts[j])...)
			add = append(add, policy.OpportunityRules(&next[j])...)
			add = append(add, policy.ContactRules(&nextContacts[j])...)
		}
		if err := st.Add(remove, add); err != nil {
			t.Fatal(err)
		}
		removeAll, addAll = append(removeAll, remove...), append(addAll, add...)
	}
	if err := direct.Apply(removeAll, addAll); err != nil {
		t.Fatal(err)
	}
	ref := crmaccess.OpportunityRef(next[5].ID)
	if st := staged.Access(ref); slices.Contains(st.List, fresh) {
		t.Fatal("a staged rule is visible before Apply")
	}
	if err := st.Apply(); err != nil {
		t.Fatal(err)
	}
	for i := range next {
		for _, ref := range []crmaccess.Ref{crmaccess.OpportunityRef(next[i].ID), crmaccess.ContactRef(nextContacts[i].ID)} {
			a, b := staged.Access(ref), direct.Access(ref)
			if a.IsPrivate != b.IsPrivate || a.ShareType != b.ShareType || !slices.Equal(a.List, b.List) ||
				a.Creator != b.Creator || a.Responsible != b.Responsible {
				t.Fatalf("%v: staged %+v, applied %+v", ref, a, b)
			}
		}
	}
	for u := range testUsers {
		for i := range next {
			ref := crmaccess.OpportunityRef(next[i].ID)
			a, _ := staged.Decide(user(u), ref, crmaccess.ActionRead)
			b, _ := direct.Decide(user(u), ref, crmaccess.ActionRead)
			if a.Allowed != b.Allowed {
				t.Fatalf("user %d on %v: staged %v, applied %v", u, ref, a.Allowed, b.Allowed)
			}
		}
	}
	if got := staged.Access(ref).List; !slices.Equal(got, []string{fresh}) {
		t.Fatalf("the fresh user's list: %v", got)
	}

	bad := staged.StageParts()
	if err := bad.Add(nil, []crmaccess.Rule{{Type: "p9", From: "contact:1", To: user(1)}}); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
		t.Fatalf("an unknown rule staged: %v", err)
	}
	before := staged.Access(crmaccess.ContactRef(1))
	if err := bad.Add(nil, policy.ContactRules(&crmaccess.Contact{ID: 1, ManagerList: []string{user(9)}})); err == nil {
		t.Fatal("a failed stage takes more parts")
	}
	if err := bad.Apply(); err == nil {
		t.Fatal("a failed stage applied")
	}
	if after := staged.Access(crmaccess.ContactRef(1)); !slices.Equal(before.List, after.List) || before.ShareType != after.ShareType {
		t.Fatalf("a failed stage changed memory: %+v → %+v", before, after)
	}
	if err := st.Apply(); err == nil {
		t.Fatal("a stage applied twice")
	}
}
