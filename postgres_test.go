package crmaccess_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/storage"
)

// The PostgreSQL helpers of this package, over internal/testdb.

// postgresDSNVar names the environment variable that points the tests at a
// PostgreSQL database; the tests that need one skip without it.
const postgresDSNVar = testdb.PostgresDSNVar

// quietGorm returns a GORM config of its own for one connection, which
// keeps GORM from logging the errors the tests provoke.
func quietGorm() *gorm.Config { return testdb.Quiet() }

// postgresDSN returns the test database's DSN, or skips the test.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := testdb.PostgresDSN()
	if dsn == "" {
		t.Skipf("%s is not set: PostgreSQL not tested", postgresDSNVar)
	}
	return dsn
}

// openPostgres connects to the database dsn names; the connections close
// when the test ends.
func openPostgres(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	return testdb.PostgresAt(t, dsn)
}

// postgresTables returns store options naming a fresh set of tables in the
// shared database, dropped when the test ends.
func postgresTables(t testing.TB, db *gorm.DB) *storage.Options {
	t.Helper()
	return testdb.FreshTables(t, db, "t")
}

// postgresOptions are the store options of the tables of prefix.
func postgresOptions(prefix string) *storage.Options {
	return &storage.Options{TablePrefix: prefix, RuleTable: prefix + storage.DefaultRuleTable}
}

// gormOver connects GORM through pgx with cfg (a test's own settings: a
// proxy, the simple protocol); the connections close when the test ends.
func gormOver(t testing.TB, cfg *pgx.ConnConfig) *gorm.DB {
	t.Helper()
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { sqlDB.Close() })
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), quietGorm())
	if err != nil {
		t.Fatal(err)
	}
	return db
}
