package policy_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// shapes makes n opportunities and n contacts of every access shape, some
// with far ids and some with long lists (kept out of line).
func shapes(r *rand.Rand, n, users int) ([]crmaccess.Opportunity, []crmaccess.Contact) {
	opps, contacts := randomRecords(r, n, users)
	far := []int64{1 << 40, 1<<40 + 1, 1 << 62, 3_000_000}
	for i, id := range far {
		opps[i*7].ID, contacts[i*5].ID = id, id
	}
	long := func() []string {
		var l []string
		for u := range users {
			if r.IntN(2) == 0 {
				l = append(l, user(u))
			}
		}
		return l
	}
	for i := 3; i < n; i += 17 {
		opps[i].IsPrivate, opps[i].AccessList = true, long()
		contacts[i].ShareType, contacts[i].ManagerList = crmaccess.ShareNone, long()
	}
	return opps, contacts
}

// wantGranted is what Decide allows user, over the records of ids.
func wantGranted(t *testing.T, eng *policy.Engine, u string, kind crmaccess.Kind, a crmaccess.Action, ids []int64) []int64 {
	t.Helper()
	var want []int64
	for _, id := range ids {
		d, err := eng.Decide(u, crmaccess.Ref{Kind: kind, ID: id}, a)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			want = append(want, id)
		}
	}
	return want
}

// checkGranted holds Granted, whole and paged by its cursor, to Decide for
// every user who is not an admin (Decide allows an admin every record,
// which lines do not list), kind and action.
func checkGranted(t *testing.T, eng *policy.Engine, users int, ids map[crmaccess.Kind][]int64) {
	t.Helper()
	for u := range users + 1 { // user(users) is on no line
		if eng.IsAdmin(user(u)) {
			continue
		}
		for _, kind := range []crmaccess.Kind{crmaccess.KindOpportunity, crmaccess.KindContact} {
			sorted := slices.Sorted(slices.Values(ids[kind]))
			for _, a := range allActions {
				want := wantGranted(t, eng, user(u), kind, a, sorted)
				got, total, err := eng.Granted(user(u), kind, a, 0, 1<<30)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) || total != len(want) {
					t.Fatalf("user %d %s %s: got %v (total %d), want %v", u, kind, a, got, total, want)
				}
				var paged []int64
				after := int64(0)
				for range len(want)/7 + 1 {
					page, total, err := eng.Granted(user(u), kind, a, after, 7)
					if err != nil || total != len(want) {
						t.Fatalf("user %d %s %s after %d: total %d, %v", u, kind, a, after, total, err)
					}
					paged = append(paged, page...)
					if len(page) < 7 {
						break
					}
					after = page[len(page)-1]
				}
				if !slices.Equal(paged, want) {
					t.Fatalf("user %d %s %s: paged %v, want %v", u, kind, a, paged, want)
				}
			}
		}
	}
}

// Granted lists exactly the records Decide allows a user who is not an
// admin, in id order, paged by its cursor, with the total: after a load,
// after changes of every shape and removals (the totals follow each write),
// and after a whole replacement.
func TestGrantedIsWhatDecideAllows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const users, n = 9, 150
	opps, contacts := shapes(r, n, users)
	eng := newEngine(t)
	if err := eng.Load(rulesOf(opps, contacts, user(0))); err != nil {
		t.Fatal(err)
	}
	ids := func() map[crmaccess.Kind][]int64 {
		m := map[crmaccess.Kind][]int64{}
		for _, o := range opps {
			m[crmaccess.KindOpportunity] = append(m[crmaccess.KindOpportunity], o.ID)
		}
		for _, c := range contacts {
			m[crmaccess.KindContact] = append(m[crmaccess.KindContact], c.ID)
		}
		return m
	}
	checkGranted(t, eng, users, ids())

	for round := range 6 {
		more, moreContacts := shapes(r, n, users)
		for i := range 40 {
			j := r.IntN(n)
			o, c := more[i], moreContacts[i]
			o.ID, c.ID = opps[j].ID, contacts[j].ID
			if round%2 == 1 && i%4 == 0 { // removed: no lines at all
				o, c = crmaccess.Opportunity{ID: o.ID}, crmaccess.Contact{ID: c.ID}
			}
			if err := eng.Apply(
				append(policy.OpportunityRules(&opps[j]), policy.ContactRules(&contacts[j])...),
				append(policy.OpportunityRules(&o), policy.ContactRules(&c)...)); err != nil {
				t.Fatal(err)
			}
			opps[j], contacts[j] = o, c
		}
		// The admin role moves; admins are left out of the comparison.
		if err := eng.Apply([]crmaccess.Rule{policy.AdminRule(user(round))}, []crmaccess.Rule{policy.AdminRule(user(round + 1))}); err != nil {
			t.Fatal(err)
		}
		checkGranted(t, eng, users, ids())
	}

	again := newEngine(t)
	rules := rulesOf(opps, contacts)
	if err := again.Replace(func(add func([]crmaccess.Rule) error) error {
		for len(rules) > 0 {
			k := min(len(rules), 50)
			if err := add(rules[:k]); err != nil {
				return err
			}
			rules = rules[k:]
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkGranted(t, again, users, ids())
}

func TestGrantedRefusesBadArguments(t *testing.T) {
	eng := newEngine(t)
	for _, c := range []struct {
		name, user   string
		kind         crmaccess.Kind
		action       crmaccess.Action
		after, limit int64
	}{
		{"unknown kind", user(1), "deal", crmaccess.ActionRead, 0, 10},
		{"unknown action", user(1), crmaccess.KindContact, "write", 0, 10},
		{"marker as user", "crm:public", crmaccess.KindContact, crmaccess.ActionRead, 0, 10},
		{"upper-case user", "AAAAAAAA-0000-0000-0000-000000000001", crmaccess.KindContact, crmaccess.ActionRead, 0, 10},
		{"negative cursor", user(1), crmaccess.KindContact, crmaccess.ActionRead, -1, 10},
		{"negative limit", user(1), crmaccess.KindContact, crmaccess.ActionRead, 0, -1},
	} {
		if _, _, err := eng.Granted(c.user, c.kind, c.action, c.after, int(c.limit)); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("%s: %v, want EINVALID", c.name, err)
		}
	}
}

// A write becomes visible to Granted all at once: while records move
// between two states, every answer is one state's ids with that state's
// total, never a mix.
func TestGrantedDuringWrites(t *testing.T) {
	eng := newEngine(t)
	state := func(first bool) []crmaccess.Rule {
		var rules []crmaccess.Rule
		for id := int64(1); id <= 200; id++ {
			o := crmaccess.Opportunity{ID: id, IsPrivate: true}
			if (id%2 == 0) == first {
				o.AccessList = []string{user(1)}
			}
			if id > 150 && first {
				o.ID = id << 30 // far ids come and go
			}
			rules = append(rules, policy.OpportunityRules(&o)...)
		}
		return rules
	}
	a, b := state(true), state(false)
	if err := eng.Load(a); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		from, to := a, b
		for range 100 {
			if err := eng.Apply(from, to); err != nil {
				t.Error(err)
				return
			}
			from, to = to, from
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		ids, total, err := eng.Granted(user(1), crmaccess.KindOpportunity, crmaccess.ActionRead, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		even := len(ids) > 0 && ids[0]%2 == 0
		for _, id := range ids {
			if (id%2 == 0) != even || id > 1<<30 && !even {
				t.Fatalf("a mix of two states: %v", ids)
			}
		}
		if total != len(ids) || total != 100 {
			t.Fatalf("%d ids, total %d", len(ids), total)
		}
	}
}
