package storage

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// FindChanges returns the change records f selects, by ascending Seq
// after f.After, at most f.Limit (DefaultChangeLimit when not positive).
// Errors: EINTERNAL.
func (s *Store) FindChanges(ctx context.Context, f crmaccess.ChangeFilter) ([]crmaccess.Change, error) {
	var where []string
	var args []any
	if f.Entity != (crmaccess.Ref{}) {
		where = append(where, `entity_kind = ? AND entity_id = ?`)
		args = append(args, string(f.Entity.Kind), f.Entity.ID)
	}
	if f.User != "" {
		where = append(where, `entity_kind = '' AND user_id = ?`)
		args = append(args, f.User)
	}
	if f.Actor != "" {
		where = append(where, `actor = ?`)
		args = append(args, f.Actor)
	}
	if !f.From.IsZero() {
		sec, nsec := unixParts(f.From)
		where = append(where, `(at_sec > ? OR (at_sec = ? AND at_nsec >= ?))`)
		args = append(args, sec, sec, nsec)
	}
	if !f.To.IsZero() {
		sec, nsec := unixParts(f.To)
		where = append(where, `(at_sec < ? OR (at_sec = ? AND at_nsec < ?))`)
		args = append(args, sec, sec, nsec)
	}
	where = append(where, `seq > ?`)
	args = append(args, f.After)
	limit := f.Limit
	if limit <= 0 {
		limit = crmaccess.DefaultChangeLimit
	}
	var out []crmaccess.Change
	err := queryEach(ctx, s.db, s.d.bind(`SELECT `+changeColumns+` FROM `+s.t.changes+` WHERE `+strings.Join(where, ` AND `)+
		` ORDER BY seq LIMIT `+strconv.Itoa(limit)), args, func(r *sql.Rows) error {
		c, err := scanChange(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, s.translate(ctx, err)
	}
	return out, nil
}
