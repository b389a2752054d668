package faultdb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/crmaccess/crmaccess/internal/faultdb"
	"github.com/crmaccess/crmaccess/storage"
)

func open(t *testing.T) (*sql.DB, *faultdb.Injector) {
	t.Helper()
	in := faultdb.New()
	db, err := sql.Open(in.DriverName(), storage.SQLiteDSN(filepath.Join(t.TempDir(), "f.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	return db, in
}

func write(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		tx.Rollback()
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (2)`); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func rows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCountsEveryCallOfATransaction(t *testing.T) {
	db, in := open(t)
	in.Count()
	if err := write(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	r := in.Stop()
	want := []faultdb.Op{faultdb.OpBegin, faultdb.OpExec, faultdb.OpQuery, faultdb.OpExec, faultdb.OpCommit}
	if r.Calls != len(want) || r.Fired != nil {
		t.Fatalf("report %+v, want %d calls and no fault", r, len(want))
	}
	for i, c := range r.Log {
		if c.Op != want[i] {
			t.Errorf("call %d is %s, want %s", i+1, c.Op, want[i])
		}
	}
}

// Failing any call of the transaction leaves the table as it was, and the
// connection it ran on works for the next transaction.
func TestFailingTheKthCallLeavesNoTrace(t *testing.T) {
	db, in := open(t)
	for k := 1; k <= 5; k++ {
		in.FailAt(k)
		err := write(t.Context(), db)
		r := in.Stop()
		var f *faultdb.Fault
		if !errors.As(err, &f) || f.N != k || r.Fired != f {
			t.Fatalf("k=%d: error %v, report %+v; want the injected fault", k, err, r)
		}
		if n := rows(t, db); n != 0 {
			t.Fatalf("k=%d: %d rows after the failure, want 0", k, n)
		}
	}
	if err := write(t.Context(), db); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
	if n := rows(t, db); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

func TestPreparedStatementsAreCounted(t *testing.T) {
	db, in := open(t)
	in.FailAt(2)
	st, err := db.Prepare(`INSERT INTO t VALUES (?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Exec(7); err == nil {
		t.Fatal("the second call (the statement's exec) did not fail")
	}
	if r := in.Stop(); r.Calls != 2 || r.Fired == nil || r.Fired.Call.Op != faultdb.OpExec {
		t.Fatalf("report %+v", r)
	}
	if _, err := st.Exec(7); err != nil {
		t.Fatal(err)
	}
}
