package crmaccess_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// stressSecondsEnv overrides how long TestConcurrentWritesAndChecks runs
// (default 2 s; 5 s in the long tier).
const stressSecondsEnv = "CRMACCESS_STRESS_SECONDS"

// root is an admin added to the test portal for the concurrency test: it
// reads every record and grants roles, and is never revoked.
const root = "aaaaaaaa-0000-0000-0000-0000000000ff"

var (
	stressUsers = []string{admin, alice, bob, carol, dave, root}
	stressRefs  = []crmaccess.Ref{
		crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(2), crmaccess.OpportunityRef(3),
		crmaccess.ContactRef(1), crmaccess.ContactRef(2), crmaccess.ContactRef(3),
		crmaccess.ContactRef(4), crmaccess.ContactRef(5), crmaccess.ContactRef(6),
	}
	stressActions = []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess}
)

// accessKey is an access state in a comparable form.
func accessKey(s crmaccess.AccessState) string {
	return fmt.Sprintf("private=%v share=%d list=%v admin=%v", s.IsPrivate, s.ShareType, strings.Join(s.List, ","), s.Admin)
}

// accessOf reads every record's access and every user's role through s,
// as root, in the form of change records' states.
func accessOf(t *testing.T, s *crmaccess.Service) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, ref := range stressRefs {
		var st crmaccess.AccessState
		if ref.Kind == crmaccess.KindOpportunity {
			o, err := s.Opportunity(ctx, root, ref.ID)
			if err != nil {
				t.Fatal(err)
			}
			st = crmaccess.AccessState{IsPrivate: o.IsPrivate, List: o.AccessList}
		} else {
			cs, err := s.Contacts(ctx, root, []int64{ref.ID})
			if err != nil || len(cs) != 1 {
				t.Fatalf("Contacts(%d) = %v, %v", ref.ID, cs, err)
			}
			st = crmaccess.AccessState{IsPrivate: cs[0].ShareType == crmaccess.ShareNone, ShareType: cs[0].ShareType, List: cs[0].ManagerList}
		}
		out[ref.String()] = accessKey(st)
	}
	for _, u := range stressUsers {
		ok, err := s.IsAdmin(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		out["admin "+u] = accessKey(crmaccess.AccessState{Admin: ok})
	}
	return out
}

func allDecisions(t *testing.T, s *crmaccess.Service) map[string]crmaccess.Decision {
	t.Helper()
	out := map[string]crmaccess.Decision{}
	for _, u := range stressUsers {
		for _, ref := range stressRefs {
			for _, a := range stressActions {
				out[u+" "+ref.String()+" "+string(a)] = mustCheck(t, s, u, ref, a)
			}
		}
	}
	return out
}

// TestConcurrentWritesAndChecks runs writers (opportunity access, contact
// filters, admin grants and revokes) and checkers on the same records at
// once, for a few seconds. No call fails with an internal error (a busy or
// locked database); afterwards the memory of the service equals the
// database (a service opened on it decides the same), and replaying the
// change records in Seq order from the initial state gives every record's
// state before each change and the final state: the writes took effect in
// one serial order and none was lost.
func TestConcurrentWritesAndChecks(t *testing.T) {
	duration := time.Duration(size(t, stressSecondsEnv, 2, 5)) * time.Second
	ctx := context.Background()

	path := filepath.Join(t.TempDir(), "crm.db")
	p := openPortal(t, path)
	fx := portalFixture(t)
	fx.Users = append(fx.Users, crmaccess.User{ID: root, DisplayName: "Root"})
	fx.Admins = append(fx.Admins, root)
	if _, err := p.Import(ctx, fx); err != nil {
		t.Fatal(err)
	}
	initial := accessOf(t, p.Service)

	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		ops      = map[string]*atomic.Int64{}
		refused  atomic.Int64 // forbidden or not found: answers, not failures
	)
	for _, name := range []string{"SetOpportunityAccess", "SetContactsAccess", "GrantAdmin", "RevokeAdmin", "Check", "Opportunity", "Contacts", "IsAdmin"} {
		ops[name] = &atomic.Int64{}
	}
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	// outcome counts a call and keeps an error that is not an answer.
	outcome := func(op string, err error) {
		ops[op].Add(1)
		switch crmaccess.ErrorCode(err) {
		case "":
		case crmaccess.EFORBIDDEN, crmaccess.ENOTFOUND:
			refused.Add(1)
		default:
			fail("%s: %v", op, err)
		}
	}
	pick := func(rng *rand.Rand, from []string) []string {
		var out []string
		for _, u := range from {
			if rng.IntN(2) == 0 {
				out = append(out, u)
			}
		}
		return out
	}
	worker := func(seed uint64, body func(rng *rand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			for !stop.Load() {
				body(rng)
			}
		}()
	}
	people := []string{admin, alice, bob, carol, dave}

	// Writers: opportunity access (as creator, admin, or someone refused).
	for w := range 2 {
		worker(uint64(10+w), func(rng *rand.Rand) {
			actor := []string{alice, alice, admin, bob}[rng.IntN(4)]
			id := int64(1 + rng.IntN(3))
			_, err := p.SetOpportunityAccess(ctx, actor, id, rng.IntN(3) > 0, pick(rng, people))
			outcome("SetOpportunityAccess", err)
		})
	}
	// Writers: contact filters over the same contacts, by users who may
	// edit some of them.
	tags := []string{"vip", "lead", "partner"}
	for w := range 2 {
		worker(uint64(20+w), func(rng *rand.Rand) {
			actor := []string{admin, alice, bob, root}[rng.IntN(4)]
			f := crmaccess.ContactFilter{Tags: pick(rng, tags), ListView: crmaccess.ListView(rng.IntN(4))}
			_, err := p.SetContactsAccess(ctx, actor, f, rng.IntN(2) == 0, pick(rng, people))
			outcome("SetContactsAccess", err)
		})
	}
	// A writer of roles.
	worker(30, func(rng *rand.Rand) {
		u := []string{admin, bob, dave}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			_, err := p.GrantAdmin(ctx, root, u)
			outcome("GrantAdmin", err)
		} else {
			_, err := p.RevokeAdmin(ctx, root, u)
			outcome("RevokeAdmin", err)
		}
	})
	// Checkers and readers on the same records.
	for w := range 4 {
		worker(uint64(40+w), func(rng *rand.Rand) {
			u := stressUsers[rng.IntN(len(stressUsers))]
			ref := stressRefs[rng.IntN(len(stressRefs))]
			switch rng.IntN(4) {
			case 0:
				_, err := p.Opportunity(ctx, u, int64(1+rng.IntN(3)))
				outcome("Opportunity", err)
			case 1:
				_, err := p.Contacts(ctx, u, []int64{1, 2, 3, 4, 5, 6})
				outcome("Contacts", err)
			case 2:
				_, err := p.IsAdmin(ctx, u)
				outcome("IsAdmin", err)
			default:
				_, err := p.Check(ctx, u, ref, stressActions[rng.IntN(len(stressActions))])
				outcome("Check", err)
			}
		})
	}
	time.Sleep(duration)
	stop.Store(true)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}

	// Memory equals the database.
	final := accessOf(t, p.Service)
	finalDecisions := allDecisions(t, p.Service)
	reopened := openPortal(t, path).Service
	if d := diffMaps(final, accessOf(t, reopened)); d != "" {
		t.Errorf("the database holds other access than memory:\n%s", d)
	}
	if d := diffMaps(finalDecisions, allDecisions(t, reopened)); d != "" {
		t.Errorf("a service opened on the database decides otherwise:\n%s", d)
	}

	// The change records, in Seq order, replay from the initial state to the
	// final one, each change starting where the previous one of its record
	// ended.
	var log []crmaccess.Change
	for _, ref := range stressRefs {
		ch, err := reopened.Changes(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, ch...)
	}
	for _, u := range stressUsers {
		ch, err := reopened.AdminChanges(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, ch...)
	}
	slices.SortFunc(log, func(a, b crmaccess.Change) int { return int(a.Seq - b.Seq) })
	// The import's records (log position 1) lead from nothing to the
	// initial state.
	replay := map[string]string{}
	for _, u := range stressUsers {
		replay["admin "+u] = accessKey(crmaccess.AccessState{})
	}
	imported := false
	for i, c := range log {
		if c.Seq != int64(i+1) {
			t.Fatalf("change records: Seq %d at position %d; a change is missing or repeated", c.Seq, i+1)
		}
		key := c.Entity.String()
		if c.Entity == (crmaccess.Ref{}) {
			key = "admin " + c.User
		}
		if c.Position == 1 {
			replay[key] = accessKey(c.After)
			continue
		}
		if !imported {
			imported = true
			if d := diffMaps(initial, replay); d != "" {
				t.Fatalf("the import's change records do not give the initial state:\n%s", d)
			}
		}
		if got := accessKey(c.Before); replay[key] != got {
			t.Fatalf("change %d of %s starts from %s, but the previous changes left %s", c.Seq, key, got, replay[key])
		}
		replay[key] = accessKey(c.After)
	}
	if d := diffMaps(final, replay); d != "" {
		t.Errorf("replaying the change records does not give the final state:\n%s", d)
	}

	var summary []string
	total := int64(0)
	for _, name := range []string{"SetOpportunityAccess", "SetContactsAccess", "GrantAdmin", "RevokeAdmin", "Check", "Opportunity", "Contacts", "IsAdmin"} {
		n := ops[name].Load()
		total += n
		summary = append(summary, name+" "+strconv.FormatInt(n, 10))
	}
	t.Logf("concurrency: 11 goroutines for %v: %d operations (%s); %d refused as forbidden or not found; %d change records replayed; 0 failed",
		duration, total, strings.Join(summary, ", "), refused.Load(), len(log))
}
