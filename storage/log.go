package storage

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/crmaccess/crmaccess"
)

// Update runs one write transaction (see crmaccess.Store): it takes the
// writer lock first (PostgreSQL: a transaction-scoped advisory lock;
// SQLite: the database's write lock), reads the head of the log, calls
// build with a reader of the transaction, writes the batch build returns
// with its log entry at head+1, and commits. Holding the lock until the
// commit is what makes positions visible in commit order: the next writer
// reads the head only once this one has committed.
//
// Errors: build's error as it is; ECONFLICT (RequireEmpty found data, a
// record or rule already stored, a removed rule or updated record missing);
// EUNAVAILABLE (the database was busy, or the commit's answer was lost and
// its outcome is unknown); EINTERNAL.
func (s *Store) Update(ctx context.Context, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, error) {
	positions, errs, err := s.UpdateGroup(ctx, []crmaccess.BuildFunc{build})
	if err != nil {
		return 0, err
	}
	if errs[0] != nil {
		return 0, s.translate(ctx, errs[0])
	}
	return positions[0], nil
}

// UpdateGroup runs several writes in one transaction under one writer
// lock (see crmaccess.GroupUpdater): builds in order, each with the head
// the writes before it brought the log to, each batch its own log entry.
// A build's error is that build's alone; an error writing a batch, or the
// commit's, fails every build and writes nothing (the commit's may leave
// the outcome unknown, as Update's).
func (s *Store) UpdateGroup(ctx context.Context, builds []crmaccess.BuildFunc) ([]int64, []error, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, crmaccess.Internal(err)
	}
	if s.pgx {
		return s.updateOnConn(ctx, builds)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, s.translate(ctx, err)
	}
	if s.stmts != nil {
		// Once the transaction has ended, whatever its outcome.
		defer s.stmts.prepare(ctx, s.db)
	}
	w := s.newWtx(tx, true)
	head, err := s.lockHead(ctx, w)
	if err != nil {
		_ = tx.Rollback()
		return nil, nil, s.translate(ctx, err)
	}
	positions, errs, wrote, err := s.buildAndWriteGroup(ctx, w, head, builds)
	if err != nil || !wrote {
		_ = tx.Rollback() // the error that matters is err
		if err != nil {
			return nil, nil, s.translate(ctx, err)
		}
		return positions, errs, nil
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, commitFailed(ctx, err)
	}
	if s.ckpt != nil {
		s.ckpt.written()
	}
	return positions, errs, nil
}

// buildAndWriteGroup runs builds in order inside tx, from head, then
// writes their batches as consecutive entries (on PostgreSQL, as one
// statement when they fit one). It returns each build's position (its
// entry's, or the head it saw when it wrote nothing) and error, and
// whether anything was written; err is a write's error, which fails them
// all.
func (s *Store) buildAndWriteGroup(ctx context.Context, tx *wtx, head int64, builds []crmaccess.BuildFunc) (positions []int64, errs []error, wrote bool, err error) {
	positions, errs, batches := s.buildGroup(ctx, tx, head, builds)
	if len(batches) == 0 {
		return positions, errs, false, nil
	}
	if err := s.writeGroup(ctx, tx, batches, head+1); err != nil {
		return nil, nil, false, err
	}
	return positions, errs, true, nil
}

// buildGroup runs builds in order inside tx, from head, and returns each
// build's position and error (as buildAndWriteGroup) and the batches to
// write from head+1 on.
func (s *Store) buildGroup(ctx context.Context, tx *wtx, head int64, builds []crmaccess.BuildFunc) (positions []int64, errs []error, batches []*crmaccess.Batch) {
	positions, errs = make([]int64, len(builds)), make([]error, len(builds))
	for i, build := range builds {
		b, err := build(ctx, reader{s, tx}, head)
		if err != nil {
			errs[i] = err
			continue
		}
		if b == nil || emptyBatch(b) {
			positions[i] = head
			continue
		}
		head++
		positions[i] = head
		batches = append(batches, b)
	}
	return positions, errs, batches
}

// writeGroup writes batches as the consecutive entries from first on.
func (s *Store) writeGroup(ctx context.Context, tx *wtx, batches []*crmaccess.Batch, first int64) error {
	if len(batches) > 1 && s.fitOneStatement(batches) {
		// PostgreSQL: every entry, with the notification, in one round
		// trip.
		return s.writeOneStatement(ctx, tx, batches, first)
	}
	for k, b := range batches {
		if err := s.writeAt(ctx, tx, b, first+int64(k)); err != nil {
			return err
		}
	}
	return nil
}

// commitFailed is Update's error when COMMIT did not answer success.
func commitFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return crmaccess.Internal(ctx.Err())
	}
	return &crmaccess.Error{Code: crmaccess.EUNAVAILABLE,
		Message: "the database did not confirm the write; its outcome is unknown", Err: err}
}

// buildAndWrite is Update's transaction up to the commit. It returns the
// position written, or the head and a nil batch when there is nothing to
// write.
func (s *Store) buildAndWrite(ctx context.Context, tx *wtx, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, *crmaccess.Batch, error) {
	head, err := s.lockHead(ctx, tx)
	if err != nil {
		return 0, nil, err
	}
	return s.buildAndWriteAt(ctx, tx, head, build)
}

// buildAndWriteAt is buildAndWrite once the writer lock is held and the
// head read.
func (s *Store) buildAndWriteAt(ctx context.Context, tx *wtx, head int64, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, *crmaccess.Batch, error) {
	b, err := build(ctx, reader{s, tx}, head)
	if err != nil {
		return 0, nil, err
	}
	if b == nil || emptyBatch(b) {
		return head, nil, nil
	}
	if err := s.writeAt(ctx, tx, b, head+1); err != nil {
		return 0, nil, err
	}
	return head + 1, b, nil
}

// writeAt writes b as the log entry at pos, with PostgreSQL's
// notification of it.
func (s *Store) writeAt(ctx context.Context, tx *wtx, b *crmaccess.Batch, pos int64) error {
	if s.fitsOneStatement(b) {
		// PostgreSQL: the whole write, with its notification, in one
		// round trip (onestatement.go).
		return s.writeOneStatement(ctx, tx, []*crmaccess.Batch{b}, pos)
	}
	if err := s.write(ctx, tx, b, pos); err != nil {
		return err
	}
	if s.d.postgres() {
		// Delivered to the listeners when the transaction commits.
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.t.log, strconv.FormatInt(pos, 10)); err != nil {
			return err
		}
	}
	return nil
}

// lockHead takes the writer lock of tx and returns the head of the log, read
// once the lock is held. PostgreSQL: the advisory lock and the head in one
// call of schema v7's function. SQLite: Open's connections begin immediate
// transactions (BEGIN took the database's write lock); a caller's database
// may begin deferred ones, so a statement that writes nothing takes it.
func (s *Store) lockHead(ctx context.Context, tx *wtx) (int64, error) {
	if s.d.postgres() {
		var head int64
		err := tx.QueryRowContext(ctx, `SELECT `+s.t.lockHead+`($1)`, lockKey(s.t.log)).Scan(&head)
		return head, err
	}
	if !s.immediate {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.t.log+` WHERE 1 = 0`); err != nil {
			return 0, err
		}
	}
	return s.head(ctx, tx)
}

// head returns the newest position of the log, 0 for an empty log.
func (s *Store) head(ctx context.Context, q queryer) (int64, error) {
	var head int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM `+s.t.log).Scan(&head)
	return head, err
}

// Log calls fn with every log entry after position after, whole and in
// order; see crmaccess.Reader. Errors: fn's as they are, EINTERNAL.
func (s *Store) Log(ctx context.Context, after int64, fn func(*crmaccess.LogEntry) error) error {
	return reader{s, s.reads()}.Log(ctx, after, fn)
}

// Log reads the entries after position after: their log rows first, then
// their change records up to the last of those rows, so that an entry
// committed between the two reads is left for the next call rather than
// read in part.
func (r reader) Log(ctx context.Context, after int64, fn func(*crmaccess.LogEntry) error) error {
	var entries []crmaccess.LogEntry
	var counts []int64
	err := queryEach(ctx, r.q, r.s.d.bind(`SELECT seq, kind, changes FROM `+r.s.t.log+` WHERE seq > ? ORDER BY seq`),
		[]any{after}, func(rows *sql.Rows) error {
			var e crmaccess.LogEntry
			var kind string
			var n int64
			if err := rows.Scan(&e.Position, &kind, &n); err != nil {
				return err
			}
			e.Kind = crmaccess.EntryKind(kind)
			entries = append(entries, e)
			counts = append(counts, n)
			return nil
		})
	if err != nil {
		return r.s.translate(ctx, err)
	}
	if len(entries) == 0 {
		return nil
	}
	last := entries[len(entries)-1].Position
	i := 0
	err = queryEach(ctx, r.q, r.s.d.bind(`SELECT `+changeColumns+` FROM `+r.s.t.changes+
		` WHERE log_seq > ? AND log_seq <= ? ORDER BY log_seq, seq`), []any{after, last}, func(rows *sql.Rows) error {
		c, err := scanChange(rows)
		if err != nil {
			return err
		}
		for i < len(entries) && entries[i].Position < c.Position {
			i++
		}
		if i == len(entries) || entries[i].Position != c.Position {
			return errors.New("storage: a change record names no log entry")
		}
		entries[i].Changes = append(entries[i].Changes, c)
		return nil
	})
	if err != nil {
		return r.s.translate(ctx, err)
	}
	for i := range entries {
		if int64(len(entries[i].Changes)) != counts[i] {
			return crmaccess.Internal(errors.New("storage: a log entry lacks change records"))
		}
		if err := fn(&entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// Snapshot streams every rule and returns the log position they are the
// state at, both read in one transaction that sees one state: a
// repeatable-read transaction on PostgreSQL, a deferred (read) transaction
// on SQLite, which WAL keeps on one snapshot. A line with more than two
// values is not a crmaccess rule and fails the call with EINTERNAL.
func (s *Store) Snapshot(ctx context.Context, fn func(crmaccess.Rule) error) (int64, error) {
	var pos int64
	err := s.readSnapshot(ctx, func(q queryer) error {
		var err error
		if pos, err = s.head(ctx, q); err != nil {
			return err
		}
		return s.rules(ctx, q, fn)
	})
	if err != nil {
		return 0, s.translate(ctx, err)
	}
	return pos, nil
}

// readSnapshot runs fn in a read transaction on one snapshot.
func (s *Store) readSnapshot(ctx context.Context, fn func(queryer) error) error {
	if s.d.postgres() {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback() // read only: nothing to keep
		return fn(tx)
	}
	// Open's connections begin immediate transactions, which would take
	// the write lock: begin a deferred one by hand on one connection.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		return err
	}
	err = fn(conn)
	// A cancelled ctx must not keep the transaction open on a pooled
	// connection.
	if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); err == nil && rbErr != nil {
		err = rbErr
	}
	return err
}
