package storage

import (
	"context"
	"database/sql"
	"slices"
	"sync"
)

// The statement cache: on SQLite, compiling a statement costs about as much
// as running it, and a write runs the same few statements every time. The
// Store keeps the statements its writes run prepared on the database
// (database/sql's *sql.Stmt, which holds one prepared statement per
// connection it has run on) and runs them in a write's transaction through
// Tx.StmtContext: compiled once per connection, not once per write.
//
// A statement is not prepared inside the transaction that first runs it
// (that takes no more work than running it plainly): it is noted, and
// prepared on the database once the transaction has ended, outside any
// transaction, so that preparing never waits for a connection while a
// transaction holds one. A failed preparation only leaves the statement
// out of the cache.
//
// Reads outside a transaction (the Store's Opportunity, Users, Log, …)
// have a cache of their own: their statements are prepared on the database
// when first run.
//
// PostgreSQL's driver (pgx) keeps its own cache of prepared statements per
// connection, so the Store keeps none there; nor inside a host's
// transaction (InTx), which may be on another *sql.DB.

// maxCachedStatements bounds the cache: statements past it run as before,
// compiled each time.
const maxCachedStatements = 512

type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]struct{} // run in a transaction, not prepared yet
	closed  bool
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]*sql.Stmt{}, pending: map[string]struct{}{}}
}

// get returns the cached statement of query, or nil after noting it to be
// prepared.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if !c.closed && len(c.stmts)+len(c.pending) < maxCachedStatements {
		c.pending[query] = struct{}{}
	}
	return nil
}

// prepare prepares the noted statements on db. It runs outside any
// transaction of the Store's; errors leave a statement uncached.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	slices.Sort(queries) // the same order every time: tests count calls
	for _, q := range queries {
		st, err := db.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, ok := c.stmts[q]; ok || c.closed {
			st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

// close closes every cached statement; the cache takes no more.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
	clear(c.pending)
}

// wtx is a write's transaction: the Store's own (Update) or a host's
// (InTx). Its statements run through the Store's cache when it has one.
type wtx struct {
	// q runs the transaction's statements: tx, or on PostgreSQL the
	// connection of a transaction begun by hand (pgwrite.go).
	q     txQueries
	tx    *sql.Tx    // nil on a connection
	cache *stmtCache // nil: no cache
	// stmts are this transaction's handles of cached statements.
	stmts map[string]*sql.Stmt
	// jitOff is set once the transaction turned JIT off for its bulk
	// statements (bulk.go).
	jitOff bool
	// ahead is what was read with the writer lock (pgahead.go), or nil.
	ahead *readAhead
}

// txQueries is what *sql.Tx and *sql.Conn share.
type txQueries interface {
	execer
	queryer
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func (s *Store) newWtx(tx *sql.Tx, own bool) *wtx {
	w := &wtx{q: tx, tx: tx}
	if own && s.stmts != nil {
		w.cache = s.stmts
	}
	return w
}

// stmt returns the transaction's handle of query's cached statement, or
// nil when it is not cached (yet).
func (w *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if w.cache == nil || w.tx == nil {
		return nil
	}
	if st, ok := w.stmts[query]; ok {
		return st
	}
	st := w.cache.get(query)
	if st == nil {
		return nil
	}
	// Prepared on the transaction's connection now unless it was before;
	// closed with the transaction.
	tst := w.tx.StmtContext(ctx, st)
	if w.stmts == nil {
		w.stmts = map[string]*sql.Stmt{}
	}
	w.stmts[query] = tst
	return tst
}

func (w *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := w.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return w.q.ExecContext(ctx, query, args...)
}

func (w *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := w.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return w.q.QueryContext(ctx, query, args...)
}

func (w *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := w.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return w.q.QueryRowContext(ctx, query, args...)
}

// PrepareContext returns a statement of the transaction that the caller
// closes: a handle of the cached one, or one prepared in the transaction.
func (w *wtx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if w.cache != nil && w.tx != nil {
		if st := w.cache.get(query); st != nil {
			return w.tx.StmtContext(ctx, st), nil
		}
	}
	return w.q.PrepareContext(ctx, query)
}

// prepared returns the cached statement of query, preparing it on db now
// when it is not cached yet (reads outside a transaction hold no
// connection while they prepare). nil: not cached (full, or the
// preparation failed: running the query plainly reports the error).
func (c *stmtCache) prepared(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := c.closed || len(c.stmts) >= maxCachedStatements
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if held, ok := c.stmts[query]; ok || c.closed {
		st.Close()
		return held
	}
	c.stmts[query] = st
	return st
}

// cachedDB is the Store's database for reads outside a transaction, their
// statements through the read cache.
type cachedDB struct {
	db    *sql.DB
	cache *stmtCache
}

// reads is what the Store reads through outside a transaction.
func (s *Store) reads() queryer {
	if s.readStmts == nil {
		return s.db
	}
	return cachedDB{s.db, s.readStmts}
}

func (c cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.cache.prepared(ctx, c.db, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.cache.prepared(ctx, c.db, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}
