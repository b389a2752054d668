// Package testdb opens the databases of crmaccess's tests: a SQLite file,
// and the PostgreSQL database CRMACCESS_POSTGRES_DSN names, with a fresh
// set of tables per test. Every test package uses it, so that there is one
// way to reach PostgreSQL and to clean up after it.
package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess/storage"
)

// PostgresDSNVar names the environment variable that points the tests at a
// PostgreSQL database; without it only SQLite runs.
const PostgresDSNVar = "CRMACCESS_POSTGRES_DSN"

// Quiet returns a GORM config that keeps GORM from logging the errors the
// tests provoke. Each connection needs one of its own: gorm.Open keeps the
// config it is given and sets its dialector and callbacks in it, so two
// connections opened with one config share the last one's (and race when
// opened at once).
func Quiet() *gorm.Config { return &gorm.Config{Logger: logger.Discard} }

// PostgresDSN returns the test database's DSN, "" when none is set.
func PostgresDSN() string { return os.Getenv(PostgresDSNVar) }

// Postgres connects to the test database, or skips the test when none is
// set; the connections close when the test ends. database/sql keeps 2 idle
// connections by default: under concurrent requests every further one
// would be a new PostgreSQL backend, so it keeps 16.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	dsn := PostgresDSN()
	if dsn == "" {
		t.Skipf("%s is not set: PostgreSQL not tested", PostgresDSNVar)
	}
	return PostgresAt(t, dsn)
}

// PostgresAt is Postgres on the database dsn names (a child process's).
func PostgresAt(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(dsn), Quiet())
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxIdleConns(16)
	t.Cleanup(func() { sqlDB.Close() })
	return db
}

// SQLite opens the SQLite file at path with storage.SQLiteDSN's settings;
// the connections close when the test ends.
func SQLite(t testing.TB, path string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(storage.SQLiteDSN(path)), Quiet())
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return db
}

// Prefix returns a table prefix no other test uses: stem and random hex.
func Prefix(t testing.TB, stem string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return stem + hex.EncodeToString(b) + "_"
}

// FreshTables returns store options naming a set of tables no other test
// uses in db (the rule table too, so that tests running at once do not see
// each other's rules), and drops those tables when the test ends. Register
// it before anything that must close first (a Service).
func FreshTables(t testing.TB, db *gorm.DB, stem string) *storage.Options {
	t.Helper()
	prefix := Prefix(t, stem)
	t.Cleanup(func() { DropPrefixed(t, db, prefix) })
	return &storage.Options{TablePrefix: prefix, RuleTable: prefix + storage.DefaultRuleTable}
}

// DropPrefixed drops every table of the current schema whose name starts
// with prefix.
func DropPrefixed(t testing.TB, db *gorm.DB, prefix string) {
	t.Helper()
	var names []string
	if err := db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND left(tablename, ?) = ?`,
		len(prefix), prefix).Scan(&names).Error; err != nil {
		t.Errorf("list tables of %s: %v", prefix, err)
		return
	}
	for _, n := range names {
		if err := db.Exec(`DROP TABLE IF EXISTS "` + n + `" CASCADE`).Error; err != nil {
			t.Errorf("drop %s: %v", n, err)
		}
	}
}
