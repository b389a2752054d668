package crmaccess_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// BenchmarkRemoveUser removes a user who is on the access lists of 10,000
// private opportunities, on 1M grants, commit included: row 14 of the
// harness, for benchstat and profiles. Before each removal, untimed, an
// Upsert puts the user back on those lists. The sub-benchmarks run on
// SQLite and, with CRMACCESS_POSTGRES_DSN set, on PostgreSQL.
func BenchmarkRemoveUser(b *testing.B) {
	fx := dataset.Grants(1_000_000)
	const user = "be4d0000-0000-4000-8000-000000000000"
	grant := listedOn(fx, user, 10_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			svc := lifecycleBenchService(b, db, fx)
			ctx := context.Background()
			actor := dataset.UserID(0)
			for b.Loop() {
				b.StopTimer()
				if _, err := svc.Upsert(ctx, grant); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := svc.RemoveUser(ctx, actor, user); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// listedOn is the data set that puts user on the accessLists of n private
// opportunities of fx spread over it (the bench harness's listedFixture).
func listedOn(fx *crmaccess.DataSet, user string, n int) *crmaccess.DataSet {
	var private []*crmaccess.Opportunity
	for i := range fx.Opportunities {
		if fx.Opportunities[i].IsPrivate {
			private = append(private, &fx.Opportunities[i])
		}
	}
	out := &crmaccess.DataSet{Users: []crmaccess.User{{ID: user, DisplayName: "Listed user"}}, Stages: slices.Clone(fx.Stages)}
	named := map[int64]bool{}
	step := max(1, len(private)/n)
	for i := 0; i < len(private) && len(out.Opportunities) < n; i += step {
		o := *private[i]
		o.AccessList = append(slices.Clone(o.AccessList), user)
		out.Opportunities = append(out.Opportunities, o)
		named[o.ContactID] = true
	}
	for _, c := range fx.Contacts {
		if named[c.ID] {
			out.Contacts = append(out.Contacts, c)
		}
	}
	if len(out.Opportunities) != n {
		panic(fmt.Sprintf("listedOn: %d lists, want %d", len(out.Opportunities), n))
	}
	return out
}

// BenchmarkFilterCall makes the 100,000 contacts of the contacts data set
// that match its filter private with three managers, and shared again, in
// turn (row 4 of the harness): each iteration is one call, 300,000 rule
// lines written or removed. On SQLite and, with CRMACCESS_POSTGRES_DSN
// set, PostgreSQL.
func BenchmarkFilterCall(b *testing.B) {
	const n = 100_000
	fx := dataset.Contacts(n)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			svc := lifecycleBenchService(b, db, fx)
			ctx := context.Background()
			admin := dataset.UserID(dataset.ContactsAdmin)
			i := 0
			for b.Loop() {
				private := i%2 == 0
				var managers []string
				if private {
					managers = dataset.Managers()
				}
				res, err := svc.SetContactsAccess(ctx, admin, dataset.Filter(), private, managers)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Contacts) != n {
					b.Fatalf("%d contacts changed, want %d", len(res.Contacts), n)
				}
				i++
			}
		})
	}
}
