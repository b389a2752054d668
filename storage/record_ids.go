package storage

import (
	"context"
	"database/sql"
	"sync"

	"github.com/crmaccess/crmaccess"
)

// RecordIDs returns the ids of the stored records of kind above after,
// ascending, at most limit, and how many records of kind there are in all,
// both from one state.
//
// The page walks the primary key. The count scans it, which grows with the
// table (tens of milliseconds at 300,000 rows on PostgreSQL), so the Store
// remembers it with the log position it was read at: every change of
// records appends to the log (SPEC §8), so while the log's head stays there
// the count holds, and a page costs its walk and a look at the head, read
// in the same statement. Errors: EINVALID (an unknown kind, after < 0,
// limit < 1), EINTERNAL.
func (s *Store) RecordIDs(ctx context.Context, kind crmaccess.Kind, after int64, limit int) ([]int64, int, error) {
	table, err := s.recordTable(kind)
	if err != nil {
		return nil, 0, err
	}
	if after < 0 || limit < 1 {
		return nil, 0, crmaccess.Errorf(crmaccess.EINVALID, "storage: a page of ids after %d, %d at most", after, limit)
	}
	// The LEFT JOIN keeps the head (and the count) when the page is empty.
	page := `LEFT JOIN (SELECT id FROM ` + table + ` WHERE id > ? ORDER BY id LIMIT ?) p ON 1 = 1 ORDER BY p.id`
	head := `(SELECT COALESCE(MAX(seq), 0) AS head FROM ` + s.t.log + `) h`
	ids, at, _, err := s.idPage(ctx, `SELECT h.head, -1, p.id FROM `+head+` `+page, after, limit)
	if err != nil {
		return nil, 0, err
	}
	if total, ok := s.totals.get(kind, at); ok {
		return ids, total, nil
	}
	ids, at, total, err := s.idPage(ctx, `SELECT h.head, n.total, p.id FROM `+head+`
		CROSS JOIN (SELECT COUNT(*) AS total FROM `+table+`) n `+page, after, limit)
	if err != nil {
		return nil, 0, err
	}
	s.totals.put(kind, at, total)
	return ids, total, nil
}

// idPage runs one of RecordIDs' statements: the log's head, a count (or
// -1) and the page, in one state.
func (s *Store) idPage(ctx context.Context, query string, after int64, limit int) (ids []int64, head int64, total int, err error) {
	ids = make([]int64, 0, min(limit, 1024))
	err = queryEach(ctx, s.db, s.d.bind(query), []any{after, limit}, func(rows *sql.Rows) error {
		var id sql.NullInt64
		if err := rows.Scan(&head, &total, &id); err != nil {
			return err
		}
		if id.Valid {
			ids = append(ids, id.Int64)
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, s.translate(ctx, err)
	}
	return ids, head, total, nil
}

// recordTotals remembers, by kind, the count of records at one log
// position.
type recordTotals struct {
	mu sync.Mutex
	at map[crmaccess.Kind]recordTotal
}

type recordTotal struct {
	head  int64
	total int
}

func (r *recordTotals) get(kind crmaccess.Kind, head int64) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[kind]
	return t.total, ok && t.head == head
}

func (r *recordTotals) put(kind crmaccess.Kind, head int64, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at == nil {
		r.at = map[crmaccess.Kind]recordTotal{}
	}
	r.at[kind] = recordTotal{head: head, total: total}
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
