package storage_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// Schema version 8, on a store written by version 7 and on a new one: the
// index of the change records by user holds users' changes only (a write
// of many records' access adds nothing to it), queries by user still find
// a user's changes through it, and on PostgreSQL the contacts table keeps
// free space in its pages for updates.
func TestSchemaV8UserIndexAndContactsFillFactor(t *testing.T) {
	const ann = "11111111-1111-1111-1111-111111111111"
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, opts, s := openStore(t, b)
			_, err := s.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
				b := &crmaccess.Batch{Kind: crmaccess.EntryAccess,
					AddRules: []crmaccess.Rule{{Type: "g4", From: ann, To: "crm:admin"}},
					Changes:  []crmaccess.Change{{User: ann, After: crmaccess.AccessState{Admin: true}}}}
				for id := int64(1); id <= 50; id++ {
					b.Contacts = append(b.Contacts, crmaccess.Contact{ID: id})
					b.Changes = append(b.Changes, crmaccess.Change{Entity: crmaccess.ContactRef(id),
						Before: crmaccess.AccessState{ShareType: crmaccess.ShareReadWrite}, After: crmaccess.AccessState{ShareType: crmaccess.ShareReadWrite}})
				}
				return b, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				def := indexDefinition(t, db, prefix+"changes_user_idx")
				if !strings.Contains(strings.NewReplacer("(", "", ")", "", "::text", "").Replace(def), "WHERE entity_kind = ''") {
					t.Errorf("%s: the index by user is %q, want it partial: WHERE entity_kind = ''", when, def)
				}
				got, err := s.Changes(ctx, crmaccess.ChangeQuery{User: ann})
				if err != nil || len(got) != 1 || got[0].User != ann || !got[0].After.Admin {
					t.Errorf("%s: changes of %s = %+v, %v; want the grant of the admin role", when, ann, got, err)
				}
				query := `SELECT seq FROM ` + prefix + `changes WHERE user_id = '` + ann + `' AND entity_kind = '' ORDER BY seq`
				if steps := strings.Join(planWithoutScans(t, db, query), "\n"); !strings.Contains(steps, prefix+"changes_user_idx") {
					t.Errorf("%s: a query by user does not use the index by user:\n%s", when, steps)
				}
				if db.Dialector.Name() == "postgres" {
					var options []string
					if err := db.Raw(`SELECT unnest(reloptions) FROM pg_class WHERE relname = ?`, prefix+"contacts").Scan(&options).Error; err != nil {
						t.Fatal(err)
					}
					if !slices.Contains(options, "fillfactor=50") {
						t.Errorf("%s: the contacts table's options are %v, want fillfactor=50", when, options)
					}
				}
			}
			check("a new store")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Back to version 7: the index on every change record, the
			// table without options.
			undo := []string{
				`DELETE FROM ` + prefix + `schema_migrations WHERE version = 8`,
				`DROP INDEX ` + prefix + `changes_user_idx`,
				`CREATE INDEX ` + prefix + `changes_user_idx ON ` + prefix + `changes (user_id, seq)`,
			}
			if db.Dialector.Name() == "postgres" {
				undo = append(undo, `ALTER TABLE `+prefix+`contacts RESET (fillfactor)`)
			}
			for _, stmt := range undo {
				if err := db.Exec(stmt).Error; err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			if s, err = storage.New(ctx, db, opts); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			check("a store of version 7, opened again")
		})
	}
}

// indexDefinition is the SQL that defines the index name.
func indexDefinition(t *testing.T, db *gorm.DB, name string) string {
	t.Helper()
	var defs []string
	query := `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`
	if db.Dialector.Name() == "postgres" {
		query = `SELECT indexdef FROM pg_indexes WHERE indexname = ?`
	}
	if err := db.Raw(query, name).Scan(&defs).Error; err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 {
		t.Fatalf("index %s: %d definitions", name, len(defs))
	}
	return defs[0]
}

// planWithoutScans is plan with PostgreSQL told not to scan tables whole
// where an index serves (a small table is cheaper to scan), in a
// transaction of its own.
func planWithoutScans(t *testing.T, db *gorm.DB, query string) []string {
	t.Helper()
	var steps []string
	err := db.Transaction(func(tx *gorm.DB) error {
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec(`SET LOCAL enable_seqscan = off`).Error; err != nil {
				return err
			}
		}
		steps = plan(t, tx, query)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return steps
}
