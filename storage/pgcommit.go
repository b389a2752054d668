package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmaccess/crmaccess"
)

// On PostgreSQL over pgx, a write that goes as one statement
// (onestatement.go, pgarrays.go) is sent with its COMMIT in one round
// trip: a pipeline of the two statements under one Sync. An error of the
// write makes the server skip everything up to the Sync, the COMMIT with
// it, and leaves the transaction failed; Update then rolls it back. So the
// write must fail in the server whenever it must not commit: the counts
// the step by step write checks in Go (rules removed, records deleted or
// updated) are checked by the statement itself, which fails when one is
// not what it must be, naming the counts (countsFailed); the check that
// failed then gives its error, after the ROLLBACK.
//
// The outcome is unknown only when the connection failed with the
// COMMIT sent and no answer of the write's refusal read: that is
// commitFailed, as a COMMIT sent alone whose answer is lost.

// countsMarker starts the text a checked write fails with when a count is
// not what its check wants: the text, with the counts after it, is cast
// to bigint, which fails naming the text (PostgreSQL's SQL raises no
// error of its own outside a function).
const countsMarker = "crmaccess write counts:"

// countsFailed returns the counts a checked write failed with (in the
// order of its checks), if err is that failure.
func countsFailed(err error) ([]int64, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22P02" {
		return nil, false
	}
	_, rest, ok := strings.Cut(pgErr.Message, countsMarker)
	if !ok {
		return nil, false
	}
	// " 1 0" and then the message's closing quote, whatever the server's
	// language makes it.
	var counts []int64
	for _, f := range strings.Fields(rest) {
		end := 0
		for end < len(f) && (f[end] >= '0' && f[end] <= '9' || end == 0 && f[end] == '-') {
			end++
		}
		n, err := strconv.ParseInt(f[:end], 10, 64)
		if err != nil {
			break
		}
		counts = append(counts, n)
		if end < len(f) {
			break
		}
	}
	return counts, len(counts) > 0
}

// pipelined reports whether batches go as one statement sent with its
// COMMIT (writeAndCommit).
func (s *Store) pipelined(batches []*crmaccess.Batch) bool {
	if len(batches) == 1 {
		return s.fitsOneStatement(batches[0])
	}
	return s.fitOneStatement(batches)
}

// writeAndCommit writes batches (pipelined) as the entries from first on,
// in tx on conn, and commits, in one round trip. Its error is final: the
// write's (translated), the failed check's, or commitFailed's when the
// outcome is unknown. A transaction the server did not commit is rolled
// back.
func (s *Store) writeAndCommit(ctx context.Context, conn *sql.Conn, tx *wtx, batches []*crmaccess.Batch, first int64) error {
	var query string
	var args []any
	var checks []countCheck
	if len(batches) > 1 {
		args, checks = s.arrayArgs(ctx, tx, batches, first)
		for _, c := range checks {
			args = append(args, c.want)
		}
		query = s.arrayWriteSQL(true)
	} else {
		query, args, checks = s.oneStatementSQL(ctx, tx, batches, first, true, nil)
	}
	var refused, unknown error // refused: not committed, the transaction left open
	sent := false
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			refused = errNotPgx
			return nil
		}
		sent = true
		pgc := c.Conn()
		b := &pgx.Batch{}
		b.Queue(query, args...)
		b.Queue("commit")
		br := pgc.SendBatch(ctx, b)
		// Exec, not QueryRow: the answer is not needed (the statement
		// checked itself), and a failed QueryRow leaves the pipeline
		// unread.
		_, writeErr := br.Exec()
		var tag pgconn.CommandTag
		var commitErr error
		if writeErr == nil {
			tag, commitErr = br.Exec()
		}
		closeErr := br.Close()
		pc := pgc.PgConn()
		status := pc.TxStatus()
		var pgErr *pgconn.PgError
		switch {
		case writeErr != nil && (errors.As(writeErr, &pgErr) || !pc.IsClosed() && (status == 'T' || status == 'E')):
			// The server refused the write, so skipped the COMMIT; or
			// the pipeline never reached it.
			refused = writeErr
		case writeErr == nil && commitErr == nil && tag.String() == "COMMIT":
			// Committed.
		default:
			unknown = errors.Join(writeErr, commitErr, closeErr)
			if unknown == nil {
				unknown = fmt.Errorf("storage: COMMIT answered %q", tag.String())
			}
		}
		if pc.IsClosed() || (refused == nil && status != 'I') {
			return driver.ErrBadConn // never back to the pool in a transaction
		}
		return nil
	})
	if !sent && refused == nil {
		refused = err // the connection was not reached
	}
	switch {
	case refused != nil:
		s.endOnConn(ctx, conn, "rollback")
		if counts, ok := countsFailed(refused); ok {
			if len(counts) != len(checks) {
				return crmaccess.Internal(fmt.Errorf("storage: %d counts of a failed write, %d checks: %w", len(counts), len(checks), refused))
			}
			if err := check(checks, counts); err != nil {
				return s.translate(ctx, err)
			}
			return crmaccess.Internal(refused)
		}
		return s.translate(ctx, refused)
	case unknown != nil:
		return commitFailed(ctx, unknown)
	case err != nil && !errors.Is(err, driver.ErrBadConn):
		return commitFailed(ctx, err)
	}
	return nil
}
