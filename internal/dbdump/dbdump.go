package dbdump

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver

	"github.com/crmaccess/crmaccess/storage"
)

// State is every table's rows, each row one line of quoted values, the
// lines sorted; the table "sqlite_master" is the schema.
type State map[string][]string

// File reads the SQLite database at path through a connection of its own,
// opened with storage.SQLiteDSN (so it waits for a writer for up to 10 s)
// and made read-only.
func File(ctx context.Context, path string) (State, error) {
	db, err := sql.Open("sqlite3", storage.SQLiteDSN(path))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The connection string's transactions are immediate, which a read-only
	// connection may not begin: the snapshot is a deferred transaction.
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = ON"); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	return read(ctx, conn)
}

// Read reads every table of db in one read transaction.
func Read(ctx context.Context, db *sql.DB) (State, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return read(ctx, tx)
}

// querier is a transaction, or a connection inside one.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func read(ctx context.Context, tx querier) (State, error) {
	var names []string
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	st := State{}
	for _, n := range append(names, "sqlite_master") {
		lines, err := table(ctx, tx, n)
		if err != nil {
			return nil, fmt.Errorf("dbdump: table %s: %w", n, err)
		}
		st[n] = lines
	}
	return st, nil
}

func table(ctx context.Context, tx querier, name string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(name, `"`, `""`)+`"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	lines := []string{}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%#v", cols[i], v)
		}
		lines = append(lines, b.String())
	}
	slices.Sort(lines)
	return lines, rows.Err()
}

// Diff describes how b differs from a, table by table, in at most max
// lines; "" when they are equal.
func Diff(a, b State, max int) string {
	var out []string
	names := slices.Sorted(maps.Keys(a))
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	for _, n := range names {
		ra, rb := a[n], b[n]
		if slices.Equal(ra, rb) {
			continue
		}
		inA := make(map[string]int, len(ra))
		for _, l := range ra {
			inA[l]++
		}
		for _, l := range rb {
			if inA[l] > 0 {
				inA[l]--
				continue
			}
			out = append(out, fmt.Sprintf("%s: + %s", n, l))
		}
		for _, l := range ra {
			if inA[l] > 0 {
				inA[l]--
				out = append(out, fmt.Sprintf("%s: - %s", n, l))
			}
		}
	}
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("… and %d more", len(out)-max))
	}
	return strings.Join(out, "\n")
}
