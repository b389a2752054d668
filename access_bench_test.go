package crmaccess_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// The hot paths of the service, for benchstat across commits. The full
// comparison with the Casbin baseline is go run ./bench (BENCHMARKS.md).

// benchService imports fx into a fresh SQLite file and returns the service.
func benchService(b *testing.B, fx *crmaccess.DataSet) *crmaccess.Service {
	b.Helper()
	p := openPortal(b, filepath.Join(b.TempDir(), "bench.db"))
	if _, err := p.Import(context.Background(), fx); err != nil {
		b.Fatal(err)
	}
	return p.Service
}

func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		fx := dataset.Grants(n)
		svc := benchService(b, fx)
		checks := dataset.Checks(fx, 1<<16, 1)
		ctx := context.Background()
		b.Run(fmt.Sprintf("grants=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				c := &checks[i&(len(checks)-1)]
				i++
				if _, err := svc.Check(ctx, c.User, c.Ref, crmaccess.ActionRead); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("grants=%d/parallel", n), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					c := &checks[i&(len(checks)-1)]
					i++
					if _, err := svc.Check(ctx, c.User, c.Ref, crmaccess.ActionRead); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkSetOpportunityAccess toggles one opportunity between two lists:
// every call commits a change.
func BenchmarkSetOpportunityAccess(b *testing.B) {
	fx := dataset.Grants(100_000)
	svc := benchService(b, fx)
	ctx := context.Background()
	o := fx.Opportunities[len(fx.Opportunities)/2]
	lists := [][]string{{dataset.UserID(901), dataset.UserID(902), dataset.UserID(903)}, {dataset.UserID(904), dataset.UserID(905)}}
	i := 0
	for b.Loop() {
		if _, err := svc.SetOpportunityAccess(ctx, o.CreateBy, o.ID, true, lists[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSetContactsAccess makes 2,000 matching contacts private with
// three managers and shared again, in turn: every call changes them all.
func BenchmarkSetContactsAccess(b *testing.B) {
	fx := dataset.Contacts(2_000)
	svc := benchService(b, fx)
	ctx := context.Background()
	admin := dataset.UserID(dataset.ContactsAdmin)
	filter := dataset.Filter()
	i := 0
	for b.Loop() {
		private := i%2 == 0
		var managers []string
		if private {
			managers = dataset.Managers()
		}
		res, err := svc.SetContactsAccess(ctx, admin, filter, private, managers)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Contacts) != 2_000 {
			b.Fatalf("%d contacts changed, want 2000", len(res.Contacts))
		}
		i++
	}
}
