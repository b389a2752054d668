package crmaccess_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// historyPositions is how many log positions of TestSeveralProcesses'
// history the point-in-time audit asks about (the head among them).
const historyPositions = 6

// auditHistory checks the point-in-time answers of a store several
// processes wrote: at several log positions, and at the times of their
// entries, the users WhoCould and UsersWhoCould name for every record and
// action are those a policy engine loaded with a replay of the log up to
// that position allows, with the same reasons; and ReadableAt lists what
// that engine lets each user read.
func auditHistory(t *testing.T, run *multiRun) {
	t.Helper()
	ctx := context.Background()
	st := run.db.openStore(t)
	svc := serviceWith(t, st, &crmaccess.Options{PollInterval: -1})
	var entries []crmaccess.LogEntry
	if err := st.Log(ctx, 0, func(e *crmaccess.LogEntry) error { entries = append(entries, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	head := int64(len(entries))
	if head < 2 {
		t.Fatalf("the log holds %d entries: no history to audit", head)
	}
	var positions []int64
	for i := int64(1); i <= historyPositions; i++ {
		positions = append(positions, max(1, head*i/historyPositions))
	}
	positions = slices.Compact(positions)

	replayed := map[string]crmaccess.Change{} // record or user → its last change
	next := 0
	for _, pos := range positions {
		for ; next < int(pos); next++ {
			for _, c := range entries[next].Changes {
				key := c.Entity.String()
				if c.Entity == (crmaccess.Ref{}) {
					key = "user:" + c.User
				}
				replayed[key] = c
			}
		}
		var rules []crmaccess.Rule
		for _, c := range replayed {
			rules = append(rules, replayRules(c.Entity, c.User, c.After)...)
		}
		eng, err := policy.New()
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Load(rules); err != nil {
			t.Fatalf("position %d: the replayed rules do not load: %v", pos, err)
		}
		at, err := st.EntryTime(ctx, pos)
		if err != nil {
			t.Fatal(err)
		}
		moments := []crmaccess.Moment{{Position: pos}}
		// The entries' times come from several processes' clocks, stamped
		// under the writer lock: in position order on one host, unless two
		// are equal, when the time names the later one.
		if pos == head || !entryTimeEqual(ctx, t, st, pos+1, at) {
			moments = append(moments, crmaccess.Moment{Time: at})
		}
		for _, m := range moments {
			auditHistoryAt(t, svc, eng, pos, m)
		}
	}
}

func entryTimeEqual(ctx context.Context, t *testing.T, st interface {
	EntryTime(context.Context, int64) (time.Time, error)
}, pos int64, at time.Time) bool {
	t.Helper()
	next, err := st.EntryTime(ctx, pos)
	if err != nil {
		t.Fatal(err)
	}
	return !next.After(at)
}

// auditHistoryAt compares the point-in-time answers at m with eng, the
// replay of the log up to pos.
func auditHistoryAt(t *testing.T, svc *crmaccess.Service, eng *policy.Engine, pos int64, m crmaccess.Moment) {
	t.Helper()
	ctx := context.Background()
	users := append(slices.Clone(multiUsers), multiOutsider)
	readable := map[string]map[crmaccess.Kind][]int64{}
	for _, ref := range multiRefs() {
		for _, a := range multiActions {
			all, err := svc.UsersWhoCould(ctx, ref, a, m)
			if err != nil {
				t.Fatalf("UsersWhoCould(%v, %s, %+v): %v", ref, a, m, err)
			}
			w, err := svc.WhoCould(ctx, ref, a, m)
			if err != nil {
				t.Fatalf("WhoCould(%v, %s, %+v): %v", ref, a, m, err)
			}
			if w.Position != pos {
				t.Fatalf("WhoCould at %+v answered at position %d, want %d", m, w.Position, pos)
			}
			for _, u := range users {
				want, err := eng.Decide(u, ref, a)
				if err != nil {
					t.Fatal(err)
				}
				got := crmaccess.Decision{Reason: crmaccess.ReasonDenied}
				if i := slices.IndexFunc(all, func(g crmaccess.Grant) bool { return g.User == u }); i >= 0 {
					got = crmaccess.Decision{Allowed: true, Reason: all[i].Reason}
				}
				if got != want {
					t.Errorf("at %+v: %s on %v, %s: UsersWhoCould says %+v, the replay %+v", m, u, ref, a, got, want)
				}
				if d := w.Allowed(u, eng.UserStatus(u) == crmaccess.UserActive); d != want {
					t.Errorf("at %+v: %s on %v, %s: WhoCould says %+v, the replay %+v", m, u, ref, a, d, want)
				}
				if want.Allowed && a == crmaccess.ActionRead && want.Reason != crmaccess.ReasonAdmin {
					if readable[u] == nil {
						readable[u] = map[crmaccess.Kind][]int64{}
					}
					readable[u][ref.Kind] = append(readable[u][ref.Kind], ref.ID)
				}
			}
		}
	}
	for _, u := range users {
		for _, kind := range []crmaccess.Kind{crmaccess.KindOpportunity, crmaccess.KindContact} {
			r, err := svc.ReadableAt(ctx, u, kind, m)
			if err != nil {
				t.Fatal(err)
			}
			if r.Admin != eng.IsAdmin(u) || r.Status != eng.UserStatus(u) {
				t.Errorf("at %+v: ReadableAt(%s) admin %v status %q, the replay %v %q", m, u, r.Admin, r.Status, eng.IsAdmin(u), eng.UserStatus(u))
			}
			if !r.Admin && !slices.Equal(r.IDs, readable[u][kind]) {
				t.Errorf("at %+v: ReadableAt(%s, %s) = %v, the replay %v", m, u, kind, r.IDs, readable[u][kind])
			}
		}
	}
}
