package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// The store's hot paths on SQLite, for benchstat across commits.

// benchStore imports fx into a fresh SQLite file.
func benchStore(b *testing.B, fx *crmaccess.DataSet) *storage.Store {
	b.Helper()
	return testportal.New(b, testportal.SQLite, &testportal.Options{Data: fx}).Store
}

// BenchmarkCommitOpportunityAccess commits what one opportunity's access
// change writes: its flag, two rules out, three in, a change record.
func BenchmarkCommitOpportunityAccess(b *testing.B) {
	fx := dataset.Grants(100_000)
	st := benchStore(b, fx)
	ctx := context.Background()
	o := fx.Opportunities[len(fx.Opportunities)/2]
	x := crmaccess.Opportunity{ID: o.ID, CreateBy: o.CreateBy, Responsible: o.Responsible,
		IsPrivate: o.IsPrivate, AccessList: o.AccessList}
	y := x
	y.IsPrivate, y.AccessList = !x.IsPrivate, []string{dataset.UserID(904), dataset.UserID(905), dataset.UserID(906)}
	if !y.IsPrivate {
		y.AccessList = nil
	}
	i := 0
	for b.Loop() {
		from, to := x, y
		if i%2 == 1 {
			from, to = y, x
		}
		batch := &crmaccess.Batch{
			OpportunityPrivacy: []crmaccess.OpportunityPrivacy{{ID: o.ID, IsPrivate: to.IsPrivate}},
			RemoveRules:        policy.OpportunityRules(&from),
			AddRules:           policy.OpportunityRules(&to),
			Changes: []crmaccess.Change{{At: time.Now(), Actor: o.CreateBy, Entity: crmaccess.OpportunityRef(o.ID),
				After: crmaccess.AccessState{IsPrivate: to.IsPrivate, List: to.AccessList}}},
		}
		if err := st.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRules streams every stored rule, as a cold start does.
func BenchmarkRules(b *testing.B) {
	for _, n := range []int{100_000} {
		st := benchStore(b, dataset.Grants(n))
		ctx := context.Background()
		b.Run(fmt.Sprintf("grants=%d", n), func(b *testing.B) {
			for b.Loop() {
				count := 0
				if _, err := st.Snapshot(ctx, func(crmaccess.Rule) error { count++; return nil }); err != nil {
					b.Fatal(err)
				}
				if count < n {
					b.Fatalf("%d rules, want at least %d", count, n)
				}
			}
		})
	}
}

// BenchmarkFindContacts runs the filter of the filter call over 2,400
// contacts, 2,000 matching.
func BenchmarkFindContacts(b *testing.B) {
	st := benchStore(b, dataset.Contacts(2_000))
	ctx := context.Background()
	f := dataset.Filter()
	for b.Loop() {
		cs, err := st.FindContacts(ctx, &f)
		if err != nil {
			b.Fatal(err)
		}
		if len(cs) != 2_000 {
			b.Fatalf("%d contacts, want 2000", len(cs))
		}
	}
}

// BenchmarkScanContacts reads the contacts the filter call's filter
// matches, 100,000 of 120,000 (the read the call makes before it writes),
// on SQLite and, with CRMACCESS_POSTGRES_DSN set, PostgreSQL.
func BenchmarkScanContacts(b *testing.B) {
	fx := dataset.Contacts(100_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			st := testportal.New(b, db, &testportal.Options{Data: fx}).Store
			ctx := context.Background()
			f := dataset.Filter()
			for b.Loop() {
				n := 0
				err := st.ScanContacts(ctx, &f, func(*crmaccess.Contact) (bool, error) { n++; return true, nil }, func(int, []string) {})
				if err != nil {
					b.Fatal(err)
				}
				if n != 100_000 {
					b.Fatalf("%d contacts, want 100000", n)
				}
			}
		})
	}
}
