package crmaccess_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess/storage"
)

// postgresDSNVar names the environment variable that points the tests at a
// PostgreSQL database; the tests that need one skip without it.
const postgresDSNVar = "CRMACCESS_POSTGRES_DSN"

// quietGorm keeps GORM from logging the errors the tests provoke.
var quietGorm = &gorm.Config{Logger: logger.Discard}

// postgresDSN returns the test database's DSN, or skips the test.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresDSNVar)
	if dsn == "" {
		t.Skipf("%s is not set: PostgreSQL not tested", postgresDSNVar)
	}
	return dsn
}

// openPostgres connects to the test database; the connection closes when
// the test ends.
func openPostgres(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(dsn), quietGorm)
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	// database/sql keeps 2 idle connections by default: under concurrent
	// requests, every further one would be a new PostgreSQL backend.
	sqlDB.SetMaxIdleConns(16)
	t.Cleanup(func() { sqlDB.Close() })
	return db
}

// postgresTables returns store options naming a fresh set of tables in the
// shared database (the rule table included, so that tests running at once
// do not see each other's rules), and drops those tables when the test
// ends.
func postgresTables(t testing.TB, db *gorm.DB) *storage.Options {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	prefix := "t" + hex.EncodeToString(b) + "_"
	t.Cleanup(func() {
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
	})
	return postgresOptions(prefix)
}

// postgresOptions are the store options of the tables of prefix.
func postgresOptions(prefix string) *storage.Options {
	return &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"}
}
