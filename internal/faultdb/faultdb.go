package faultdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"
)

// Op is the kind of a database call.
type Op string

const (
	OpBegin   Op = "begin"
	OpPrepare Op = "prepare"
	OpExec    Op = "exec"
	OpQuery   Op = "query"
	OpCommit  Op = "commit"
)

// Call is one counted call: its kind and, for Prepare, Exec and Query, the
// start of its SQL; Prepared is set on an Exec or Query of a statement
// prepared before (a *sql.Stmt), not compiled for this call alone.
type Call struct {
	Op       Op
	Query    string
	Prepared bool
}

// Fault is the error of an injected failure.
type Fault struct {
	N    int // the call's number since Count or FailAt, from 1
	Call Call
}

func (f *Fault) Error() string {
	return fmt.Sprintf("faultdb: injected failure of call %d (%s %s)", f.N, f.Call.Op, f.Call.Query)
}

// Report is what Stop returns: how many calls were counted, which, and
// whether the failure asked for by FailAt was injected.
type Report struct {
	Calls int
	Log   []Call
	Fired *Fault // nil when no call failed
}

// Injector counts the calls of its driver and fails the one asked for.
type Injector struct {
	name string

	mu       sync.Mutex
	counting bool
	failAt   int
	log      []Call
	fired    *Fault
}

var registered atomic.Int64

// New registers a new driver, wrapping go-sqlite3, and returns its injector.
// Every call passes through until Count or FailAt.
func New() *Injector {
	in := &Injector{name: fmt.Sprintf("faultdb-sqlite3-%d", registered.Add(1))}
	sql.Register(in.name, &drv{in: in, real: &sqlite3.SQLiteDriver{}})
	return in
}

// DriverName is the name to open the driver with (sql.Open, or gorm's
// sqlite.Config.DriverName). The DSN is go-sqlite3's.
func (in *Injector) DriverName() string { return in.name }

// Count starts counting calls from zero, failing none.
func (in *Injector) Count() { in.FailAt(0) }

// FailAt starts counting calls from zero and fails call k (from 1); k <= 0
// fails none.
func (in *Injector) FailAt(k int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counting, in.failAt, in.log, in.fired = true, k, nil, nil
}

// Stop stops counting and reports what was counted since Count or FailAt.
func (in *Injector) Stop() Report {
	in.mu.Lock()
	defer in.mu.Unlock()
	r := Report{Calls: len(in.log), Log: in.log, Fired: in.fired}
	in.counting, in.failAt, in.log, in.fired = false, 0, nil, nil
	return r
}

// enter counts a call and returns the fault to inject, or nil.
func (in *Injector) enter(op Op, query string) error {
	return in.enterCall(op, query, false)
}

func (in *Injector) enterCall(op Op, query string, prepared bool) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.counting {
		return nil
	}
	if len(query) > 60 {
		query = query[:60] + "…"
	}
	c := Call{Op: op, Query: query, Prepared: prepared}
	in.log = append(in.log, c)
	if len(in.log) == in.failAt {
		in.fired = &Fault{N: len(in.log), Call: c}
		return in.fired
	}
	return nil
}

type drv struct {
	in   *Injector
	real driver.Driver
}

func (d *drv) Open(dsn string) (driver.Conn, error) {
	c, err := d.real.Open(dsn)
	if err != nil {
		return nil, err
	}
	return &conn{in: d.in, real: c.(*sqlite3.SQLiteConn)}, nil
}

// conn wraps a go-sqlite3 connection with the context interfaces that
// database/sql prefers, so every call passes through enter.
type conn struct {
	in   *Injector
	real *sqlite3.SQLiteConn
}

var (
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.in.enter(OpPrepare, query); err != nil {
		return nil, err
	}
	s, err := c.real.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{in: c.in, query: query, real: s.(*sqlite3.SQLiteStmt)}, nil
}

func (c *conn) Close() error { return c.real.Close() }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.in.enter(OpBegin, ""); err != nil {
		return nil, err
	}
	tx, err := c.real.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txn{in: c.in, real: tx}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.in.enter(OpExec, query); err != nil {
		return nil, err
	}
	return c.real.ExecContext(ctx, query, args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.in.enter(OpQuery, query); err != nil {
		return nil, err
	}
	return c.real.QueryContext(ctx, query, args)
}

func (c *conn) Ping(ctx context.Context) error { return c.real.Ping(ctx) }

type txn struct {
	in   *Injector
	real driver.Tx
}

func (t *txn) Commit() error {
	if err := t.in.enter(OpCommit, ""); err != nil {
		_ = t.real.Rollback() // the failed COMMIT leaves nothing behind
		return err
	}
	return t.real.Commit()
}

func (t *txn) Rollback() error { return t.real.Rollback() }

type stmt struct {
	in    *Injector
	query string
	real  *sqlite3.SQLiteStmt
}

var (
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error  { return s.real.Close() }
func (s *stmt) NumInput() int { return s.real.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.in.enterCall(OpExec, s.query, true); err != nil {
		return nil, err
	}
	return s.real.ExecContext(ctx, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.in.enterCall(OpQuery, s.query, true); err != nil {
		return nil, err
	}
	return s.real.QueryContext(ctx, args)
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}
