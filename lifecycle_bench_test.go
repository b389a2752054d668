package crmaccess_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// BenchmarkCreateDeleteOpportunity creates an opportunity (a company as
// main contact, a stage) and deletes it, commit included, on 100k grants:
// row 13 of the harness, for benchstat. Each iteration is one create and
// one delete; the sub-benchmarks run on SQLite and, with
// CRMACCESS_POSTGRES_DSN set, on PostgreSQL.
func BenchmarkCreateDeleteOpportunity(b *testing.B) {
	fx := dataset.Grants(100_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			svc := lifecycleBenchService(b, db, fx)
			ctx := context.Background()
			first := fx.Opportunities[len(fx.Opportunities)-1].ID + 1
			creator, responsible := dataset.UserID(37), dataset.UserID(38)
			i := int64(0)
			for b.Loop() {
				id := first + i
				i++
				o := crmaccess.Opportunity{ID: id, Title: "New deal", Responsible: responsible, ContactID: 1, StageID: 2,
					SuccessProbability: 50}
				if _, err := svc.CreateOpportunity(ctx, creator, o, false, nil); err != nil {
					b.Fatal(err)
				}
				if _, err := svc.DeleteOpportunity(ctx, creator, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdateOpportunity edits opportunities (title, probability,
// members, tags, the stage kept), commit included, on 100k grants, on
// SQLite and (with CRMACCESS_POSTGRES_DSN set) PostgreSQL; each iteration
// one edit, by the creator, of one of 200 opportunities in turn.
func BenchmarkUpdateOpportunity(b *testing.B) {
	fx := dataset.Grants(100_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			svc := lifecycleBenchService(b, db, fx)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				o := fx.Opportunities[i%200]
				e := crmaccess.Opportunity{ID: o.ID, Title: "edited", ContactID: o.ContactID, StageID: o.StageID,
					Members: o.Members, Tags: []string{"a", "b"}[:1+i%2], SuccessProbability: i % 100}
				if _, err := svc.UpdateOpportunity(ctx, o.CreateBy, e); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// lifecycleBenchService imports fx into a fresh store on db.
func lifecycleBenchService(b *testing.B, db database, fx *crmaccess.DataSet) *crmaccess.Service {
	b.Helper()
	return testportal.Over(b, testportal.NewStore(b, db), &testportal.Options{Data: fx}).Service
}

// BenchmarkSetOpportunityAccessOn toggles one opportunity between two
// lists, commit included, on 100k grants, on SQLite and (with
// CRMACCESS_POSTGRES_DSN set) PostgreSQL.
func BenchmarkSetOpportunityAccessOn(b *testing.B) {
	fx := dataset.Grants(100_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			svc := lifecycleBenchService(b, db, fx)
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
		})
	}
}

// BenchmarkConcurrentSetOpportunityAccess is BenchmarkSetOpportunityAccessOn
// with 16 goroutines at once, each toggling opportunities of its own (the
// writes of one instance committed together): the library's part of row
// 7, without HTTP.
func BenchmarkConcurrentSetOpportunityAccess(b *testing.B) {
	fx := dataset.Grants(100_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			svc := lifecycleBenchService(b, db, fx)
			ctx := context.Background()
			lists := [][]string{{dataset.UserID(901), dataset.UserID(902), dataset.UserID(903)}, {dataset.UserID(904), dataset.UserID(905)}}
			var next atomic.Int64
			b.SetParallelism(8) // 16 goroutines on 2 CPUs
			b.ResetTimer()      // the import is not measured
			b.RunParallel(func(pb *testing.PB) {
				// Each goroutine its own opportunities, 64 apart.
				g := int(next.Add(1))
				i := 0
				for pb.Next() {
					o := fx.Opportunities[(g+64*(i%32))%len(fx.Opportunities)]
					if _, err := svc.SetOpportunityAccess(ctx, o.CreateBy, o.ID, true, lists[(i/32)%2]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
