package dbdump

import (
	"context"
	"database/sql"
	"fmt"
)

// Postgres reads every table of the current schema whose name starts with
// prefix (a test's own set of tables), in one repeatable-read transaction,
// so that all of them show one state. The sequences behind the tables'
// ids are read too ("sequences": their names and last values), since a
// write that rolls back still moves them.
func Postgres(ctx context.Context, db *sql.DB, prefix string) (State, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	names, err := strings1(ctx, tx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND left(tablename, $1) = $2 ORDER BY tablename`,
		len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	st := State{}
	for _, n := range names {
		lines, err := table(ctx, tx, n)
		if err != nil {
			return nil, fmt.Errorf("dbdump: table %s: %w", n, err)
		}
		st[n] = lines
	}
	seqs, err := strings1(ctx, tx, `SELECT sequencename || '=' || COALESCE(last_value::text, 'null') FROM pg_sequences
		WHERE schemaname = current_schema() AND left(sequencename, $1) = $2 ORDER BY sequencename`, len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	st["sequences"] = seqs
	return st, nil
}

// strings1 returns the one text column of a query's rows.
func strings1(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
