package storage

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/crmaccess/crmaccess"
)

var _ crmaccess.PartStore = (*Store)(nil)

// UpdateInParts runs one write transaction whose batch build writes in
// parts (see crmaccess.PartStore): the writer lock and the head as in
// Update, each part's share types, privacy flags, rules and change
// records as write is called, then the log entry's row, counting the
// change records of every part, and the commit. Nothing of a write that
// fails is left: the transaction rolls back.
//
// Errors: build's error as it is; ECONFLICT (a removed rule missing, an
// added one already stored, an updated record missing); EUNAVAILABLE (the
// database was busy, or the commit's answer was lost); EINTERNAL (a part
// with more than UpdateInParts writes).
func (s *Store) UpdateInParts(ctx context.Context, build func(ctx context.Context, tx crmaccess.Reader, head int64, write func(*crmaccess.Batch) error) error) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, crmaccess.Internal(err)
	}
	if s.pgx {
		return s.updateInPartsOnConn(ctx, build)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.translate(ctx, err)
	}
	if s.stmts != nil {
		// Once the transaction has ended, whatever its outcome.
		defer s.stmts.prepare(ctx, s.db)
	}
	w := s.newWtx(tx, true)
	head, err := s.lockHead(ctx, w)
	if err != nil {
		_ = tx.Rollback() // the error that matters is err
		return 0, s.translate(ctx, err)
	}
	pos, wrote, err := s.writeParts(ctx, w, head, build)
	if err != nil || !wrote {
		_ = tx.Rollback() // the error that matters is err
		if err != nil {
			return 0, s.translate(ctx, err)
		}
		return pos, nil
	}
	if err := tx.Commit(); err != nil {
		return 0, commitFailed(ctx, err)
	}
	if s.ckpt != nil {
		s.ckpt.written()
	}
	return pos, nil
}

// updateInPartsOnConn is UpdateInParts on PostgreSQL over pgx: the
// transaction begun by hand on a connection of its own by beginOnConn, as
// Update's (pgwrite.go), so that a part longer than one statement goes the bulk way
// (bulk.go: COPY for the rows added, arrays for the rules removed); in a
// *sql.Tx each part went as chunks of multi-row statements, and the rules
// removed as chunks of row values, which PostgreSQL answered by scanning
// the rule table once a chunk.
func (s *Store) updateInPartsOnConn(ctx context.Context, build func(ctx context.Context, tx crmaccess.Reader, head int64, write func(*crmaccess.Batch) error) error) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, s.translate(ctx, err)
	}
	defer conn.Close()
	tx := &wtx{q: conn}
	head, err := s.beginOnConn(ctx, conn, tx)
	if err != nil {
		s.endOnConn(ctx, conn, "rollback")
		return 0, s.translate(ctx, err)
	}
	pos, wrote, err := s.writeParts(ctx, tx, head, build)
	if err != nil || !wrote {
		s.endOnConn(ctx, conn, "rollback")
		if err != nil {
			return 0, s.translate(ctx, err)
		}
		return pos, nil
	}
	if err := s.endOnConn(ctx, conn, "commit"); err != nil {
		return 0, commitFailed(ctx, err)
	}
	return pos, nil
}

// writeParts is UpdateInParts's transaction up to the commit, once the
// writer lock is taken and the log's head read: the position written, or
// the head and wrote false when build wrote no part.
func (s *Store) writeParts(ctx context.Context, tx *wtx, head int64, build func(context.Context, crmaccess.Reader, int64, func(*crmaccess.Batch) error) error) (pos int64, wrote bool, err error) {
	pos = head + 1
	var first *crmaccess.Batch // the entry's kind and time
	changes := 0
	var failed error // a part's write that failed fails the whole, whatever build does with it
	write := func(p *crmaccess.Batch) (err error) {
		defer func() {
			if err != nil && failed == nil {
				failed = err
			}
		}()
		if failed != nil {
			return failed
		}
		if !onlyAccess(p) {
			return crmaccess.Internal(errors.New("storage: a part of a write holds more than changes of access"))
		}
		if first == nil {
			first = &crmaccess.Batch{Kind: p.Kind, At: p.At}
			if first.At.IsZero() {
				first.At = time.Now()
			}
		}
		for _, step := range []func(context.Context, *wtx, *crmaccess.Batch) error{
			s.updateOpportunityPrivacy, s.updateContactShares, s.removeRules, s.addRules,
		} {
			if err := step(ctx, tx, p); err != nil {
				return err
			}
		}
		changes += len(p.Changes)
		return s.insertChanges(ctx, tx, p.Changes, pos)
	}
	if err := build(ctx, reader{s, tx}, head, write); err != nil {
		return 0, false, err
	}
	if failed != nil {
		return 0, false, failed
	}
	if first == nil {
		return head, false, nil
	}
	sec, nsec := unixParts(first.At)
	if _, err := tx.ExecContext(ctx, s.d.bind(`INSERT INTO `+s.t.log+` (seq, at_sec, at_nsec, kind, changes) VALUES (?, ?, ?, ?, ?)`),
		pos, sec, nsec, string(first.Kind), changes); err != nil {
		return 0, false, err
	}
	if s.d.postgres() {
		// Delivered to the listeners when the transaction commits.
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.t.log, strconv.FormatInt(pos, 10)); err != nil {
			return 0, false, err
		}
	}
	return pos, true, nil
}

// onlyAccess reports whether b holds nothing but what a part may hold.
func onlyAccess(b *crmaccess.Batch) bool {
	rest := *b
	rest.OpportunityPrivacy, rest.ContactShares, rest.RemoveRules, rest.AddRules, rest.Changes = nil, nil, nil, nil, nil
	rest.Kind, rest.At = "", time.Time{}
	return emptyBatch(&rest)
}
