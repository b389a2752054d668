package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmaccess/crmaccess"
)

// On PostgreSQL through pgx's database/sql driver, Update begins its
// transaction by hand on a connection of its own, to save round trips:
// database/sql's BeginTx sends BEGIN alone and waits for its answer before
// the first statement. A write takes two round trips:
//
//  1. one pipeline (pgx's batch: prepared statements, one Sync) of BEGIN,
//     SET LOCAL plan_cache_mode, schema v7's function (the writer lock,
//     then the head) and the reads of the records the write names
//     (pgahead.go), each statement on a snapshot taken when it starts, so
//     after the lock was granted;
//  2. the write's one statement and COMMIT, in one pipeline
//     (pgcommit.go); a write of another shape runs its statements as it
//     would in a *sql.Tx, then COMMIT alone.
//
// plan_cache_mode is set for the transaction only: the write's statements
// are prepared once a connection (pgx's statement cache) and take the same
// plan whatever their arrays hold (pgarrays.go), so planning them at every
// execution is waste. Any other read a build makes goes to the connection
// as in a *sql.Tx.
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

// beginOnConn begins the transaction on conn, takes the writer lock,
// reads the head and the records ctx names (into tx), in one round trip
// (see above); it returns the head. A failure discards the connection:
// the server then ends the transaction, and the lock with it.
func (s *Store) beginOnConn(ctx context.Context, conn *sql.Conn, tx *wtx) (int64, error) {
	reads, ahead := readsOf(ctx)
	var head int64
	var failed error
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			failed = errNotPgx
			return nil
		}
		pgc := c.Conn()
		b := &pgx.Batch{}
		b.Queue("begin")
		b.Queue("set local plan_cache_mode = force_generic_plan")
		b.Queue(`SELECT `+s.t.lockHead+`($1)`, lockKey(s.t.log))
		if ahead {
			s.queueReads(b, reads)
		}
		br := pgc.SendBatch(ctx, b)
		failed = func() error {
			for range 2 {
				if _, err := br.Exec(); err != nil {
					return err
				}
			}
			rows, err := br.Query()
			if err != nil {
				return err
			}
			heads := 0
			for rows.Next() {
				heads++
				if err := rows.Scan(&head); err != nil {
					rows.Close()
					return err
				}
			}
			if rows.Close(); rows.Err() != nil {
				return rows.Err()
			}
			if ahead {
				if tx.ahead, err = readResults(br, reads); err != nil {
					return err
				}
			}
			if err := br.Close(); err != nil {
				return err
			}
			if heads != 1 || pgc.PgConn().TxStatus() != 'T' {
				return errors.New("storage: the writer lock's answer is not one head inside a transaction")
			}
			return nil
		}()
		if failed != nil {
			br.Close()
			return driver.ErrBadConn // whatever the pipeline's state
		}
		return nil
	})
	if failed != nil {
		return 0, failed
	}
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
