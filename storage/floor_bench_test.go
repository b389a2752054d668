package storage_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// BenchmarkFilterFloorSQLite measures, on the filter call's data set
// (100,000 matching contacts made private with 3 managers), what SQLite
// alone takes for the call's work with no Go at all per row, beside the
// raw INSERT the call is compared with (BENCHMARKS.md, row 4):
//
//   - raw INSERT: the 300k rule lines in 1,000-row statements prepared
//     once, one transaction (the harness's baseline);
//   - read: the matching contacts, every column, and their tags (the call
//     returns them);
//   - writes: the call's statements as set-based SQL over a table of the
//     matching ids, one transaction: the public lines deleted, the 300k
//     lines inserted, 100k change records, the share types.
//
// read + writes is a floor under the call on SQLite with this schema: the
// call adds deciding, building the rows, and memory.
func BenchmarkFilterFloorSQLite(b *testing.B) {
	p := testportal.New(b, testportal.SQLite, &testportal.Options{Data: dataset.Contacts(100_000)})
	path := p.Place.Path
	p.Store.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&_synchronous=NORMAL&_cache_size=-65536")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	exec := func(q string, args ...any) {
		b.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%.60s: %v", q, err)
		}
	}
	mgr := dataset.Managers()
	f := dataset.Filter()
	exec(`CREATE TABLE floor_ids AS SELECT c.id AS id FROM crm_contacts c WHERE c.contact_stage = ? AND c.contact_type = ?
		AND c.id IN (SELECT contact_id FROM crm_contact_tags WHERE tag_key = ?)`, *f.Stage, *f.Type, f.TagKeys()[0])
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM floor_ids`).Scan(&n); err != nil || n != 100_000 {
		b.Fatalf("%d matching contacts, want 100000: %v", n, err)
	}
	maxID := func(q string) int64 {
		var id int64
		if err := db.QueryRow(q).Scan(&id); err != nil {
			b.Fatal(err)
		}
		return id
	}

	b.Run("raw INSERT", func(b *testing.B) {
		const per = 1000
		insert := "INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, '', '', '', ''), ", per), ", ")
		args := make([]any, 0, 3*per)
		for range b.N {
			b.StopTimer()
			top := maxID(`SELECT MAX(id) FROM casbin_rule`)
			b.StartTimer()
			tx, err := db.Begin()
			if err != nil {
				b.Fatal(err)
			}
			st, err := tx.Prepare(insert)
			if err != nil {
				b.Fatal(err)
			}
			for k := 0; k < 300_000; k += per {
				args = args[:0]
				for i := k; i < k+per; i++ {
					args = append(args, "g", "contact:"+strconv.Itoa(1_000_000+i/3), mgr[i%3])
				}
				if _, err := st.Exec(args...); err != nil {
					b.Fatal(err)
				}
			}
			st.Close()
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			exec(`DELETE FROM casbin_rule WHERE id > ?`, top)
			b.StartTimer()
		}
	})

	b.Run("read", func(b *testing.B) {
		vals := make([]any, 14)
		ptrs := make([]any, len(vals))
		for i := range ptrs {
			ptrs[i] = &vals[i]
		}
		scan := func(q string, dest ...any) {
			rows, err := db.Query(q)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				if err := rows.Scan(dest...); err != nil {
					b.Fatal(err)
				}
			}
			if err := rows.Close(); err != nil {
				b.Fatal(err)
			}
		}
		for range b.N {
			scan(`SELECT c.id, c.is_company, c.company_name, c.first_name, c.last_name, c.title, c.company_id, c.about,
				c.contact_stage, c.contact_type, c.created_sec, c.created_nsec, c.create_by, c.share_type
				FROM crm_contacts c WHERE c.id IN (SELECT id FROM floor_ids) ORDER BY c.id`, ptrs...)
			scan(`SELECT contact_id, tag FROM crm_contact_tags WHERE contact_id IN (SELECT id FROM floor_ids)
				ORDER BY contact_id, pos`, ptrs[:2]...)
		}
	})

	b.Run("writes", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			top := maxID(`SELECT COALESCE(MAX(seq), 0) FROM crm_changes`)
			b.StartTimer()
			tx, err := db.Begin()
			if err != nil {
				b.Fatal(err)
			}
			for _, st := range []struct {
				q    string
				args []any
			}{
				{`DELETE FROM casbin_rule WHERE ptype = 'g' AND v1 = 'crm:public' AND v2 = '' AND v3 = '' AND v4 = '' AND v5 = ''
					AND v0 IN (SELECT 'contact:' || id FROM floor_ids)`, nil},
				{`INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5)
					SELECT 'g', 'contact:' || f.id, u.column1, '', '', '', '' FROM floor_ids f CROSS JOIN (VALUES (?), (?), (?)) u`,
					[]any{mgr[0], mgr[1], mgr[2]}},
				{`INSERT INTO crm_changes (log_seq, at_sec, at_nsec, actor, entity_kind, entity_id, user_id,
					before_private, before_share, before_list, before_admin, before_creator, before_responsible,
					after_private, after_share, after_list, after_admin, after_creator, after_responsible, before_status, after_status)
					SELECT 1000000, 1, 2, ?, 'contact', id, '', false, 1, '[]', false, '', '', true, 0, ?, false, '', '', '', ''
					FROM floor_ids`, []any{dataset.UserID(dataset.ContactsAdmin), `["` + strings.Join(mgr, `","`) + `"]`}},
				{`UPDATE crm_contacts SET share_type = 0 WHERE id IN (SELECT id FROM floor_ids)`, nil},
			} {
				if _, err := tx.Exec(st.q, st.args...); err != nil {
					b.Fatalf("%.60s: %v", st.q, err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer() // and back, for the next round
			exec(`DELETE FROM casbin_rule WHERE ptype = 'g' AND v1 IN (?, ?, ?) AND v0 IN (SELECT 'contact:' || id FROM floor_ids)`,
				mgr[0], mgr[1], mgr[2])
			exec(`INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) SELECT 'g', 'contact:' || id, 'crm:public', '', '', '', '' FROM floor_ids`)
			exec(`UPDATE crm_contacts SET share_type = 1 WHERE id IN (SELECT id FROM floor_ids)`)
			exec(`DELETE FROM crm_changes WHERE seq > ?`, top)
			b.StartTimer()
		}
	})
}
