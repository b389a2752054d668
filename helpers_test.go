package crmaccess_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// The users of testdata/portal.json.
const (
	admin = "aaaaaaaa-0000-0000-0000-000000000001" // admin
	alice = "aaaaaaaa-0000-0000-0000-000000000002" // creator of opportunities 1 and 2; manager of contact 2
	bob   = "aaaaaaaa-0000-0000-0000-000000000003" // responsible of opportunity 1; manager of contact 3
	carol = "aaaaaaaa-0000-0000-0000-000000000004" // responsible of opportunity 2
	dave  = "aaaaaaaa-0000-0000-0000-000000000005" // on opportunity 2's accessList
)

// testNow is the clock of the test services.
var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// portal is a service, with the test clock, over a store loaded with the
// test portal: a SQLite file (newPortal) or any database the tests run on
// (newPortalOn). path is the SQLite file; place is where the store is on
// any database.
type portal struct {
	*crmaccess.Service
	store *storage.Store
	path  string
	place *testportal.Store
}

// database is a database the tests run on; eachDatabase runs a test's body
// on every one (SQLite, and PostgreSQL when CRMACCESS_POSTGRES_DSN is set).
type database = testportal.DB

func eachDatabase(t *testing.T, f func(t *testing.T, db database)) {
	t.Helper()
	testportal.Each(t, f)
}

// newPortal is the test portal over a fresh SQLite file.
func newPortal(t *testing.T) *portal {
	t.Helper()
	return newPortalOn(t, testportal.SQLite)
}

// newPortalOn is the test portal over a fresh store on db.
func newPortalOn(t testing.TB, db database) *portal {
	t.Helper()
	return portalOver(t, testportal.NewStore(t, db), false, testOptions())
}

// newPortalWith is the test portal over a fresh store on db, its service
// started with opts.
func newPortalWith(t testing.TB, db database, opts *crmaccess.Options) *portal {
	t.Helper()
	return portalOver(t, testportal.NewStore(t, db), false, opts)
}

// newEmptyPortalOn is a service over a fresh, empty store on db.
func newEmptyPortalOn(t testing.TB, db database) *portal {
	t.Helper()
	return portalOver(t, testportal.NewStore(t, db), true, testOptions())
}

// openPortal opens a service over the SQLite file at path as it is.
func openPortal(t testing.TB, path string) *portal {
	t.Helper()
	return portalOver(t, testportal.SQLiteAt(path), true, testOptions())
}

// reopen opens another service over p's store as it is, over a connection
// of its own (another instance).
func (p *portal) reopen(t testing.TB) *portal {
	t.Helper()
	return portalOver(t, p.place, true, testOptions())
}

func portalOver(t testing.TB, place *testportal.Store, empty bool, opts *crmaccess.Options) *portal {
	t.Helper()
	tp := testportal.Over(t, place, &testportal.Options{Empty: empty, Service: opts})
	return &portal{Service: tp.Service, store: tp.Store, path: place.Path, place: place}
}

// testOptions are the options of the test services: the test clock.
func testOptions() *crmaccess.Options {
	return &crmaccess.Options{Now: func() time.Time { return testNow }}
}

// serviceOver starts a service, with the test clock, over a store as it is.
func serviceOver(t testing.TB, st crmaccess.Store) *crmaccess.Service {
	t.Helper()
	return serviceWith(t, st, testOptions())
}

// serviceWith starts a service with opts over a store as it is.
func serviceWith(t testing.TB, st crmaccess.Store, opts *crmaccess.Options) *crmaccess.Service {
	t.Helper()
	return testportal.Service(t, st, opts)
}

// portalFixture is the data set of testdata/portal.json.
func portalFixture(t testing.TB) *crmaccess.DataSet {
	t.Helper()
	return testportal.File(t, testportal.DefaultFile).DataSet()
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := crmaccess.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func mustCheck(t *testing.T, s *crmaccess.Service, user string, ref crmaccess.Ref, a crmaccess.Action) crmaccess.Decision {
	t.Helper()
	d, err := s.Check(context.Background(), user, ref, a)
	if err != nil {
		t.Fatalf("Check(%s, %v, %s): %v", user, ref, a, err)
	}
	return d
}

func int64p(v int64) *int64 { return &v }

// decisions checks every user against every record and action of the test
// portal (plus records that do not exist), for comparing two states.
func decisions(t *testing.T, s *crmaccess.Service) map[string]crmaccess.Decision {
	t.Helper()
	return decisionsOf(t, s, []string{admin, alice, bob, carol, dave}, []crmaccess.Ref{
		crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(2), crmaccess.OpportunityRef(3), crmaccess.OpportunityRef(99),
		crmaccess.ContactRef(1), crmaccess.ContactRef(2), crmaccess.ContactRef(3), crmaccess.ContactRef(4),
		crmaccess.ContactRef(5), crmaccess.ContactRef(6), crmaccess.ContactRef(99),
	}, "unauthorized")
}

// allActions are the four actions of a check.
var allActions = []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess}

// decisionsOf checks every user against every ref for every action, keyed
// "user ref action". A user who is not known and active (EUNAUTHORIZED)
// gets the decision whose reason is unknown.
func decisionsOf(t *testing.T, s *crmaccess.Service, users []string, refs []crmaccess.Ref, unknown crmaccess.Reason) map[string]crmaccess.Decision {
	t.Helper()
	out := map[string]crmaccess.Decision{}
	for _, u := range users {
		for _, ref := range refs {
			for _, a := range allActions {
				d, err := s.Check(context.Background(), u, ref, a)
				if crmaccess.ErrorCode(err) == crmaccess.EUNAUTHORIZED {
					d, err = crmaccess.Decision{Reason: unknown}, nil
				}
				if err != nil {
					t.Fatalf("Check(%s, %v, %s): %v", u, ref, a, err)
				}
				out[u+" "+ref.String()+" "+string(a)] = d
			}
		}
	}
	return out
}

// someOf returns each of from with a chance of one in three, in order.
func someOf(rng *rand.Rand, from []string) []string {
	var out []string
	for _, u := range from {
		if rng.IntN(3) == 0 {
			out = append(out, u)
		}
	}
	return out
}
