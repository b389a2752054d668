package policy_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

func user(i int) string { return fmt.Sprintf("aaaaaaaa-0000-0000-0000-%012d", i) }

// newEngine returns an engine that knows the test users, active.
func newEngine(t testing.TB) *policy.Engine {
	t.Helper()
	e, err := policy.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(activeUsers()); err != nil {
		t.Fatal(err)
	}
	return e
}

// randomRecords makes opportunities and contacts of every access shape.
func randomRecords(r *rand.Rand, n, users int) ([]crmaccess.Opportunity, []crmaccess.Contact) {
	list := func() []string {
		var l []string
		for range r.IntN(4) {
			l = append(l, user(r.IntN(users)))
		}
		slices.Sort(l)
		return slices.Compact(l)
	}
	var opps []crmaccess.Opportunity
	var contacts []crmaccess.Contact
	for i := 1; i <= n; i++ {
		o := crmaccess.Opportunity{ID: int64(i), IsPrivate: r.IntN(2) == 0}
		if o.IsPrivate {
			o.AccessList = list()
		}
		if r.IntN(5) > 0 {
			o.CreateBy = user(r.IntN(users))
		}
		if r.IntN(5) > 0 {
			o.Responsible = user(r.IntN(users))
		}
		opps = append(opps, o)
		contacts = append(contacts, crmaccess.Contact{ID: int64(i), ShareType: crmaccess.ShareType(r.IntN(3)), ManagerList: list()})
	}
	return opps, contacts
}

func rulesOf(opps []crmaccess.Opportunity, contacts []crmaccess.Contact, admins ...string) []crmaccess.Rule {
	var rules []crmaccess.Rule
	for i := range opps {
		rules = append(rules, policy.OpportunityRules(&opps[i])...)
	}
	for i := range contacts {
		rules = append(rules, policy.ContactRules(&contacts[i])...)
	}
	for _, a := range admins {
		rules = append(rules, policy.AdminRule(a))
	}
	return append(rules, activeUsers()...)
}

// testUsers is how many users the tests name: user(0) to user(testUsers-1)
// are active users of the store; others are unknown.
const testUsers = 64

// activeUsers are the status lines of the test users.
func activeUsers() []crmaccess.Rule {
	var rules []crmaccess.Rule
	for i := range testUsers {
		r, _ := policy.StatusRule(user(i), crmaccess.UserActive)
		rules = append(rules, r)
	}
	return rules
}

// A stock Casbin enforcer with the embedded model and the same lines gives
// the same decisions as the Engine's native checks and as Casbin's Enforce
// over the Engine's index: the rules are plain Casbin policies.
func TestEngineDecidesAsStockCasbin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const users = 12
	opps, contacts := randomRecords(r, 60, users)
	rules := rulesOf(opps, contacts, user(0))

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
	for _, rule := range rules {
		if _, err := stock.AddNamedGroupingPolicy(rule.Type, rule.From, rule.To); err != nil {
			t.Fatal(err)
		}
	}
	for i := range opps {
		for u := range users {
			for _, ref := range []crmaccess.Ref{crmaccess.OpportunityRef(opps[i].ID), crmaccess.ContactRef(contacts[i].ID)} {
				for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess} {
					d, err := eng.Decide(user(u), ref, a)
					if err != nil {
						t.Fatal(err)
					}
					act := string(a)
					want, err := stock.Enforce(user(u), policy.Object(ref), act)
					if err != nil {
						t.Fatal(err)
					}
					if d.Allowed != want {
						t.Fatalf("%s %s %v: engine %v, stock casbin %v", user(u), a, ref, d.Allowed, want)
					}
					audit, err := eng.Enforce(user(u), policy.Object(ref), act)
					if err != nil || audit != want {
						t.Fatalf("%s %s %v: Enforce over the index %v (%v), stock casbin %v", user(u), a, ref, audit, err, want)
					}
				}
			}
		}
	}
}

// Entity → rules → entity gives back the record's access.
func TestAccessRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	opps, contacts := randomRecords(r, 200, 8)
	eng := newEngine(t)
	if err := eng.Load(rulesOf(opps, contacts)); err != nil {
		t.Fatal(err)
	}
	for _, o := range opps {
		st := eng.Access(crmaccess.OpportunityRef(o.ID))
		if st.IsPrivate != o.IsPrivate || !slices.Equal(st.List, o.AccessList) {
			t.Fatalf("opportunity %d: %+v back from rules, want private=%v list=%v", o.ID, st, o.IsPrivate, o.AccessList)
		}
	}
	for _, c := range contacts {
		st := eng.Access(crmaccess.ContactRef(c.ID))
		if st.ShareType != c.ShareType || st.IsPrivate != c.IsPrivate() || !slices.Equal(st.List, c.ManagerList) {
			t.Fatalf("contact %d: %+v back from rules, want %v %v", c.ID, st, c.ShareType, c.ManagerList)
		}
	}
}

func TestApplyChangesDecisionsAtOnce(t *testing.T) {
	eng := newEngine(t)
	o := crmaccess.Opportunity{ID: 1, IsPrivate: true, AccessList: []string{user(1)}}
	if err := eng.Load(policy.OpportunityRules(&o)); err != nil {
		t.Fatal(err)
	}
	ref := crmaccess.OpportunityRef(1)
	// Ask first, so that Casbin memoizes the answer.
	if d, _ := eng.Decide(user(2), ref, crmaccess.ActionRead); d.Allowed {
		t.Fatal("user 2 allowed before the change")
	}
	next := o
	next.AccessList = []string{user(2)}
	if err := eng.Apply(policy.OpportunityRules(&o), policy.OpportunityRules(&next)); err != nil {
		t.Fatal(err)
	}
	if d, _ := eng.Decide(user(2), ref, crmaccess.ActionRead); !d.Allowed {
		t.Fatal("user 2 denied after the change: a stale memo")
	}
	if d, _ := eng.Decide(user(1), ref, crmaccess.ActionRead); d.Allowed {
		t.Fatal("user 1 allowed after removal")
	}
}

// Casbin's Enforce over the index memoizes answers; a write must drop them.
func TestEnforceSeesWritesAtOnce(t *testing.T) {
	eng := newEngine(t)
	obj := policy.Object(crmaccess.OpportunityRef(1))
	if ok, err := eng.Enforce(user(2), obj, "read"); err != nil || ok {
		t.Fatalf("before: %v %v", ok, err)
	}
	o := crmaccess.Opportunity{ID: 1, IsPrivate: true, AccessList: []string{user(2)}}
	if err := eng.Apply(nil, policy.OpportunityRules(&o)); err != nil {
		t.Fatal(err)
	}
	if ok, err := eng.Enforce(user(2), obj, "read"); err != nil || !ok {
		t.Fatalf("after: %v %v", ok, err)
	}
}

// Checks run while writes apply; under -race this proves the locking, and
// every answer is either the state before a write or after it.
func TestChecksDuringWrites(t *testing.T) {
	eng := newEngine(t)
	ref := crmaccess.OpportunityRef(1)
	a := crmaccess.Opportunity{ID: 1, IsPrivate: true, AccessList: []string{user(1), user(2)}}
	b := crmaccess.Opportunity{ID: 1, IsPrivate: true, AccessList: []string{user(3), user(4)}}
	if err := eng.Load(policy.OpportunityRules(&a)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan string, 1)
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			d1, _ := eng.Decide(user(1), ref, crmaccess.ActionRead)
			d3, _ := eng.Decide(user(3), ref, crmaccess.ActionRead)
			st := eng.Access(ref)
			if len(st.List) != 2 {
				select {
				case errs <- fmt.Sprintf("half-applied list %v", st.List):
				default:
				}
				return
			}
			_ = d1.Allowed || d3.Allowed
		}
	}()
	from, to := a, b
	for i := 0; i < 200; i++ {
		if err := eng.Apply(policy.OpportunityRules(&from), policy.OpportunityRules(&to)); err != nil {
			t.Fatal(err)
		}
		from, to = to, from
	}
	<-done
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
}

func TestLoadRejectsForeignRules(t *testing.T) {
	for _, r := range []crmaccess.Rule{
		{Type: "p", From: user(1), To: "opportunity:1"},
		{Type: "g", From: "invoice:1", To: user(1)},
		{Type: "g", From: "opportunity:0", To: user(1)},
		{Type: "g", From: "opportunity:01", To: user(1)},
		{Type: "g2", From: "contact:1", To: user(1)},
		{Type: "g4", From: user(1), To: "crm:root"},
		{Type: "g", From: "opportunity:1", To: ""},
	} {
		eng := newEngine(t)
		if err := eng.Load([]crmaccess.Rule{r}); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("Load(%v) = %v, want EINVALID", r, err)
		}
	}
}

func TestDecideRefusesMarkersAsUsers(t *testing.T) {
	eng := newEngine(t)
	if err := eng.Load([]crmaccess.Rule{policy.AdminRule(user(1))}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"crm:admin", "crm:public", "opportunity:1", "AAAAAAAA-0000-0000-0000-000000000001"} {
		if _, err := eng.Decide(u, crmaccess.OpportunityRef(1), crmaccess.ActionRead); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("Decide(%q) = %v, want EINVALID", u, err)
		}
	}
}

func FuzzOpportunityRoundTrip(f *testing.F) {
	f.Add(int64(1), true, uint8(3), uint8(1), uint8(2))
	f.Add(int64(7), false, uint8(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, id int64, private bool, a, b, c uint8) {
		if id <= 0 {
			return
		}
		o := crmaccess.Opportunity{ID: id, IsPrivate: private, CreateBy: user(int(c))}
		if private {
			l := []string{user(int(a)), user(int(b))}
			slices.Sort(l)
			o.AccessList = slices.Compact(l)
		}
		eng := newEngine(t)
		// The users are users of the store, whatever their number.
		active, _ := policy.StatusRule(o.CreateBy, crmaccess.UserActive)
		if err := eng.Load(append(policy.OpportunityRules(&o), active)); err != nil {
			t.Fatal(err)
		}
		st := eng.Access(crmaccess.OpportunityRef(id))
		if st.IsPrivate != o.IsPrivate || !slices.Equal(st.List, o.AccessList) {
			t.Fatalf("round trip: %+v, want %+v", st, o)
		}
		if d, err := eng.Decide(user(int(c)), crmaccess.OpportunityRef(id), crmaccess.ActionChangeAccess); err != nil || !d.Allowed {
			t.Fatalf("creator may not change access: %+v %v", d, err)
		}
	})
}

// A record with more links than fit inline moves to the overflow and back
// without losing any.
func TestLongListsSpillAndShrink(t *testing.T) {
	eng := newEngine(t)
	ref := crmaccess.OpportunityRef(9)
	var long []string
	for i := range 12 {
		long = append(long, user(i))
	}
	prev := crmaccess.Opportunity{ID: 9, IsPrivate: true, CreateBy: user(50), Responsible: user(51)}
	for _, n := range []int{12, 4, 7, 1, 12, 0} {
		next := prev
		next.AccessList = long[:n]
		if err := eng.Apply(policy.OpportunityRules(&prev), policy.OpportunityRules(&next)); err != nil {
			t.Fatal(err)
		}
		if st := eng.Access(ref); !slices.Equal(st.List, next.AccessList) || !st.IsPrivate {
			t.Fatalf("n=%d: list %v", n, st.List)
		}
		for i, u := range long {
			d, err := eng.Decide(u, ref, crmaccess.ActionEdit)
			if err != nil || d.Allowed != (i < n) {
				t.Fatalf("n=%d: user %d: %+v %v", n, i, d, err)
			}
		}
		if d, _ := eng.Decide(user(51), ref, crmaccess.ActionRead); d.Reason != crmaccess.ReasonResponsible {
			t.Fatalf("n=%d: responsible: %+v", n, d)
		}
		prev = next
	}
}

// Users that no line names any more are forgotten: lists of made-up users
// written and removed again do not grow memory.
func TestRemovedUsersAreReleased(t *testing.T) {
	eng := newEngine(t)
	base := crmaccess.Opportunity{ID: 1, CreateBy: user(1)}
	if err := eng.Load(policy.OpportunityRules(&base)); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	round := func(r int) {
		next := base
		next.IsPrivate = true
		for i := range 5000 {
			next.AccessList = append(next.AccessList, fmt.Sprintf("bbbbbbbb-%04x-0000-0000-%012d", r, i))
		}
		slices.Sort(next.AccessList)
		// The made-up users are users of the store for the round.
		var statuses []crmaccess.Rule
		for _, u := range next.AccessList {
			r, _ := policy.StatusRule(u, crmaccess.UserActive)
			statuses = append(statuses, r)
		}
		if err := eng.Apply(policy.OpportunityRules(&base), append(policy.OpportunityRules(&next), statuses...)); err != nil {
			t.Fatal(err)
		}
		if d, _ := eng.Decide(next.AccessList[7], crmaccess.OpportunityRef(1), crmaccess.ActionRead); !d.Allowed {
			t.Fatal("a listed user is denied")
		}
		if err := eng.Apply(append(policy.OpportunityRules(&next), statuses...), policy.OpportunityRules(&base)); err != nil {
			t.Fatal(err)
		}
		if d, _ := eng.Decide(next.AccessList[7], crmaccess.OpportunityRef(1), crmaccess.ActionRead); d.Allowed {
			t.Fatalf("a removed user: %+v", d) // no longer a user: not even the public record
		}
	}
	round(0)
	h0 := heap()
	rounds := sized(8, 20)
	for r := 1; r <= rounds; r++ {
		round(r)
	}
	// Ids keep ~20 B each (~100 KB a round); interned users not released
	// would keep ~180 B each (~900 KB a round).
	if h := heap(); h > h0 && h-h0 > uint64(rounds)*300<<10 {
		t.Errorf("heap grew by %d KB over %d rounds of 5,000 made-up users", (h-h0)>>10, rounds)
	}
	// The creator, still named by a line, is still known.
	if d, _ := eng.Decide(user(1), crmaccess.OpportunityRef(1), crmaccess.ActionChangeAccess); !d.Allowed {
		t.Fatal("the creator was released")
	}
	// A user released and named again gets a fresh id and works.
	again := base
	again.IsPrivate, again.AccessList = true, []string{"bbbbbbbb-0003-0000-0000-000000000007"}
	if err := eng.Apply(policy.OpportunityRules(&base), policy.OpportunityRules(&again)); err != nil {
		t.Fatal(err)
	}
	if st := eng.Access(crmaccess.OpportunityRef(1)); !slices.Equal(st.List, again.AccessList) {
		t.Fatalf("list %v", st.List)
	}
}

// Records with far-apart ids (kept aside) and dense ones (kept by index)
// answer alike, also when dense storage grows over ids kept aside, and
// removed records are gone.
func TestSparseAndDenseRecords(t *testing.T) {
	eng := newEngine(t)
	ids := []int64{1 << 40, 3_000_000, 1 << 62, 70_000}
	for i := int64(1); i <= 200_000; i += 7 {
		ids = append(ids, i)
	}
	opp := func(id int64) crmaccess.Opportunity {
		return crmaccess.Opportunity{ID: id, IsPrivate: true, AccessList: []string{user(int(id % 50))}}
	}
	for _, id := range ids {
		o := opp(id)
		if err := eng.Apply(nil, policy.OpportunityRules(&o)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(id int64, want bool) {
		t.Helper()
		d, err := eng.Decide(user(int(id%50)), crmaccess.OpportunityRef(id), crmaccess.ActionRead)
		if err != nil || d.Allowed != want {
			t.Fatalf("opportunity %d: %+v %v, want allowed=%v", id, d, err, want)
		}
		if d, _ := eng.Decide(user(int(id%50)+1), crmaccess.OpportunityRef(id), crmaccess.ActionRead); d.Allowed {
			t.Fatalf("opportunity %d: another user allowed", id)
		}
	}
	for _, id := range ids {
		check(id, true)
	}
	check(2, false) // never written
	for _, id := range ids[:4] {
		o := opp(id)
		if err := eng.Apply(policy.OpportunityRules(&o), nil); err != nil {
			t.Fatal(err)
		}
		check(id, false)
		if st := eng.Access(crmaccess.OpportunityRef(id)); len(st.List) != 0 {
			t.Fatalf("opportunity %d: list %v after removal", id, st.List)
		}
	}
	check(8, true)
}
