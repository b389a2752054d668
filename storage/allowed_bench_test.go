package storage_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// Reading by access at scale (SPEC §10), side by side on SQLite and
// PostgreSQL (when CRMACCESS_POSTGRES_DSN is set), each against the naive
// way: fetch every candidate, Check each, keep the allowed.
//
//	go test ./storage -run '^$' -bench BenchmarkAllowed -benchtime 2s
//
// The data set is dataset.Grants(CRMACCESS_BENCH_GRANTS), 1,000,000 rule
// lines by default (305,929 opportunities), one user made an admin, and
// the host's table deals(id, stage, title) with a row per opportunity,
// indexed by (stage, id). Users who are not admins rotate over the other
// 999; pages start at cursors spread over the id range. The rows also
// report their median (p50-µs). An admin's total is counted by the store
// once per log position: admin-after-a-write shows the count itself.

// benchGrants is the size of the benchmark's data set.
func benchGrants(b *testing.B) int {
	b.Helper()
	n := 1_000_000
	if s := os.Getenv("CRMACCESS_BENCH_GRANTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1000 {
			b.Fatalf("CRMACCESS_BENCH_GRANTS=%q: want a number >= 1000", s)
		}
	}
	return n
}

// timed runs op in b's loop and reports the median time of one op.
func timed(b *testing.B, op func(i int)) {
	b.Helper()
	var took []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		op(i)
		took = append(took, time.Since(start))
		i++
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e3, "p50-µs")
}

// deal is a row of the host's table.
type deal struct {
	ID    int64
	Stage int64
	Title string
}

func BenchmarkAllowed(b *testing.B) {
	n := benchGrants(b)
	for _, be := range backends(b) {
		b.Run(be.name, func(b *testing.B) {
			start := time.Now()
			p := newGrantsPortal(b, be, n)
			ctx := b.Context()
			adminUser := dataset.UserID(dataset.UserCount - 1)
			if _, err := p.svc.GrantAdmin(ctx, adminUser, adminUser); err != nil {
				b.Fatal(err)
			}
			opps := p.fx.Opportunities
			lastID := opps[len(opps)-1].ID
			user := func(i int) string { return dataset.UserID(i % (dataset.UserCount - 1)) }
			cursor := func(i int) int64 { return int64(i*7919) % lastID }
			b.Logf("%d grants, %d opportunities, built in %v", n, len(opps), time.Since(start).Round(time.Second))

			page := func(user func(int) string, limit int) func(b *testing.B) {
				return func(b *testing.B) {
					timed(b, func(i int) {
						pg, err := p.svc.AllowedIDs(ctx, user(i), crmaccess.KindOpportunity, crmaccess.ActionRead, cursor(i), limit)
						if err != nil || pg.Total == 0 || len(pg.IDs) == 0 {
							b.Fatalf("%+v %v", pg, err)
						}
					})
				}
			}
			admin := func(int) string { return adminUser }
			b.Run("ids-page-100/user", page(user, 100))
			b.Run("ids-page-100/admin", page(admin, 100))
			b.Run("ids-total/user", page(user, 1))
			b.Run("ids-total/admin", page(admin, 1))
			// A write moves the log: the next admin page counts again.
			b.Run("ids-total/admin-after-a-write", func(b *testing.B) {
				var took []time.Duration
				other := dataset.UserID(dataset.UserCount - 2)
				i := 0
				for b.Loop() {
					b.StopTimer()
					var err error
					if i%2 == 0 {
						_, err = p.svc.GrantAdmin(ctx, adminUser, other)
					} else {
						_, err = p.svc.RevokeAdmin(ctx, adminUser, other)
					}
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
					if pg, err := p.svc.AllowedIDs(ctx, adminUser, crmaccess.KindOpportunity, crmaccess.ActionRead, cursor(i), 1); err != nil || pg.Total != len(opps) {
						b.Fatalf("%+v %v", pg, err)
					}
					took = append(took, time.Since(start))
					i++
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e3, "p50-µs")
			})
			b.Run("ids-page-100/naive", func(b *testing.B) {
				timed(b, func(i int) {
					var ids []int64
					if err := p.db.Table(p.prefix+"opportunities").Order("id").Pluck("id", &ids).Error; err != nil {
						b.Fatal(err)
					}
					var allowed []int64
					for _, id := range ids {
						d, err := p.svc.Check(ctx, user(i), crmaccess.OpportunityRef(id), crmaccess.ActionRead)
						if err != nil {
							b.Fatal(err)
						}
						if d.Allowed {
							allowed = append(allowed, id)
						}
					}
					if len(allowed) == 0 {
						b.Fatal("nothing allowed")
					}
				})
			})

			dealsPage := func(i int, scope func(*gorm.DB) *gorm.DB) {
				var rows []deal
				q := p.db.Table(p.deals)
				if scope != nil {
					q = q.Scopes(scope)
				}
				if err := q.Where("stage = ?", 1+i%6).Order("id").Limit(50).Find(&rows).Error; err != nil || len(rows) != 50 {
					b.Fatalf("%d rows, %v", len(rows), err)
				}
			}
			userScope := func(i int) func(*gorm.DB) *gorm.DB {
				return p.store.Allowed(user(i), crmaccess.KindOpportunity, crmaccess.ActionRead, p.deals+".id")
			}
			b.Run("deals-page-50/plain", func(b *testing.B) { timed(b, func(i int) { dealsPage(i, nil) }) })
			b.Run("deals-page-50/scoped-user", func(b *testing.B) { timed(b, func(i int) { dealsPage(i, userScope(i)) }) })
			b.Run("deals-page-50/scoped-admin", func(b *testing.B) {
				timed(b, func(i int) {
					dealsPage(i, p.store.Allowed(adminUser, crmaccess.KindOpportunity, crmaccess.ActionRead, p.deals+".id"))
				})
			})
			// The two queries in turn, so that both see the same load: the
			// ratio of their medians is the scope's cost.
			b.Run("deals-page-50/scoped-user-over-plain", func(b *testing.B) {
				var plain, scoped []time.Duration
				i := 0
				for b.Loop() {
					start := time.Now()
					dealsPage(i, nil)
					mid := time.Now()
					dealsPage(i, userScope(i))
					plain, scoped = append(plain, mid.Sub(start)), append(scoped, time.Since(mid))
					i++
				}
				slices.Sort(plain)
				slices.Sort(scoped)
				b.ReportMetric(float64(plain[len(plain)/2].Nanoseconds())/1e3, "plain-p50-µs")
				b.ReportMetric(float64(scoped[len(scoped)/2].Nanoseconds())/1e3, "scoped-p50-µs")
				b.ReportMetric(float64(scoped[len(scoped)/2])/float64(plain[len(plain)/2]), "ratio")
			})
			b.Run("deals-page-50/naive", func(b *testing.B) {
				timed(b, func(i int) {
					var rows []deal
					if err := p.db.Table(p.deals).Where("stage = ?", 1+i%6).Order("id").Find(&rows).Error; err != nil {
						b.Fatal(err)
					}
					var allowed []deal
					for _, r := range rows {
						d, err := p.svc.Check(ctx, user(i), crmaccess.OpportunityRef(r.ID), crmaccess.ActionRead)
						if err != nil {
							b.Fatal(err)
						}
						if d.Allowed {
							allowed = append(allowed, r)
						}
					}
					if len(allowed) < 50 {
						b.Fatalf("%d allowed", len(allowed))
					}
					_ = allowed[:50]
				})
			})
		})
	}
}
