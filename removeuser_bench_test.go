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
	grant := listedOn(fx, listedUser, 10_000)
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
				if _, err := svc.RemoveUser(ctx, actor, listedUser); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// listedUser is the user the RemoveUser benchmarks put on 10,000 lists.
const listedUser = "be4d0000-0000-4000-8000-000000000000"

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

// BenchmarkRemoveUserFloor measures what the database alone takes for the
// writes of BenchmarkRemoveUser (1M grants, the user on 10,000 lists): the
// 10,000 list lines deleted by their key and 10,000 change records
// inserted, as set-based SQL in one transaction, commit included, with no
// Go per row and no memory to update. It is a floor under row 14 with
// this schema (gorm-adapter's rule table; a change record per affected
// record with the indexes of its history queries, SPEC §9 and §11).
func BenchmarkRemoveUserFloor(b *testing.B) {
	fx := dataset.Grants(1_000_000)
	grant := listedOn(fx, listedUser, 10_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			ctx := context.Background()
			p := testportal.New(b, db, &testportal.Options{Data: fx})
			if _, err := p.Service.Upsert(ctx, grant); err != nil {
				b.Fatal(err)
			}
			gdb := p.Place.Gorm(b)
			sqlDB, err := gdb.DB()
			if err != nil {
				b.Fatal(err)
			}
			rules, changes := p.Place.RuleTable(), "crm_changes"
			if p.Place.Tables != nil {
				changes = p.Place.Tables.TablePrefix + "changes"
			}
			exec := func(q string) {
				b.Helper()
				if _, err := sqlDB.ExecContext(ctx, q); err != nil {
					b.Fatalf("%.70s: %v", q, err)
				}
			}
			exec(`CREATE TABLE floor_objs AS SELECT v0 AS obj FROM ` + rules + ` WHERE ptype = 'g' AND v1 = '` + listedUser + `'`)
			b.Cleanup(func() { sqlDB.Exec(`DROP TABLE floor_objs`) })
			exec(`ANALYZE floor_objs`)
			var n int
			if err := sqlDB.QueryRow(`SELECT COUNT(*) FROM floor_objs`).Scan(&n); err != nil || n != 10_000 {
				b.Fatalf("%d lists, want 10000: %v", n, err)
			}
			if db == testportal.PostgreSQL { // as the harness does after its import
				exec(`ANALYZE ` + rules)
				exec(`ANALYZE ` + changes)
			}
			for b.Loop() {
				b.StopTimer()
				var top int64
				if err := sqlDB.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM ` + changes).Scan(&top); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				tx, err := sqlDB.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				for _, q := range []string{
					`DELETE FROM ` + rules + ` WHERE ptype = 'g' AND v1 = '` + listedUser + `' AND v2 = '' AND v3 = '' AND v4 = ''
						AND v5 = '' AND v0 IN (SELECT obj FROM floor_objs)`,
					`INSERT INTO ` + changes + ` (log_seq, at_sec, at_nsec, actor, entity_kind, entity_id, user_id,
						before_private, before_share, before_list, before_admin, before_creator, before_responsible,
						after_private, after_share, after_list, after_admin, after_creator, after_responsible, before_status, after_status)
						SELECT 1000000, 1, 2, '` + dataset.UserID(0) + `', 'opportunity', CAST(substr(obj, 13) AS BIGINT), '',
						true, 0, '["` + dataset.UserID(1) + `","` + dataset.UserID(2) + `","` + listedUser + `"]', false, '` + dataset.UserID(3) +
						`', '` + dataset.UserID(4) + `', true, 0, '["` + dataset.UserID(1) + `","` + dataset.UserID(2) + `"]', false, '` +
						dataset.UserID(3) + `', '` + dataset.UserID(4) + `', '', '' FROM floor_objs`,
				} {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						b.Fatalf("%.70s: %v", q, err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer() // and back, for the next round
				exec(`INSERT INTO ` + rules + ` (ptype, v0, v1, v2, v3, v4, v5) SELECT 'g', obj, '` + listedUser + `', '', '', '', '' FROM floor_objs`)
				exec(`DELETE FROM ` + changes + ` WHERE seq > ` + fmt.Sprint(top))
				b.StartTimer()
			}
		})
	}
}
