package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess/storage"
)

// openGorm opens the SQLite file at path with storage.Open's connection
// string: the baseline and the raw inserts run on the same settings as
// crmaccess.
func openGorm(path string) (*gorm.DB, error) {
	db, err := gorm.Open(sqlite.Open(storage.SQLiteDSN(path)), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

func closeGorm(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// checkpoint moves a database's write-ahead log into the database file
// and empties it, as SQLite does when its last connection closes: a data
// set just built is measured as a server would find it after a restart,
// not with the whole build still in the log.
func checkpoint(path string) error {
	db, err := openGorm(path)
	if err != nil {
		return err
	}
	defer closeGorm(db)
	return db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error
}

// sqliteVersion asks the linked SQLite library its version.
func sqliteVersion(db *gorm.DB) string {
	var v string
	if err := db.Raw("SELECT sqlite_version()").Scan(&v).Error; err != nil {
		return "unknown"
	}
	return v
}

// sqliteVersionOf opens the database at path to ask its SQLite version.
func sqliteVersionOf(path string) (string, error) {
	db, err := openGorm(path)
	if err != nil {
		return "", err
	}
	defer closeGorm(db)
	return sqliteVersion(db), nil
}

// ruleRow is one line of gorm-adapter's table with two values.
type ruleRow struct{ ptype, v0, v1 string }

// rawInsert writes rows into gorm-adapter's table in one transaction, in
// multi-row INSERT statements of as many rows as SQLite's 32,766 bound
// variables allow, each statement prepared as it runs (the floor SPEC §7
// names, ~125k rows/s). With prepared > 0 it writes statements of that many
// rows instead, prepared once and reused: SQLite then compiles the
// statement once, not once per batch.
func rawInsert(ctx context.Context, db *sql.DB, table string, rows []ruleRow, prepared int) error {
	statement := func(n int) string {
		return "INSERT INTO " + table + " (ptype, v0, v1, v2, v3, v4, v5) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, '', '', '', ''), ", n), ", ")
	}
	return insertRules(ctx, db, rows, 32766/3, prepared, statement)
}

// insertRules writes rows in one transaction by statement(n) of n rows:
// per rows a statement, each sent as it runs, or with prepared > 0
// statements of that many rows prepared once and reused.
func insertRules(ctx context.Context, db *sql.DB, rows []ruleRow, per, prepared int, statement func(n int) string) error {
	if prepared > 0 {
		per = prepared
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var full *sql.Stmt
	if prepared > 0 {
		if full, err = tx.PrepareContext(ctx, statement(per)); err != nil {
			return err
		}
		defer full.Close()
	}
	args := make([]any, 0, 3*per)
	for start := 0; start < len(rows); start += per {
		end := min(start+per, len(rows))
		args = args[:0]
		for _, r := range rows[start:end] {
			args = append(args, r.ptype, r.v0, r.v1)
		}
		if full != nil && end-start == per {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, statement(end-start), args...)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// maxRuleID is the highest id of gorm-adapter's table (0 when empty).
func maxRuleID(ctx context.Context, db *sql.DB, table string) (int64, error) {
	var id sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT MAX(id) FROM "+table).Scan(&id)
	return id.Int64, err
}

// deleteRulesAbove removes the lines added after maxRuleID returned id.
func deleteRulesAbove(ctx context.Context, db *sql.DB, table string, id int64) error {
	_, err := db.ExecContext(ctx, "DELETE FROM "+table+" WHERE id > ?", id)
	return err
}

// adapterLines converts rule rows into gorm-adapter's AddPolicies form.
func adapterLines(rows []ruleRow) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{r.v0, r.v1}
	}
	return out
}

// addPoliciesBatched writes lines through gorm-adapter's AddPolicies, batch
// lines a call (each call one multi-row INSERT of its own).
func addPoliciesBatched(a *gormadapter.Adapter, ptype string, lines [][]string, batch int) error {
	sec := ptype[:1]
	for start := 0; start < len(lines); start += batch {
		if err := a.AddPolicies(sec, ptype, lines[start:min(start+batch, len(lines))]); err != nil {
			return err
		}
	}
	return nil
}
