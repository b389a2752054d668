package storage_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/storage"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// postgresDSNVar names the environment variable that points the tests at a
// PostgreSQL database; without it only SQLite runs.
const postgresDSNVar = testdb.PostgresDSNVar

// backend makes caller-owned databases for the tests that run on every
// database.
type backend struct {
	name string
	// open returns a fresh database (SQLite: a new file; PostgreSQL: the
	// shared database) and a table prefix no other test uses; cleanup
	// (closing, dropping the prefix's tables) is registered on t.
	open func(t testing.TB) (db *gorm.DB, prefix string)
}

func backends(t testing.TB) []backend {
	t.Helper()
	bs := []backend{{name: "sqlite", open: openSQLite}}
	if os.Getenv(postgresDSNVar) != "" {
		bs = append(bs, backend{name: "postgres", open: openPostgres})
	} else {
		t.Logf("%s is not set: PostgreSQL not tested", postgresDSNVar)
	}
	return bs
}

// quiet keeps GORM from logging the errors the tests provoke: a config of
// its own for every connection, since gorm.Open writes into the one it is
// given.
func quiet() *gorm.Config { return &gorm.Config{Logger: logger.Discard} }

// openSQLite opens a new SQLite file as a caller would, with go-sqlite3's
// defaults (deferred transactions, no busy timeout).
func openSQLite(t testing.TB) (*gorm.DB, string) {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "caller.db")), quiet())
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	closeOnCleanup(t, db)
	return db, "crm_"
}

// openPostgres connects to the shared PostgreSQL database and drops the
// tables of a fresh prefix when the test ends.
func openPostgres(t testing.TB) (*gorm.DB, string) {
	t.Helper()
	db := testdb.Postgres(t)
	prefix := testdb.Prefix(t, "t")
	t.Cleanup(func() { testdb.DropPrefixed(t, db, prefix) })
	return db, prefix
}

func closeOnCleanup(t testing.TB, db *gorm.DB) {
	t.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
}

// openStore opens a store over a fresh database of b, its tables named by
// a prefix of their own: the database, the prefix, the options that name
// the tables (to open the store again) and the store.
func openStore(t *testing.T, b backend) (*gorm.DB, string, *storage.Options, *storage.Store) {
	t.Helper()
	db, prefix := b.open(t)
	opts := &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"}
	s, err := storage.New(t.Context(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db, prefix, opts, s
}
