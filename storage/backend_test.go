package storage_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// postgresDSNVar names the environment variable that points the tests at a
// PostgreSQL database; without it only SQLite runs.
const postgresDSNVar = "CRMACCESS_POSTGRES_DSN"

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

// quiet keeps GORM from logging the errors the tests provoke.
var quiet = &gorm.Config{Logger: logger.Discard}

// openSQLite opens a new SQLite file as a caller would, with go-sqlite3's
// defaults (deferred transactions, no busy timeout).
func openSQLite(t testing.TB) (*gorm.DB, string) {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "caller.db")), quiet)
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
	db, err := gorm.Open(postgres.Open(os.Getenv(postgresDSNVar)), quiet)
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	closeOnCleanup(t, db)
	prefix := uniquePrefix(t)
	t.Cleanup(func() { dropPrefixed(t, db, prefix) })
	return db, prefix
}

func uniquePrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b) + "_"
}

// dropPrefixed drops every table of the current schema whose name starts
// with prefix.
func dropPrefixed(t testing.TB, db *gorm.DB, prefix string) {
	t.Helper()
	var names []string
	if err := db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND left(tablename, ?) = ?`,
		len(prefix), prefix).Scan(&names).Error; err != nil {
		t.Errorf("list tables of %s: %v", prefix, err)
		return
	}
	for _, n := range names {
		if err := db.Exec(`DROP TABLE IF EXISTS ` + n + ` CASCADE`).Error; err != nil {
			t.Errorf("drop %s: %v", n, err)
		}
	}
}

func closeOnCleanup(t testing.TB, db *gorm.DB) {
	t.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
}
