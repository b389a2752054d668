package storage

import (
	"context"
	"database/sql"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
)

// InTx returns a Store bound to tx, a transaction the host began on this
// Store's database (db.Transaction or db.Begin), for
// crmaccess.Service.InTransaction: its Update writes inside tx, taking the
// writer lock there, and leaves the commit to the host. Its reads see tx's
// state. On SQLite, begin tx as a write transaction (Open's connections do;
// a deferred one that has only read may fail to take the write lock), and
// keep it short: other writers wait for it.
//
// Errors: EINVALID when tx is not a transaction of this database.
func (s *Store) InTx(tx *gorm.DB) (crmaccess.Store, error) {
	if tx == nil {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: InTx needs a transaction")
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: InTx needs a transaction (db.Begin or db.Transaction), not a database")
	}
	if tx.Dialector.Name() != s.d.name {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: the transaction is on %s, the store on %s", tx.Dialector.Name(), s.d.name)
	}
	return &txStore{reader: reader{s, sqlTx}, s: s, tx: sqlTx}, nil
}

// txStore is a Store inside a host's transaction.
type txStore struct {
	reader
	s  *Store
	tx *sql.Tx
}

var _ crmaccess.Store = (*txStore)(nil)

func (t *txStore) Changes(ctx context.Context, q crmaccess.ChangeQuery) ([]crmaccess.Change, error) {
	return t.s.Changes(ctx, q)
}

// Snapshot reads the committed state, outside the host's transaction.
func (t *txStore) Snapshot(ctx context.Context, fn func(crmaccess.Rule) error) (int64, error) {
	return t.s.Snapshot(ctx, fn)
}

// Update writes inside the host's transaction and does not commit. The
// write runs under a savepoint: when it fails, it is rolled back to it, so
// that the host's transaction holds all of it or none (and stays usable on
// PostgreSQL, which aborts a transaction on an error).
func (t *txStore) Update(ctx context.Context, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, crmaccess.Internal(err)
	}
	if _, err := t.tx.ExecContext(ctx, `SAVEPOINT crmaccess_write`); err != nil {
		return 0, t.s.translate(ctx, err)
	}
	pos, _, err := t.s.buildAndWrite(ctx, t.s.newWtx(t.tx, false), build)
	if err != nil {
		if _, rbErr := t.tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO SAVEPOINT crmaccess_write`); rbErr != nil {
			return 0, crmaccess.Internal(rbErr)
		}
		return 0, t.s.translate(ctx, err)
	}
	if _, err := t.tx.ExecContext(ctx, `RELEASE SAVEPOINT crmaccess_write`); err != nil {
		return 0, t.s.translate(ctx, err)
	}
	return pos, nil
}

// RecordIDs reads the committed state, outside the host's transaction.
func (t *txStore) RecordIDs(ctx context.Context, kind crmaccess.Kind, after int64, limit int) ([]int64, int, error) {
	return t.s.RecordIDs(ctx, kind, after, limit)
}
