package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmaccess/crmaccess"
)

// On PostgreSQL over pgx, a write decided ahead of the writer lock
// (crmaccess.AheadUpdater) goes in one round trip: a pipeline, under one
// Sync, of two statements and no BEGIN, so that they run in one implicit
// transaction, committed at the Sync:
//
//  1. plan_cache_mode set for the transaction (as pgwrite.go sets it) and
//     the writer lock, the transaction-scoped advisory lock every write
//     takes;
//  2. the write's one statement (onestatement.go), guarded by what the
//     write expects.
//
// The write's statement starts once the lock is granted, so its snapshot
// (READ COMMITTED: one a statement) holds every write committed before:
// the guard, read on that snapshot (the statement's own changes are not
// visible to it), checks the log's head and which records exist, as a
// write of two round trips reads them after the lock (pgwrite.go). A
// guard that does not hold fails the statement, as a count that is not
// what it must be does (countsMarker); the server then skips the rest up
// to the Sync, and the transaction is rolled back.
//
// Any failure the server answers, not only the guard's (a record the write
// inserts that is stored after all, a rule it removes that is not), means
// that nothing was committed: it is answered as ErrNotAsExpected, and the
// write is decided again under the lock, where the same failure, if it is
// one, is found and reported as Update reports it. The outcome is unknown
// only when the connection failed after the pipeline was sent, and no
// answer of the server's refusal was read: that is commitFailed.

// expectMarker starts the text a write whose guard does not hold casts.
const expectMarker = "crmaccess write expectation:"

// guardSQL is a condition a write's statement checks on the state before
// it: cond, with ? placeholders for args.
type guardSQL struct {
	cond string
	args []any
}

// WritesAhead reports whether UpdateAhead writes: on PostgreSQL over pgx.
func (s *Store) WritesAhead() bool { return s.pgx }

// UpdateAhead writes b as the entry after e.Head in one round trip when
// the log's head is e.Head and the records are as e expects (see above and
// crmaccess.AheadUpdater), and returns the opportunities of read as the
// lock finds them, read in the same round trip, between the lock and the
// write. It answers crmaccess.ErrNotAsExpected, having written nothing,
// when they are not, when the server refuses the write, when b is not of
// the shapes written as one statement, or when the store is not on pgx.
//
// Errors: crmaccess.ErrNotAsExpected; EUNAVAILABLE when the commit's
// answer was lost (its outcome is unknown) or the database is out of
// reach; EINTERNAL.
func (s *Store) UpdateAhead(ctx context.Context, e crmaccess.Expectation, b *crmaccess.Batch, read []int64) (int64, []crmaccess.Opportunity, error) {
	if !s.pgx || b == nil || emptyBatch(b) || !s.fitsOneStatement(b) {
		return 0, nil, crmaccess.ErrNotAsExpected
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, crmaccess.Internal(err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, nil, s.translate(ctx, err)
	}
	defer conn.Close()
	query, args, _ := s.oneStatementSQL(ctx, &wtx{q: conn}, []*crmaccess.Batch{b}, e.Head+1, true, s.expectation(e))
	read = distinct(read)
	var rows []crmaccess.Opportunity
	var refused, unknown error
	sent := false
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		pgc := c.Conn()
		if pgc.PgConn().IsClosed() || pgc.PgConn().TxStatus() != 'I' {
			return driver.ErrBadConn
		}
		sent = true
		batch := &pgx.Batch{}
		batch.Queue(`SELECT set_config('plan_cache_mode', 'force_generic_plan', true), pg_advisory_xact_lock($1)`, lockKey(s.t.log))
		if len(read) > 0 {
			batch.Queue(s.opportunitiesPgxSQL(), read)
		}
		batch.Queue(query, args...)
		br := pgc.SendBatch(ctx, batch)
		var errs [4]error
		if _, errs[0] = br.Exec(); errs[0] == nil && len(read) > 0 {
			rows, errs[1] = readOpportunities(br)
		}
		if errs[0] == nil && errs[1] == nil {
			_, errs[2] = br.Exec()
		}
		errs[3] = br.Close() // reads up to the Sync's answer: the commit's
		pc := pgc.PgConn()
		failed := errors.Join(errs[:]...)
		var pgErr *pgconn.PgError
		idle := !pc.IsClosed() && pc.TxStatus() == 'I'
		switch {
		case failed == nil && idle:
			// Committed at the Sync.
		case errors.As(failed, &pgErr) && idle:
			// The server refused a statement, or the commit: the
			// transaction was rolled back.
			refused = failed
		case pgconn.SafeToRetry(failed):
			refused = failed // nothing was sent
		case failed == nil:
			unknown = errors.New("storage: the connection is not idle after a write's Sync")
		default:
			unknown = failed
		}
		if !idle {
			return driver.ErrBadConn // never back to the pool in a transaction
		}
		return nil
	})
	switch {
	case !sent:
		return 0, nil, crmaccess.ErrNotAsExpected // the connection was not reached: nothing sent
	case refused != nil:
		return 0, nil, crmaccess.ErrNotAsExpected
	case unknown != nil:
		return 0, nil, commitFailed(ctx, unknown)
	case err != nil && !errors.Is(err, driver.ErrBadConn):
		return 0, nil, commitFailed(ctx, err)
	}
	return e.Head + 1, rows, nil
}

// readOpportunities reads the answer of opportunitiesPgxSQL from br.
func readOpportunities(br pgx.BatchResults) ([]crmaccess.Opportunity, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var out []crmaccess.Opportunity
	for rows.Next() {
		o, err := scanOpportunityPgx(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
	}
	rows.Close()
	return out, rows.Err()
}

// expectByKey is the most ids of one kind checked one by one, each by its
// primary key; more are checked with one array.
const expectByKey = 4

// expectation is the guard of e: the log's head, then the records
// expected present and absent.
func (s *Store) expectation(e crmaccess.Expectation) *guardSQL {
	g := &guardSQL{}
	conds := []string{`(SELECT COALESCE(MAX(seq), 0) FROM ` + s.t.log + `) = ?`}
	g.args = append(g.args, e.Head)
	expect := func(table string, ids []int64, present bool) {
		ids = distinct(ids)
		not := ""
		if !present {
			not = "NOT "
		}
		switch {
		case len(ids) == 0:
		case len(ids) <= expectByKey:
			for _, id := range ids {
				conds = append(conds, not+`EXISTS (SELECT FROM `+table+` WHERE id = ?)`)
				g.args = append(g.args, id)
			}
		case present:
			conds = append(conds, `(SELECT count(*) FROM `+table+` WHERE id = ANY(?::bigint[])) = ?`)
			g.args = append(g.args, ids, int64(len(ids)))
		default:
			conds = append(conds, `NOT EXISTS (SELECT FROM `+table+` WHERE id = ANY(?::bigint[]))`)
			g.args = append(g.args, ids)
		}
	}
	for _, r := range []struct {
		reads   crmaccess.Reads
		present bool
	}{{e.Present, true}, {e.Absent, false}} {
		expect(s.t.opportunities, r.reads.Opportunities, r.present)
		expect(s.t.contacts, r.reads.Contacts, r.present)
		expect(s.t.stages, r.reads.Stages, r.present)
	}
	g.cond = strings.Join(conds, " AND ")
	return g
}
