package crmaccess_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/policy"
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

// portal is a service over a fresh SQLite file loaded with the test portal.
type portal struct {
	*crmaccess.Service
	store *storage.Store
	path  string
}

func newPortal(t *testing.T) *portal {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crm.db")
	p := openPortal(t, path)
	if _, err := p.Import(context.Background(), portalFixture(t)); err != nil {
		t.Fatalf("Import: %v", err)
	}
	return p
}

// openPortal opens a service over the SQLite file at path as it is.
func openPortal(t testing.TB, path string) *portal {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return &portal{Service: serviceOver(t, st), store: st, path: path}
}

// serviceOver starts a service, with the test clock, over a store as it is.
func serviceOver(t testing.TB, st crmaccess.Store) *crmaccess.Service {
	t.Helper()
	return serviceWith(t, st, &crmaccess.Options{Now: func() time.Time { return testNow }})
}

// serviceWith starts a service with opts over a store as it is.
func serviceWith(t testing.TB, st crmaccess.Store, opts *crmaccess.Options) *crmaccess.Service {
	t.Helper()
	eng, err := policy.New()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := crmaccess.NewService(context.Background(), st, eng, opts)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// portalFixture is the data set of testdata/portal.json.
func portalFixture(t testing.TB) *crmaccess.DataSet {
	t.Helper()
	f, err := os.Open("testdata/portal.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx, err := fixture.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return fx.DataSet()
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
	out := map[string]crmaccess.Decision{}
	for _, u := range []string{admin, alice, bob, carol, dave} {
		for _, ref := range []crmaccess.Ref{
			crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(2), crmaccess.OpportunityRef(3), crmaccess.OpportunityRef(99),
			crmaccess.ContactRef(1), crmaccess.ContactRef(2), crmaccess.ContactRef(3), crmaccess.ContactRef(4),
			crmaccess.ContactRef(5), crmaccess.ContactRef(6), crmaccess.ContactRef(99),
		} {
			for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess} {
				d, err := s.Check(context.Background(), u, ref, a)
				if crmaccess.ErrorCode(err) == crmaccess.EUNAUTHORIZED {
					// Not a known, active user of this store (an empty one).
					d, err = crmaccess.Decision{Reason: "unauthorized"}, nil
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
