package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmaccess/crmaccess"
)

// On PostgreSQL through pgx's database/sql driver, Update begins its
// transaction by hand on a connection of its own, to save a round trip:
// database/sql's BeginTx sends BEGIN alone and waits for its answer before
// the first statement. Update sends instead, in one simple-protocol
// message, "SELECT lock_head(k); BEGIN": the SELECT (schema v7's function:
// the writer lock, then the head) runs in the implicit transaction of the
// message, which BEGIN turns into a transaction block (PostgreSQL's rule
// for a BEGIN inside a multi-statement message), so the lock is held until
// the COMMIT or ROLLBACK that Update sends at the end, as with BeginTx. The
// statements in between run on the connection as they would in a *sql.Tx.
// The same message sets plan_cache_mode for the transaction only: the
// write's statements are prepared once a connection (pgx's statement
// cache) and take the same plan whatever their arrays hold
// (pgarrays.go), so planning them at every execution is waste.
//
// A connection never goes back to the pool inside a transaction: after
// the COMMIT or ROLLBACK, the connection's transaction status (from the
// server's last ReadyForQuery, no round trip) must be idle, and a
// connection that is not, or whose ROLLBACK failed, is discarded
// (driver.ErrBadConn).

// withPgConn calls fn with conn's pgx connection.
func withPgConn(conn *sql.Conn, fn func(*pgconn.PgConn) error) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		return fn(c.Conn().PgConn())
	})
}

// updateOnConn is UpdateGroup on PostgreSQL over pgx (see above). The
// message that takes the writer lock reads the records ctx names
// (pgahead.go); a write of one statement goes with its COMMIT
// (pgcommit.go).
func (s *Store) updateOnConn(ctx context.Context, builds []crmaccess.BuildFunc) ([]int64, []error, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, s.translate(ctx, err)
	}
	defer conn.Close()
	tx := &wtx{q: conn}
	head, err := s.beginOnConn(ctx, conn, tx)
	if err != nil {
		s.endOnConn(ctx, conn, "rollback")
		return nil, nil, s.translate(ctx, err)
	}
	positions, errs, batches := s.buildGroup(ctx, tx, head, builds)
	if len(batches) == 0 {
		s.endOnConn(ctx, conn, "rollback")
		return positions, errs, nil
	}
	if s.pipelined(batches) {
		if err := s.writeAndCommit(ctx, conn, tx, batches, head+1); err != nil {
			return nil, nil, err
		}
		return positions, errs, nil
	}
	if err := s.writeGroup(ctx, tx, batches, head+1); err != nil {
		s.endOnConn(ctx, conn, "rollback")
		return nil, nil, s.translate(ctx, err)
	}
	if err := s.endOnConn(ctx, conn, "commit"); err != nil {
		return nil, nil, commitFailed(ctx, err)
	}
	return positions, errs, nil
}

// beginOnConn takes the writer lock, begins the transaction and reads the
// records ctx names into tx (one message, see above); it returns the
// head.
func (s *Store) beginOnConn(ctx context.Context, conn *sql.Conn, tx *wtx) (int64, error) {
	reads, hint, n := s.readAheadStatements(ctx)
	var head int64
	err := withPgConn(conn, func(pc *pgconn.PgConn) error {
		results, err := pc.Exec(ctx, `SELECT `+s.t.lockHead+`(`+strconv.FormatInt(lockKey(s.t.log), 10)+`); BEGIN; `+
			`SET LOCAL plan_cache_mode = force_generic_plan`+reads).ReadAll()
		if err != nil {
			return err
		}
		if len(results) != 3+n || len(results[0].Rows) != 1 || len(results[0].Rows[0]) != 1 || pc.TxStatus() != 'T' {
			return errors.New("storage: the writer lock's answer is not one head inside a transaction")
		}
		if head, err = strconv.ParseInt(string(results[0].Rows[0][0]), 10, 64); err != nil {
			return err
		}
		if n > 0 {
			tx.ahead, err = parseReadAhead(hint, results[3:])
		}
		return err
	})
	return head, err
}

// rollbackTimeout bounds a ROLLBACK sent after ctx was cancelled.
const rollbackTimeout = 5 * time.Second

// endOnConn sends COMMIT or ROLLBACK (lower case, as pgx's Tx sends them)
// on conn and returns the error of a COMMIT that did not commit. A
// connection left in a transaction, or broken, is discarded.
func (s *Store) endOnConn(ctx context.Context, conn *sql.Conn, end string) error {
	if end == "rollback" {
		// A cancelled ctx must not leave the transaction open.
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		ctx = c
	}
	var ended error
	_ = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			ended = errNotPgx
			return driver.ErrBadConn
		}
		pc := c.Conn().PgConn()
		if pc.IsClosed() {
			ended = errors.New("storage: the connection is closed")
			return driver.ErrBadConn
		}
		results, err := pc.Exec(ctx, end).ReadAll()
		switch {
		case err != nil:
			ended = err
		case end == "commit" && (len(results) != 1 || results[0].CommandTag.String() != "COMMIT"):
			// COMMIT of a failed transaction answers ROLLBACK.
			ended = errors.New("storage: the transaction was rolled back at COMMIT")
		}
		if err != nil || pc.TxStatus() != 'I' {
			return driver.ErrBadConn // never back to the pool in a transaction
		}
		return nil
	})
	return ended
}
