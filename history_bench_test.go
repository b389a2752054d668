package crmaccess_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/storage"
)

// historyBenchGrantsEnv sizes BenchmarkHistory: the grant data set
// (default 100,000; BENCHMARKS.md quotes 1,000,000, with about as many
// change records).
const historyBenchGrantsEnv = "CRMACCESS_BENCH_HISTORY_GRANTS"

// historyPasses writes, pass after pass, every opportunity's access anew
// through its creator (SetOpportunitiesAccess of the creator's
// opportunities: one entry each), alternately private to one other user
// and public. It returns the time after the first pass: a moment in the
// middle of the history.
func historyPasses(ctx context.Context, svc *crmaccess.Service, fx *crmaccess.DataSet, passes int) (time.Time, error) {
	byCreator := map[string][]int64{}
	for _, o := range fx.Opportunities {
		byCreator[o.CreateBy] = append(byCreator[o.CreateBy], o.ID)
	}
	var mid time.Time
	for pass := range passes {
		for i := range dataset.UserCount {
			u := dataset.UserID(i)
			var list []string
			if pass%2 == 0 {
				list = []string{dataset.UserID((i + 1 + pass) % dataset.UserCount)}
			}
			if _, err := svc.SetOpportunitiesAccess(ctx, u, byCreator[u], pass%2 == 0, list); err != nil {
				return mid, err
			}
		}
		if pass == 0 {
			mid = time.Now()
		}
	}
	return mid, nil
}

// BenchmarkHistory measures the point-in-time questions at a moment in the
// middle of a history of grants×1.0 change records (the import's, then
// three passes over every opportunity), on SQLite and PostgreSQL: who
// could read one opportunity then, and which opportunities one user could
// read then.
func BenchmarkHistory(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv(historyBenchGrantsEnv)); err == nil && v > 0 {
		n = v
	}
	fx := dataset.Grants(n)
	ctx := context.Background()
	// Each opener returns the store and what makes its statistics fresh
	// after the writes (PostgreSQL: VACUUM ANALYZE, as autovacuum would).
	stores := map[string]func(b *testing.B) (crmaccess.Store, func()){
		"sqlite": func(b *testing.B) (crmaccess.Store, func()) {
			st, err := storage.Open(ctx, filepath.Join(b.TempDir(), "history.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st, func() {}
		},
	}
	if dsn := testdb.PostgresDSN(); dsn != "" {
		stores["postgres"] = func(b *testing.B) (crmaccess.Store, func()) {
			db := testdb.PostgresAt(b, dsn)
			opts := testdb.FreshTables(b, db, "hb")
			st, err := storage.New(ctx, db, opts)
			if err != nil {
				b.Fatal(err)
			}
			return st, func() {
				for _, table := range []string{"changes", "log"} {
					if err := db.Exec(`VACUUM ANALYZE ` + opts.TablePrefix + table).Error; err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open, ok := stores[name]
		if !ok {
			continue
		}
		b.Run(fmt.Sprintf("%s/grants=%d", name, n), func(b *testing.B) {
			st, analyze := open(b)
			svc := serviceWith(b, st, &crmaccess.Options{PollInterval: -1})
			if _, err := svc.Import(ctx, fx); err != nil {
				b.Fatal(err)
			}
			mid, err := historyPasses(ctx, svc, fx, 3)
			if err != nil {
				b.Fatal(err)
			}
			analyze()
			at := crmaccess.Moment{Time: mid}
			r := rand.New(rand.NewPCG(1, 2))
			b.Run("WhoCouldRead", func(b *testing.B) {
				for b.Loop() {
					ref := crmaccess.OpportunityRef(fx.Opportunities[r.IntN(len(fx.Opportunities))].ID)
					if _, err := svc.WhoCould(ctx, ref, crmaccess.ActionRead, at); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ReadableAt", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.ReadableAt(ctx, dataset.UserID(r.IntN(dataset.UserCount)), crmaccess.KindOpportunity, at); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
