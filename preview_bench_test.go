package crmaccess_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// previewBenchStores opens a fresh store per database (SQLite, and
// PostgreSQL when CRMACCESS_POSTGRES_DSN is set), loaded with fx.
func previewBenchStores(b *testing.B, fx *crmaccess.DataSet) map[string]crmaccess.Store {
	b.Helper()
	ctx := context.Background()
	stores := map[string]crmaccess.Store{}
	for _, db := range testportal.Databases() {
		stores[map[testportal.DB]string{testportal.SQLite: "sqlite", testportal.PostgreSQL: "postgres"}[db]] = testportal.NewStore(b, db).Open(b)
	}
	for _, st := range stores {
		if _, err := serviceOver(b, st).Import(ctx, fx); err != nil {
			b.Fatal(err)
		}
	}
	return stores
}

// BenchmarkPreviewContactsAccess compares, on one data set of 2,000
// matching contacts, the filter write (private with three managers and
// shared again, in turn: every call changes them all) with its preview
// (the same call, answered without writing), on SQLite and PostgreSQL.
func BenchmarkPreviewContactsAccess(b *testing.B) {
	const n = 2_000
	stores := previewBenchStores(b, dataset.Contacts(n))
	for _, name := range []string{"sqlite", "postgres"} {
		if stores[name] == nil {
			continue
		}
		svc := serviceOver(b, stores[name])
		ctx := context.Background()
		admin := dataset.UserID(dataset.ContactsAdmin)
		filter := dataset.Filter()
		for _, mode := range []string{"write", "preview"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				i := 0
				for b.Loop() {
					private := i%2 == 0
					var managers []string
					if private {
						managers = dataset.Managers()
					}
					change := svc.SetContactsAccess
					if mode == "preview" {
						change = svc.PreviewContactsAccess
					}
					res, err := change(ctx, admin, filter, private, managers)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Contacts) != n {
						b.Fatalf("%d contacts, want %d", len(res.Contacts), n)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkWriteWhileBulk measures one small write (a contact's access,
// toggled) of another instance while the filter change of 2,000 contacts
// runs without pause: as a write, which holds the writer lock, or as a
// preview, which does not. Reported: the small write's mean latency.
func BenchmarkWriteWhileBulk(b *testing.B) {
	const n = 2_000
	stores := previewBenchStores(b, dataset.Contacts(n))
	for _, name := range []string{"sqlite", "postgres"} {
		st := stores[name]
		if st == nil {
			continue
		}
		bulk, small := serviceOver(b, st), serviceOver(b, st)
		admin := dataset.UserID(dataset.ContactsAdmin)
		for _, mode := range []string{"idle", "write", "preview"} {
			b.Run(name+"/bulk="+mode, func(b *testing.B) {
				ctx, cancel := context.WithCancel(context.Background())
				var stopped atomic.Bool
				done := make(chan struct{})
				go func() {
					defer close(done)
					for i := 0; mode != "idle" && !stopped.Load(); i++ {
						change := bulk.SetContactsAccess
						if mode == "preview" {
							change = bulk.PreviewContactsAccess
						}
						var managers []string
						if i%2 == 0 {
							managers = dataset.Managers()
						}
						if _, err := change(ctx, admin, dataset.Filter(), i%2 == 0, managers); err != nil && ctx.Err() == nil {
							b.Error(err)
							return
						}
					}
				}()
				time.Sleep(50 * time.Millisecond) // let the bulk calls start
				i := 0
				for b.Loop() {
					if _, err := small.SetContactAccess(context.Background(), admin, 1, i%2 == 0, []string{admin}); err != nil {
						b.Fatal(err)
					}
					i++
				}
				stopped.Store(true)
				cancel()
				<-done
			})
		}
	}
}
