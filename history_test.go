package crmaccess_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// fakeClock hands out times one second apart, so that every write of a
// test has a time of its own.
type fakeClock struct {
	mu   sync.Mutex
	last time.Time
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{last: start} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = c.last.Add(time.Second)
	return c.last
}

// peek returns the last time handed out: after every write made so far,
// before the next one's.
func (c *fakeClock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// historyUsers, historyRefs and historyActions are what the replay asks
// about: every user and record the history names, and ones it never does.
var (
	historyUsers = []string{admin, alice, bob, carol, dave, erin, "aaaaaaaa-0000-0000-0000-0000000000ff"}
	historyRefs  = []crmaccess.Ref{
		crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(2), crmaccess.OpportunityRef(3), crmaccess.OpportunityRef(4),
		crmaccess.OpportunityRef(99), crmaccess.ContactRef(1), crmaccess.ContactRef(2), crmaccess.ContactRef(3),
		crmaccess.ContactRef(4), crmaccess.ContactRef(5), crmaccess.ContactRef(6), crmaccess.ContactRef(7), crmaccess.ContactRef(99),
	}
	historyActions = allActions
)

// liveDecisions records Check's answers for every user, record and action;
// a user Check refuses as unauthorized (unknown, inactive) is denied.
func liveDecisions(t *testing.T, s *crmaccess.Service) map[string]crmaccess.Decision {
	t.Helper()
	return decisionsOf(t, s, historyUsers, historyRefs, crmaccess.ReasonDenied)
}

// pastDecisions asks the point-in-time API the same questions about
// Moment at: UsersWhoCould for every record and action, and checks that
// WhoCould and ReadableAt agree with it.
func pastDecisions(t *testing.T, s *crmaccess.Service, at crmaccess.Moment) map[string]crmaccess.Decision {
	t.Helper()
	ctx := context.Background()
	out := map[string]crmaccess.Decision{}
	readable := map[string]map[crmaccess.Kind][]int64{}
	for _, ref := range historyRefs {
		for _, a := range historyActions {
			all, err := s.UsersWhoCould(ctx, ref, a, at)
			if err != nil {
				t.Fatalf("UsersWhoCould(%v, %s, %+v): %v", ref, a, at, err)
			}
			w, err := s.WhoCould(ctx, ref, a, at)
			if err != nil {
				t.Fatalf("WhoCould(%v, %s, %+v): %v", ref, a, at, err)
			}
			for _, u := range historyUsers {
				d := crmaccess.Decision{Reason: crmaccess.ReasonDenied}
				if i := slices.IndexFunc(all, func(g crmaccess.Grant) bool { return g.User == u }); i >= 0 {
					d = crmaccess.Decision{Allowed: true, Reason: all[i].Reason}
				}
				out[u+" "+ref.String()+" "+string(a)] = d
				// WhoCould names the same users, or covers them by Everyone.
				if got := w.Allowed(u, d.Allowed); got != d {
					t.Errorf("at %+v: WhoCould(%v, %s).Allowed(%s) = %+v, UsersWhoCould says %+v", at, ref, a, u, got, d)
				}
				if d.Allowed && a == crmaccess.ActionRead && d.Reason != crmaccess.ReasonAdmin {
					if readable[u] == nil {
						readable[u] = map[crmaccess.Kind][]int64{}
					}
					readable[u][ref.Kind] = append(readable[u][ref.Kind], ref.ID)
				}
			}
		}
	}
	for _, u := range historyUsers {
		for _, kind := range []crmaccess.Kind{crmaccess.KindOpportunity, crmaccess.KindContact} {
			r, err := s.ReadableAt(ctx, u, kind, at)
			if err != nil {
				t.Fatalf("ReadableAt(%s, %s, %+v): %v", u, kind, at, err)
			}
			adminThen := out[u+" "+crmaccess.OpportunityRef(99).String()+" read"].Reason == crmaccess.ReasonAdmin
			if r.Admin != adminThen {
				t.Errorf("at %+v: ReadableAt(%s).Admin = %v, want %v", at, u, r.Admin, adminThen)
			}
			if !slices.Equal(r.IDs, readable[u][kind]) {
				t.Errorf("at %+v: ReadableAt(%s, %s) = %v, want %v", at, u, kind, r.IDs, readable[u][kind])
			}
		}
	}
	return out
}

func diffDecisions(t *testing.T, step string, got, want map[string]crmaccess.Decision) {
	t.Helper()
	n := 0
	for k, w := range want {
		if g := got[k]; g != w {
			if n++; n <= 10 {
				t.Errorf("%s: %s: point in time %+v, live Check %+v", step, k, g, w)
			}
		}
	}
}

// historyStep is one write of the history.
type historyStep struct {
	name  string
	write func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error)
}

// historySteps builds a history of every kind of write: an import, grants
// and revocations, admin grant and revoke, deactivation, a new user,
// records created, updated and deleted, an upsert and a user's removal.
func historySteps(t *testing.T) []historyStep {
	opp := func(r *crmaccess.OpportunityResult, err error) (crmaccess.Token, error) {
		if err != nil {
			return "", err
		}
		return r.Token, nil
	}
	contact := func(r *crmaccess.ContactResult, err error) (crmaccess.Token, error) {
		if err != nil {
			return "", err
		}
		return r.Token, nil
	}
	return []historyStep{
		{"import", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.Import(ctx, portalFixture(t))
		}},
		{"grant bob on opportunity 2", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return opp(s.SetOpportunityAccess(ctx, alice, 2, true, []string{dave, bob}))
		}},
		{"opportunity 1 private to carol", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return opp(s.SetOpportunityAccess(ctx, alice, 1, true, []string{carol}))
		}},
		{"revoke bob", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return opp(s.SetOpportunityAccess(ctx, alice, 2, true, []string{dave}))
		}},
		{"carol made admin", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.GrantAdmin(ctx, admin, carol)
		}},
		{"carol no longer admin", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.RevokeAdmin(ctx, admin, carol)
		}},
		{"bob deactivated", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.SetUserActive(ctx, admin, bob, false)
		}},
		{"erin added", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.PutUser(ctx, admin, crmaccess.User{ID: erin, DisplayName: "Erin"})
		}},
		{"opportunity 4 created private to erin", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return opp(s.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 4, Title: "New deal", StageID: 30}, true, []string{erin}))
		}},
		{"bob active again", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.SetUserActive(ctx, admin, bob, true)
		}},
		{"opportunity 4 handed to dave", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			r, err := s.Opportunity(ctx, alice, 4)
			if err != nil {
				return "", err
			}
			o := r.Opportunity
			o.Responsible = dave
			return opp(s.UpdateOpportunity(ctx, alice, o))
		}},
		{"contacts 2 and 3 private to bob", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			r, err := s.SetContactsAccessByID(ctx, admin, []int64{2, 3}, true, []string{bob})
			if err != nil {
				return "", err
			}
			return r.Token, nil
		}},
		{"contact 4 shared", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return contact(s.SetContactAccess(ctx, admin, 4, false, nil))
		}},
		{"contact 7 created, read-only", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return contact(s.CreateContact(ctx, dave, crmaccess.Contact{ID: 7, FirstName: "New", ShareType: crmaccess.ShareRead,
				ManagerList: []string{erin}}))
		}},
		{"opportunity 1 deleted", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.DeleteOpportunity(ctx, alice, 1)
		}},
		{"contact 7 deleted", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.DeleteContact(ctx, admin, 7)
		}},
		{"portal upserted again", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.Upsert(ctx, portalFixture(t))
		}},
		{"dave removed", func(ctx context.Context, s *crmaccess.Service) (crmaccess.Token, error) {
			return s.RemoveUser(ctx, admin, dave)
		}},
	}
}

// TestPointInTimeReplaysTheHistory builds a history step by step, records
// Check's answers after each step, then asks the point-in-time API about
// every step's time and token and compares: a replay, on SQLite and
// PostgreSQL.
func TestPointInTimeReplaysTheHistory(t *testing.T) {
	t.Parallel() // a long test of its own: it overlaps the others of its kind on the second core
	eachDatabase(t, func(t *testing.T, on database) {
		ctx := context.Background()
		clock := newFakeClock(testNow)
		s := serviceWith(t, testportal.NewStore(t, on).Open(t), &crmaccess.Options{Now: clock.now, PollInterval: -1})
		type recorded struct {
			name      string
			at        time.Time
			tok       crmaccess.Token
			decisions map[string]crmaccess.Decision
		}
		before := clock.peek()
		empty := liveDecisions(t, s)
		var steps []recorded
		for _, st := range historySteps(t) {
			tok, err := st.write(ctx, s)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			steps = append(steps, recorded{st.name, clock.peek(), tok, liveDecisions(t, s)})
		}
		diffDecisions(t, "before the import", pastDecisions(t, s, crmaccess.Moment{Time: before}), empty)
		for _, st := range steps {
			diffDecisions(t, st.name+" (time)", pastDecisions(t, s, crmaccess.Moment{Time: st.at}), st.decisions)
			m, err := crmaccess.MomentOf(st.tok)
			if err != nil {
				t.Fatal(err)
			}
			diffDecisions(t, st.name+" (token)", pastDecisions(t, s, m), st.decisions)
		}
		last := steps[len(steps)-1]
		diffDecisions(t, "now", pastDecisions(t, s, crmaccess.Moment{}), last.decisions)
		diffDecisions(t, "long after", pastDecisions(t, s, crmaccess.Moment{Time: last.at.Add(time.Hour)}), last.decisions)
		// The steps change something: the replay compares different
		// states, not one state many times.
		changed := 0
		for i := 1; i < len(steps); i++ {
			if fmt.Sprint(steps[i].decisions) != fmt.Sprint(steps[i-1].decisions) {
				changed++
			}
		}
		if changed < len(steps)-3 {
			t.Errorf("only %d of %d steps changed a decision", changed, len(steps)-1)
		}
	})
}
