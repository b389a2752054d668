package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmaccess/crmaccess/bench/dataset"
)

// Row 4 on PostgreSQL: the contacts data set imported into the database of
// postgresDSNVar under table names of this run's own prefix, the filter
// call and its raw baselines run on it in a child as on SQLite, and COPY of
// the same rule rows beside them: PostgreSQL's floor for writing rows.

// filterCallPostgres imports the contacts data set into PostgreSQL, runs
// row 4's child on it and drops its tables. It returns nil when
// postgresDSNVar is not set.
func (h *harness) filterCallPostgres() (*filterResult, error) {
	if os.Getenv(postgresDSNVar) == "" {
		return nil, nil
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	d := &sharedDB{name: databases[1], args: childArgs{Prefix: "bench" + hex.EncodeToString(b) + "_", N: h.cfg.filterReps, M: h.cfg.contacts}}
	defer d.close()
	took, err := importPostgres(h, d, dataset.Contacts(h.cfg.contacts))
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL contacts data set: %w", err)
	}
	h.logf("contacts imported into PostgreSQL in %s", took.Round(time.Millisecond))
	var r filterResult
	if err := h.child("filter-call", d.args, &r); err != nil {
		return nil, err
	}
	r.Import = took.Seconds()
	return &r, nil
}

// rawInsertPostgres is rawInsert on PostgreSQL: multi-row INSERT statements
// of as many rows as PostgreSQL's 65,535 bound parameters allow, each sent
// as it runs, or with prepared > 0 statements of that many rows prepared
// once and reused, in one transaction.
func rawInsertPostgres(ctx context.Context, db *sql.DB, table string, rows []ruleRow, prepared int) error {
	statement := func(n int) string {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (ptype, v0, v1, v2, v3, v4, v5) VALUES ")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $%d, $%d, '', '', '', '')", 3*i+1, 3*i+2, 3*i+3)
		}
		return b.String()
	}
	return insertRules(ctx, db, rows, 65535/3, prepared, statement)
}

// copyPostgres writes rows by COPY (pgx's CopyFrom, binary format) in one
// transaction.
func copyPostgres(ctx context.Context, db *sql.DB, table string, rows []ruleRow) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("COPY needs the pgx driver")
		}
		tx, err := c.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
		n, err := tx.CopyFrom(ctx, pgx.Identifier(strings.Split(table, ".")), []string{"ptype", "v0", "v1", "v2", "v3", "v4", "v5"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := &rows[i]
				return []any{r.ptype, r.v0, r.v1, "", "", "", ""}, nil
			}))
		if err != nil {
			return err
		}
		if n != int64(len(rows)) {
			return fmt.Errorf("COPY wrote %d rows of %d", n, len(rows))
		}
		return tx.Commit(ctx)
	})
}

// deleteRulesAboveOn is deleteRulesAbove in the placeholders of either
// database.
func deleteRulesAboveOn(ctx context.Context, db *sql.DB, postgres bool, table string, id int64) error {
	if !postgres {
		return deleteRulesAbove(ctx, db, table, id)
	}
	_, err := db.ExecContext(ctx, "DELETE FROM "+table+" WHERE id > "+strconv.FormatInt(id, 10))
	return err
}
