package storage

import (
	"context"
	"database/sql"

	"github.com/crmaccess/crmaccess"
)

// RecordIDs returns the ids of the stored records of kind above after,
// ascending, at most limit, and how many records of kind there are in all,
// both from one statement: the page walks the primary key, and the count
// is the row every write that adds or deletes records keeps (schema v5).
// Errors: EINVALID (an unknown kind, after < 0, limit < 1), EINTERNAL.
func (s *Store) RecordIDs(ctx context.Context, kind crmaccess.Kind, after int64, limit int) ([]int64, int, error) {
	table, err := s.recordTable(kind)
	if err != nil {
		return nil, 0, err
	}
	if after < 0 || limit < 1 {
		return nil, 0, crmaccess.Errorf(crmaccess.EINVALID, "storage: a page of ids after %d, %d at most", after, limit)
	}
	// The LEFT JOIN keeps the count when the page is empty.
	query := `SELECT n.n, p.id FROM (SELECT n FROM ` + s.t.counts + ` WHERE kind = ?) n
		LEFT JOIN (SELECT id FROM ` + table + ` WHERE id > ? ORDER BY id LIMIT ?) p ON 1 = 1 ORDER BY p.id`
	ids := make([]int64, 0, min(limit, 1024))
	var total int
	err = queryEach(ctx, s.db, s.d.bind(query), []any{string(kind), after, limit}, func(rows *sql.Rows) error {
		var id sql.NullInt64
		if err := rows.Scan(&total, &id); err != nil {
			return err
		}
		if id.Valid {
			ids = append(ids, id.Int64)
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.translate(ctx, err)
	}
	return ids, total, nil
}

// recordTable is the table of a kind of record.
func (s *Store) recordTable(kind crmaccess.Kind) (string, error) {
	switch kind {
	case crmaccess.KindOpportunity:
		return s.t.opportunities, nil
	case crmaccess.KindContact:
		return s.t.contacts, nil
	}
	return "", crmaccess.Errorf(crmaccess.EINVALID, "storage: unknown kind of record %q", kind)
}
