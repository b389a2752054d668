package storage_test

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
	"github.com/crmaccess/crmaccess/storage/storagetest"
)

func TestConformanceSQLite(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) crmaccess.Store {
		t.Helper()
		s, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "crm.db"), nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConformancePostgreSQL(t *testing.T) {
	if !slices.ContainsFunc(backends(t), func(b backend) bool { return b.name == "postgres" }) {
		t.Skip(postgresDSNVar + " is not set")
	}
	storagetest.Run(t, func(t *testing.T) crmaccess.Store {
		t.Helper()
		db, prefix := openPostgres(t)
		s, err := storage.New(context.Background(), db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// The conformance suite again with a tiny batch size, so that every
// statement splits into many chunks with a short last one; its large
// batches are smaller, and still split into hundreds of statements.
func TestConformanceSmallBatches(t *testing.T) {
	storagetest.RunWithOptions(t, func(t *testing.T) crmaccess.Store {
		t.Helper()
		s, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "crm.db"), &storage.Options{BatchSize: 2})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, &storagetest.Options{LargeBatch: 301})
}

func openFile(t *testing.T, path string, opts *storage.Options) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func commit(t *testing.T, s *storage.Store, b *crmaccess.Batch) {
	t.Helper()
	if err := s.Commit(t.Context(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func ruleList(t *testing.T, s *storage.Store) []crmaccess.Rule {
	t.Helper()
	var out []crmaccess.Rule
	if _, err := s.Snapshot(t.Context(), func(r crmaccess.Rule) error { out = append(out, r); return nil }); err != nil {
		t.Fatalf("Rules: %v", err)
	}
	return out
}

// rawDB opens the SQLite file at path directly, to look at its tables.
func rawDB(t *testing.T, path string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(path), quiet())
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, db)
	return db
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	s := openFile(t, path, nil)
	rule := crmaccess.Rule{Type: "g", From: "contact:1", To: "11111111-1111-1111-1111-111111111111"}
	commit(t, s, &crmaccess.Batch{Contacts: []crmaccess.Contact{{ID: 1, Tags: []string{"x"}}}, AddRules: []crmaccess.Rule{rule}})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		s = openFile(t, path, nil)
		cs, err := s.Contacts(t.Context(), []int64{1})
		if err != nil || len(cs) != 1 || !slices.Equal(cs[0].Tags, []string{"x"}) {
			t.Fatalf("after reopening: Contacts = %+v, %v", cs, err)
		}
		if got := ruleList(t, s); !slices.Equal(got, []crmaccess.Rule{rule}) {
			t.Fatalf("after reopening: rules = %v", got)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	var versions []int64
	if err := rawDB(t, path).Raw(`SELECT version FROM crm_schema_migrations ORDER BY version`).Scan(&versions).Error; err != nil {
		t.Fatal(err)
	}
	// Each version once, 1 to the newest (4, the user status, or later).
	consecutive := len(versions) >= 4
	for i, v := range versions {
		consecutive = consecutive && v == int64(i+1)
	}
	if !consecutive {
		t.Errorf("recorded migrations = %v, want 1, 2, 3, 4… once each", versions)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	openFile(t, path, nil).Close()
	if err := rawDB(t, path).Exec(`INSERT INTO crm_schema_migrations (version, name, applied_sec) VALUES (999, 'future', 0)`).Error; err != nil {
		t.Fatal(err)
	}
	_, err := storage.Open(t.Context(), path, nil)
	if crmaccess.ErrorCode(err) != crmaccess.EINVALID {
		t.Fatalf("Open of a newer schema: %v, want EINVALID", err)
	}
}

func TestNewLeavesTheCallersTablesAndDatabase(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			db, prefix := b.open(t)
			widgets := prefix + "widgets" // dropped with the prefix on PostgreSQL
			if err := db.Exec(`CREATE TABLE ` + widgets + ` (id INTEGER PRIMARY KEY, name TEXT)`).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(`INSERT INTO `+widgets+` (id, name) VALUES (1, ?)`, "sprocket").Error; err != nil {
				t.Fatal(err)
			}
			s, err := storage.New(t.Context(), db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "rules"})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			commit(t, s, &crmaccess.Batch{RequireEmpty: true, Contacts: []crmaccess.Contact{{ID: 1}}})
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			var names []string
			if err := db.Raw(`SELECT name FROM ` + widgets).Scan(&names).Error; err != nil {
				t.Fatalf("the caller's database after Close: %v", err)
			}
			if !slices.Equal(names, []string{"sprocket"}) {
				t.Errorf("the caller's table holds %v, want [sprocket]", names)
			}
			// Reopening over the same database finds the data.
			s, err = storage.New(t.Context(), db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "rules"})
			if err != nil {
				t.Fatalf("New again: %v", err)
			}
			if cs, err := s.Contacts(t.Context(), []int64{1}); err != nil || len(cs) != 1 {
				t.Errorf("Contacts after New again = %v, %v", cs, err)
			}
		})
	}
}

// The model of a stock Casbin enforcer with grouping lines object first, as
// the policy package keeps them; only the lines matter here.
const stockModel = `
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
g2 = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.obj, r.sub) || g2(r.sub, "admin")
`

func TestStockCasbinLoadsOurRules(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			db, prefix := b.open(t)
			ruleTable := prefix + "casbin_rule"
			s, err := storage.New(t.Context(), db, &storage.Options{TablePrefix: prefix, RuleTable: ruleTable})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var add []crmaccess.Rule
			for i := range 50 {
				add = append(add, crmaccess.Rule{Type: "g", From: fmt.Sprintf("opportunity:%d", i), To: "11111111-1111-1111-1111-111111111111"})
			}
			add = append(add, crmaccess.Rule{Type: "g2", From: "22222222-2222-2222-2222-222222222222", To: "admin"})
			commit(t, s, &crmaccess.Batch{AddRules: add})
			commit(t, s, &crmaccess.Batch{RemoveRules: add[:10]})

			adapter, err := gormadapter.NewAdapterByDBUseTableName(db, "", ruleTable)
			if err != nil {
				t.Fatalf("gorm-adapter: %v", err)
			}
			m, err := model.NewModelFromString(stockModel)
			if err != nil {
				t.Fatal(err)
			}
			e, err := casbin.NewEnforcer(m, adapter)
			if err != nil {
				t.Fatalf("casbin.NewEnforcer: %v", err)
			}
			if err := e.LoadPolicy(); err != nil {
				t.Fatalf("LoadPolicy: %v", err)
			}
			var got []crmaccess.Rule
			for _, ptype := range []string{"g", "g2"} {
				lines, err := e.GetNamedGroupingPolicy(ptype)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range lines {
					if len(l) != 2 {
						t.Fatalf("casbin loaded %s line %v, want two values", ptype, l)
					}
					got = append(got, crmaccess.Rule{Type: ptype, From: l[0], To: l[1]})
				}
			}
			want := add[10:]
			slices.SortFunc(got, cmpRule)
			slices.SortFunc(want, cmpRule)
			if !slices.Equal(got, want) {
				t.Errorf("casbin loaded %v\nwant %v", got, want)
			}
			ok, err := e.Enforce("11111111-1111-1111-1111-111111111111", "opportunity:42", "read")
			if err != nil || !ok {
				t.Errorf("Enforce over our lines = %v, %v; want true", ok, err)
			}

			// And a line casbin writes through the adapter is a rule we read.
			if _, err := e.AddNamedGroupingPolicy("g", "contact:7", "33333333-3333-3333-3333-333333333333"); err != nil {
				t.Fatalf("AddNamedGroupingPolicy: %v", err)
			}
			if !slices.Contains(ruleList(t, s), crmaccess.Rule{Type: "g", From: "contact:7", To: "33333333-3333-3333-3333-333333333333"}) {
				t.Error("a line added by casbin is not among the store's rules")
			}
		})
	}
}

func cmpRule(a, b crmaccess.Rule) int {
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := cmp.Compare(a.From, b.From); c != 0 {
		return c
	}
	return cmp.Compare(a.To, b.To)
}

func TestTableNameOptions(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			db, prefix := b.open(t)
			opts := &storage.Options{TablePrefix: prefix + "acme_", RuleTable: prefix + "acme_policy"}
			s, err := storage.New(t.Context(), db, opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			commit(t, s, &crmaccess.Batch{
				Contacts: []crmaccess.Contact{{ID: 1, Tags: []string{"t"}}},
				AddRules: []crmaccess.Rule{{Type: "g", From: "contact:1", To: "11111111-1111-1111-1111-111111111111"}},
			})
			m := db.Migrator()
			for _, name := range []string{"schema_migrations", "users", "stages", "contacts", "contact_tags",
				"opportunities", "opportunity_members", "changes"} {
				if !m.HasTable(opts.TablePrefix + name) {
					t.Errorf("table %s%s missing", opts.TablePrefix, name)
				}
				if m.HasTable(prefix + name) {
					t.Errorf("table %s%s exists: the prefix option was ignored", prefix, name)
				}
			}
			if m.HasTable("casbin_rule") && b.name == "sqlite" {
				t.Error("the default rule table exists: the rule table option was ignored")
			}
			var n int64
			if err := db.Table(opts.RuleTable).Where("ptype = ? AND v0 = ? AND v2 = ''", "g", "contact:1").Count(&n).Error; err != nil || n != 1 {
				t.Errorf("rule table %s holds %d of our rule (%v), want 1", opts.RuleTable, n, err)
			}
			if err := db.Table(opts.TablePrefix+"contact_tags").Where("tag_key = ?", "t").Count(&n).Error; err != nil || n != 1 {
				t.Errorf("tag table holds %d tags (%v), want 1", n, err)
			}
		})
	}
}

func TestSchemaQualifiedRuleTable(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			db, prefix := b.open(t)
			schema := prefix + "policies"
			opts := &storage.Options{TablePrefix: prefix, RuleTable: schema + ".casbin_rule"}
			if b.name != "postgres" {
				if _, err := storage.New(t.Context(), db, opts); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
					t.Fatalf("New with rule table %s: %v, want EINVALID", opts.RuleTable, err)
				}
				return
			}
			if err := db.Exec(`CREATE SCHEMA ` + schema).Error; err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
			s, err := storage.New(t.Context(), db, opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			rule := crmaccess.Rule{Type: "g", From: "contact:1", To: "11111111-1111-1111-1111-111111111111"}
			commit(t, s, &crmaccess.Batch{AddRules: []crmaccess.Rule{rule}})
			var n int64
			if err := db.Table(opts.RuleTable).Count(&n).Error; err != nil || n != 1 {
				t.Errorf("%s holds %d lines (%v), want 1", opts.RuleTable, n, err)
			}
			commit(t, s, &crmaccess.Batch{RemoveRules: []crmaccess.Rule{rule}})
			if got := ruleList(t, s); len(got) != 0 {
				t.Errorf("rules after removal = %v", got)
			}
		})
	}
}

func TestBadOptionsAreInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	for _, opts := range []*storage.Options{
		{TablePrefix: "Crm_"},
		{TablePrefix: "crm; DROP TABLE x; --"},
		{RuleTable: "casbin rule"},
		{RuleTable: "a.b.c"},
		{BatchSize: -1},
	} {
		_, err := storage.Open(t.Context(), path, opts)
		if crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("Open with %+v: %v, want EINVALID", *opts, err)
		}
	}
	if _, err := storage.Open(t.Context(), "", nil); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
		t.Errorf("Open(\"\"): %v, want EINVALID", err)
	}
	if _, err := storage.New(t.Context(), nil, nil); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
		t.Errorf("New(nil): %v, want EINVALID", err)
	}
}

// Two stores over one file, each with writers in parallel: WAL, the busy
// timeout and immediate transactions make every commit succeed.
func TestConcurrentWritersOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	stores := []*storage.Store{openFile(t, path, nil), openFile(t, path, nil)}
	for _, s := range stores {
		t.Cleanup(func() { s.Close() })
	}
	const writers, commits = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*commits)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := range commits {
				id := int64(w*commits + i + 1)
				err := s.Commit(context.Background(), &crmaccess.Batch{
					Contacts: []crmaccess.Contact{{ID: id, Tags: []string{"t"}}},
					AddRules: []crmaccess.Rule{{Type: "g", From: fmt.Sprintf("contact:%d", id), To: "u"}},
				})
				if err != nil {
					errs <- err
				}
				if _, err := s.FindContacts(context.Background(), &crmaccess.ContactFilter{Tags: []string{"t"}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent commit: %v", err)
	}
	cs, err := stores[0].FindContacts(t.Context(), &crmaccess.ContactFilter{})
	if err != nil || len(cs) != writers*commits {
		t.Errorf("after concurrent commits: %d contacts, %v; want %d", len(cs), err, writers*commits)
	}
}
