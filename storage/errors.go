package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"syscall"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
)

// translate turns an error of the database into the library's, once, at
// this edge: an error that already carries a code stays as it is; a
// cancelled or expired ctx is EINTERNAL wrapping ctx.Err(); a unique
// violation is ECONFLICT; anything else is EINTERNAL. The driver's message
// is kept only as the cause, never as the message.
func (s *Store) translate(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var e *crmaccess.Error
	if errors.As(err, &e) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return crmaccess.Internal(ctxErr)
	}
	if retryable(err) {
		return &crmaccess.Error{Code: crmaccess.EUNAVAILABLE,
			Message: "the database is busy or was not reached; retry", Err: err}
	}
	if s.uniqueViolation(err) {
		return &crmaccess.Error{Code: crmaccess.ECONFLICT,
			Message: "a record or rule of the batch is already stored", Err: err}
	}
	return crmaccess.Internal(err)
}

// uniqueViolation reports whether err is a unique or primary key violation:
// go-sqlite3's extended codes, PostgreSQL's SQLSTATE 23505 (pgx and lib/pq
// both expose SQLState), or what the GORM dialector translates (other
// SQLite drivers).
func (s *Store) uniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		return st.SQLState() == "23505"
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	if tr, ok := s.gdb.Dialector.(gorm.ErrorTranslator); ok {
		for e := err; e != nil; e = errors.Unwrap(e) {
			if errors.Is(tr.Translate(e), gorm.ErrDuplicatedKey) {
				return true
			}
		}
	}
	return false
}

// retryable reports whether err is a failure a later try may not meet: the
// database busy or locked (SQLite), a serialization failure, a deadlock or
// a lock not available (PostgreSQL), a connection lost or refused.
func retryable(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		code := st.SQLState()
		return code == "40001" || code == "40P01" || code == "55P03" || code == "57P01" ||
			strings.HasPrefix(code, "08")
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
