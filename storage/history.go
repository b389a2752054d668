package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The history reads of crmaccess.HistoryReader. A change record's Seq is
// handed out under the writer lock, as its entry's position is, so that
// Seq order is position order: "the last change record of a subject at or
// before position n" is its highest Seq among the records with
// 1 ≤ log_seq ≤ n. Change records of log_seq 0 were written before the
// log existed and are not part of its replay (a baseline entry holds that
// state).

// PositionAt returns the position of the entry stamped latest at or
// before t (ties: the highest position), and its time; see
// crmaccess.HistoryReader. Errors: EINTERNAL.
func (s *Store) PositionAt(ctx context.Context, t time.Time) (int64, time.Time, error) {
	sec, nsec := unixParts(t)
	var pos, atSec, atNsec int64
	// Two index range scans rather than one OR, which neither database
	// turns into a range.
	err := s.db.QueryRowContext(ctx, s.d.bind(`SELECT seq, at_sec, at_nsec FROM `+s.t.log+
		` WHERE at_sec = ? AND at_nsec <= ? ORDER BY at_sec DESC, at_nsec DESC, seq DESC LIMIT 1`), sec, nsec).Scan(&pos, &atSec, &atNsec)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.QueryRowContext(ctx, s.d.bind(`SELECT seq, at_sec, at_nsec FROM `+s.t.log+
			` WHERE at_sec < ? ORDER BY at_sec DESC, at_nsec DESC, seq DESC LIMIT 1`), sec).Scan(&pos, &atSec, &atNsec)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, s.translate(ctx, err)
	}
	return pos, fromUnix(atSec, atNsec), nil
}

// EntryTime returns the time of the entry at position. Errors: ENOTFOUND,
// EINTERNAL.
func (s *Store) EntryTime(ctx context.Context, position int64) (time.Time, error) {
	var sec, nsec int64
	err := s.db.QueryRowContext(ctx, s.d.bind(`SELECT at_sec, at_nsec FROM `+s.t.log+` WHERE seq = ?`), position).Scan(&sec, &nsec)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, crmaccess.Errorf(crmaccess.ENOTFOUND, "the log has no entry at position %d", position)
	}
	if err != nil {
		return time.Time{}, s.translate(ctx, err)
	}
	return fromUnix(sec, nsec), nil
}

// HistoryStart returns the position of the newest baseline entry, 0 when
// there is none. Errors: EINTERNAL.
func (s *Store) HistoryStart(ctx context.Context) (int64, error) {
	var pos int64
	err := s.db.QueryRowContext(ctx, s.d.bind(`SELECT COALESCE(MAX(seq), 0) FROM `+s.t.log+` WHERE kind = ?`),
		string(crmaccess.EntryBaseline)).Scan(&pos)
	if err != nil {
		return 0, s.translate(ctx, err)
	}
	return pos, nil
}

// RecordsAt returns the access of each ref at position, in the order of
// refs: one index lookup a record. Errors: EINTERNAL.
func (s *Store) RecordsAt(ctx context.Context, position int64, refs []crmaccess.Ref) ([]crmaccess.StateAt, error) {
	q := s.d.bind(`SELECT ` + changeColumns + ` FROM ` + s.t.changes +
		` WHERE entity_kind = ? AND entity_id = ? AND log_seq BETWEEN 1 AND ? ORDER BY seq DESC LIMIT 1`)
	out := make([]crmaccess.StateAt, len(refs))
	for i, ref := range refs {
		out[i] = crmaccess.StateAt{Ref: ref}
		err := queryEach(ctx, s.db, q, []any{string(ref.Kind), ref.ID, position}, func(r *sql.Rows) error {
			c, err := scanChange(r)
			out[i].Seq, out[i].State = c.Seq, c.After
			return err
		})
		if err != nil {
			return nil, s.translate(ctx, err)
		}
	}
	return out, nil
}

// usersAtChunk is how many users one UsersAt statement reads.
const usersAtChunk = 100

// UsersAt returns the states at position of users ids and, with admins,
// of every user who was an admin then, ascending by id. Errors: EINTERNAL.
func (s *Store) UsersAt(ctx context.Context, position int64, ids []string, admins bool) ([]crmaccess.StateAt, error) {
	asked := make(map[string]bool, len(ids))
	seen := make(map[string]bool, len(ids))
	var users []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			users = append(users, id)
		}
	}
	for _, id := range ids {
		asked[id] = true
		add(id)
	}
	if admins {
		// Whoever was an admin at position has a change record granting
		// it at or before position: few rows, through a partial index.
		err := queryEach(ctx, s.db, s.d.bind(`SELECT DISTINCT user_id FROM `+s.t.changes+
			` WHERE entity_kind = '' AND after_admin AND log_seq BETWEEN 1 AND ?`), []any{position}, func(r *sql.Rows) error {
			var id string
			err := r.Scan(&id)
			add(id)
			return err
		})
		if err != nil {
			return nil, s.translate(ctx, err)
		}
	}
	slices.Sort(users)
	states := make(map[string]crmaccess.StateAt, len(users))
	for start := 0; start < len(users); start += usersAtChunk {
		chunk := users[start:min(start+usersAtChunk, len(users))]
		parts := make([]string, len(chunk))
		args := make([]any, 0, 2*len(chunk))
		for i, id := range chunk {
			parts[i] = `SELECT * FROM (SELECT ` + changeColumns + ` FROM ` + s.t.changes +
				` WHERE entity_kind = '' AND user_id = ? AND log_seq BETWEEN 1 AND ? ORDER BY seq DESC LIMIT 1) h` + strconv.Itoa(i)
			args = append(args, id, position)
		}
		err := queryEach(ctx, s.db, s.d.bind(strings.Join(parts, ` UNION ALL `)), args, func(r *sql.Rows) error {
			c, err := scanChange(r)
			states[c.User] = crmaccess.StateAt{User: c.User, Seq: c.Seq, State: c.After}
			return err
		})
		if err != nil {
			return nil, s.translate(ctx, err)
		}
	}
	out := make([]crmaccess.StateAt, 0, len(users))
	for _, id := range users {
		st, ok := states[id]
		if !ok {
			st = crmaccess.StateAt{User: id}
		}
		// A user found only as a past admin is left out unless still an
		// admin at position.
		if asked[id] || st.State.Admin {
			out = append(out, st)
		}
	}
	return out, nil
}

// AllUsersAt calls fn with the state at position of every user with a
// change record at or before it, ascending by id. Errors: fn's,
// EINTERNAL.
func (s *Store) AllUsersAt(ctx context.Context, position int64, fn func(crmaccess.StateAt) error) error {
	var out []crmaccess.StateAt
	err := queryEach(ctx, s.db, s.d.bind(`SELECT `+changeColumns+` FROM `+s.t.changes+` WHERE seq IN (SELECT MAX(seq) FROM `+
		s.t.changes+` WHERE entity_kind = '' AND log_seq BETWEEN 1 AND ? GROUP BY user_id) ORDER BY user_id`), []any{position},
		func(r *sql.Rows) error {
			c, err := scanChange(r)
			out = append(out, crmaccess.StateAt{User: c.User, Seq: c.Seq, State: c.After})
			return err
		})
	if err != nil {
		return s.translate(ctx, err)
	}
	for _, st := range out {
		if err := fn(st); err != nil {
			return err
		}
	}
	return nil
}

// ReadableAt returns the ids of kind whose access at position opens them
// to user (see crmaccess.HistoryReader), ascending. It reads the change
// records of kind of positions 1 to position in Seq order, a range of the
// primary key the log appends in that order, each as its record's id and
// whether its After opens the record to user (decided in the query, so
// that two numbers a row cross the wire); the last one of each record
// wins. Errors: EINVALID (an unknown kind, a user that is not a canonical
// GUID), EINTERNAL.
func (s *Store) ReadableAt(ctx context.Context, position int64, kind crmaccess.Kind, user string) ([]int64, error) {
	lo, hi, ok, err := s.seqBounds(ctx, position)
	if err != nil || !ok {
		return nil, err
	}
	open := make(map[int64]bool)
	err = s.scanReadable(ctx, "after_", lo, hi, kind, user, func(id int64, readable bool) {
		open[id] = readable
	})
	if err != nil {
		return nil, err
	}
	var ids []int64
	for id, ok := range open {
		if ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// ChangedSince returns the records of kind changed after position, up to
// head, and those whose access at position opened them to user (see
// crmaccess.HistoryReader): a scan of the change records between, as
// ReadableAt's, deciding on each one's Before; the first one of each
// record wins. Errors: those of ReadableAt.
func (s *Store) ChangedSince(ctx context.Context, position, head int64, kind crmaccess.Kind, user string) ([]int64, []int64, error) {
	from, err := s.SeqAt(ctx, position)
	if err != nil {
		return nil, nil, err
	}
	to, err := s.SeqAt(ctx, head)
	if err != nil || to <= from {
		return nil, nil, err
	}
	first := make(map[int64]bool)
	err = s.scanReadable(ctx, "before_", from+1, to, kind, user, func(id int64, readable bool) {
		if _, seen := first[id]; !seen {
			first[id] = readable
		}
	})
	if err != nil {
		return nil, nil, err
	}
	changed := make([]int64, 0, len(first))
	var readable []int64
	for id, ok := range first {
		changed = append(changed, id)
		if ok {
			readable = append(readable, id)
		}
	}
	slices.Sort(changed)
	slices.Sort(readable)
	return changed, readable, nil
}

// scanReadable calls fn, in Seq order, for each change record of kind
// with a Seq from lo to hi, with its record's id and whether the state of
// its columns prefixed side ("after_", "before_") opens the record to
// user by itself.
func (s *Store) scanReadable(ctx context.Context, side string, lo, hi int64, kind crmaccess.Kind, user string, fn func(id int64, readable bool)) error {
	if id, err := crmaccess.ParseGUID(user); err != nil || id != user {
		return crmaccess.Errorf(crmaccess.EINVALID, "storage: user %q is not a canonical GUID", user)
	}
	var grant string
	var args []any
	listed := `%` + strconv.Quote(user) + `%` // the JSON array holds "user"
	switch kind {
	case crmaccess.KindOpportunity:
		grant = `NOT ` + side + `private OR ` + side + `creator = ? OR ` + side + `responsible = ? OR ` + side + `list LIKE ?`
		args = []any{user, user, listed}
	case crmaccess.KindContact:
		grant = side + `share IN (` + shareSQL(crmaccess.ShareReadWrite) + `, ` + shareSQL(crmaccess.ShareRead) + `) OR ` + side + `list LIKE ?`
		args = []any{listed}
	default:
		return crmaccess.Errorf(crmaccess.EINVALID, "storage: unknown kind %q", kind)
	}
	if s.d.postgres() {
		// PostgreSQL: a row a change record (building one text a chunk
		// costs the server more than the rows cost the client).
		err := queryEach(ctx, s.db, s.d.bind(`SELECT entity_id, CASE WHEN `+grant+` THEN 1 ELSE 0 END FROM `+s.t.changes+
			` WHERE seq BETWEEN ? AND ? AND entity_kind = ? ORDER BY seq`), append(args, lo, hi, string(kind)), func(r *sql.Rows) error {
			var id, readable int64
			err := r.Scan(&id, &readable)
			fn(id, readable == 1)
			return err
		})
		return s.translate(ctx, err)
	}
	// SQLite: one text a chunk of Seqs, "id,seq,readable;…" in no
	// particular order, rather than a row a change record: a row crossing
	// the cgo driver costs ten times what the scan does. The unary plus
	// keeps the scan on the key's range rather than the (entity_kind, …)
	// index.
	q := `SELECT group_concat(entity_id || ',' || seq || ',' || (CASE WHEN ` + grant + ` THEN 1 ELSE 0 END), ';') FROM ` +
		s.t.changes + ` WHERE seq BETWEEN ? AND ? AND +entity_kind = ?`
	bySeq := make([]int64, 0, readableChunk) // id×2 + readable, +1; 0: no change record of kind
	for from := lo; from <= hi; from += readableChunk {
		to := min(hi, from+readableChunk-1)
		var text sql.NullString
		if err := s.db.QueryRowContext(ctx, q, append(args, from, to, string(kind))...).Scan(&text); err != nil {
			return s.translate(ctx, err)
		}
		bySeq = bySeq[:to-from+1]
		clear(bySeq)
		if err := parseReadable(text.String, func(id, seq int64, readable bool) error {
			if seq < from || seq > to || id < 0 {
				return fmt.Errorf("storage: change record %d out of the range read", seq)
			}
			v := 2*id + 1
			if readable {
				v++
			}
			bySeq[seq-from] = v
			return nil
		}); err != nil {
			return crmaccess.Internal(err)
		}
		for _, v := range bySeq {
			if v != 0 {
				fn((v-1)/2, (v-1)%2 == 1)
			}
		}
		if err := ctx.Err(); err != nil {
			return crmaccess.Internal(err)
		}
	}
	return nil
}

// readableChunk is how many Seqs one query of scanReadable covers.
const readableChunk = 1 << 16

// parseReadable calls fn with each "id,seq,readable" of text, items
// separated by ';'.
func parseReadable(text string, fn func(id, seq int64, readable bool) error) error {
	var nums [3]int64
	n, cur, digits := 0, int64(0), 0
	for i := 0; i <= len(text); i++ {
		if i < len(text) && text[i] >= '0' && text[i] <= '9' {
			cur = 10*cur + int64(text[i]-'0')
			digits++
			continue
		}
		if i == len(text) && n == 0 && digits == 0 {
			return nil // no items
		}
		if digits == 0 || n == 3 {
			return fmt.Errorf("storage: unreadable item at %d of %q", i, truncate(text, 64))
		}
		nums[n], n, cur, digits = cur, n+1, 0, 0
		if i == len(text) || text[i] == ';' {
			if n != 3 {
				return fmt.Errorf("storage: unreadable item at %d of %q", i, truncate(text, 64))
			}
			if err := fn(nums[0], nums[1], nums[2] == 1); err != nil {
				return err
			}
			n = 0
		} else if text[i] != ',' {
			return fmt.Errorf("storage: unexpected %q at %d", text[i], i)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// SeqAt returns the highest Seq of the change records at or before
// position, 0 when there are none. Errors: EINTERNAL.
func (s *Store) SeqAt(ctx context.Context, position int64) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, s.d.bind(`SELECT seq FROM `+s.t.changes+
		` WHERE log_seq <= ? ORDER BY log_seq DESC, seq DESC LIMIT 1`), position).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.translate(ctx, err)
	}
	return seq, nil
}

// seqBounds returns the lowest and highest Seq of the change records of
// positions 1 to position; ok is false when there are none.
func (s *Store) seqBounds(ctx context.Context, position int64) (lo, hi int64, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, s.d.bind(`SELECT seq FROM `+s.t.changes+
		` WHERE log_seq >= 1 ORDER BY log_seq, seq LIMIT 1`)).Scan(&lo)
	if err == nil {
		err = s.db.QueryRowContext(ctx, s.d.bind(`SELECT seq FROM `+s.t.changes+
			` WHERE log_seq BETWEEN 1 AND ? ORDER BY log_seq DESC, seq DESC LIMIT 1`), position).Scan(&hi)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, s.translate(ctx, err)
	}
	return lo, hi, true, nil
}

// The history of a host's transaction is the committed one: the entries
// it writes are not history until the host commits.

func (t *txStore) PositionAt(ctx context.Context, at time.Time) (int64, time.Time, error) {
	return t.s.PositionAt(ctx, at)
}

func (t *txStore) EntryTime(ctx context.Context, position int64) (time.Time, error) {
	return t.s.EntryTime(ctx, position)
}

func (t *txStore) HistoryStart(ctx context.Context) (int64, error) { return t.s.HistoryStart(ctx) }

func (t *txStore) RecordsAt(ctx context.Context, position int64, refs []crmaccess.Ref) ([]crmaccess.StateAt, error) {
	return t.s.RecordsAt(ctx, position, refs)
}

func (t *txStore) UsersAt(ctx context.Context, position int64, ids []string, admins bool) ([]crmaccess.StateAt, error) {
	return t.s.UsersAt(ctx, position, ids, admins)
}

func (t *txStore) AllUsersAt(ctx context.Context, position int64, fn func(crmaccess.StateAt) error) error {
	return t.s.AllUsersAt(ctx, position, fn)
}

func (t *txStore) ReadableAt(ctx context.Context, position int64, kind crmaccess.Kind, user string) ([]int64, error) {
	return t.s.ReadableAt(ctx, position, kind, user)
}

func (t *txStore) ChangedSince(ctx context.Context, position, head int64, kind crmaccess.Kind, user string) ([]int64, []int64, error) {
	return t.s.ChangedSince(ctx, position, head, kind, user)
}

func (t *txStore) SeqAt(ctx context.Context, position int64) (int64, error) {
	return t.s.SeqAt(ctx, position)
}

func (t *txStore) FindChanges(ctx context.Context, f crmaccess.ChangeFilter) ([]crmaccess.Change, error) {
	return t.s.FindChanges(ctx, f)
}
