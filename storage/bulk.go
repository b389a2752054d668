package storage

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crmaccess/crmaccess"
)

// The bulk path: on PostgreSQL, every statement is a round trip and every
// bound variable is encoded by the driver and decoded by the server one by
// one, so a part of a write too long for one statement (more rows than a
// multi-row statement carries: Options.BatchSize, at most statementRows)
// is sent in one go instead of in chunks:
//
//   - rows added (rules, change records) by COPY … FROM STDIN in text
//     format, streamed from the batch as the driver reads it, on the
//     connection of the Store's own transaction (pgwrite.go);
//   - rules removed by one DELETE over arrays (unnest), and columns set by
//     one UPDATE per value over an array of ids (= ANY).
//
// Only in the Store's own transactions (Update and UpdateInParts on pgx):
// a host's transaction (InTx) may be on another database handle and
// driver, and keeps the chunked statements.
//
// Every one of them runs inside the write's transaction: a failure aborts
// it, and Update rolls it back as it does any failed statement. The
// affected rows are counted and checked as the chunked statements check
// them. SQLite keeps the chunked, prepared statements: there a statement
// is no round trip.

// copyConn returns the connection of tx when a part of n rows of m goes
// the bulk way: PostgreSQL through pgx, more rows than one statement
// takes, in Update's own transaction on its connection; else nil.
func (s *Store) copyConn(tx *wtx, m multiRow, n int) *sql.Conn {
	if !s.pgx || tx.tx != nil || n <= min(s.rowsPerStatement(m), statementRows) {
		return nil
	}
	conn, _ := tx.q.(*sql.Conn)
	return conn
}

// bulkArrays reports whether a part of n rows of m goes over arrays in one
// statement (see copyConn).
func (s *Store) bulkArrays(tx *wtx, m multiRow, n int) bool { return s.copyConn(tx, m, n) != nil }

// copyRows runs COPY table (columns) FROM STDIN on conn with n rows; row
// appends row i in COPY's text format (see appendCopy*), its fields
// separated by tabs, without the final newline. A count of rows other than
// n is an error.
func copyRows(ctx context.Context, conn *sql.Conn, table string, columns []string, n int, row func(buf []byte, i int) []byte) error {
	query := `COPY ` + table + ` (` + strings.Join(columns, ", ") + `) FROM STDIN`
	return withPgConn(conn, func(pc *pgconn.PgConn) error {
		tag, err := pc.CopyFrom(ctx, &copyReader{n: n, row: row}, query)
		if err != nil {
			return err
		}
		if got := tag.RowsAffected(); got != int64(n) {
			return fmt.Errorf("storage: COPY into %s wrote %d rows of %d", table, got, n)
		}
		return nil
	})
}

// copyReader streams rows in COPY's text format, a few at a time, so that
// the whole data is never held at once.
type copyReader struct {
	n, i int
	row  func(buf []byte, i int) []byte
	buf  []byte // rows made and not read yet
	off  int
}

func (r *copyReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
		for r.i < r.n && len(r.buf) < len(p) {
			r.buf = append(r.row(r.buf, r.i), '\n')
			r.i++
		}
		if len(r.buf) == 0 {
			return 0, io.EOF
		}
	}
	k := copy(p, r.buf[r.off:])
	r.off += k
	return k, nil
}

// appendCopyText appends s as a field of COPY's text format: backslash,
// tab, newline and carriage return escaped.
func appendCopyText(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

func appendCopyInt(buf []byte, v int64) []byte { return strconv.AppendInt(buf, v, 10) }

func appendCopyBool(buf []byte, v bool) []byte {
	if v {
		return append(buf, 't')
	}
	return append(buf, 'f')
}

// ruleColumns are the columns a rule is written in (gorm-adapter's layout,
// the values after v1 empty).
var ruleColumns = []string{"ptype", "v0", "v1", "v2", "v3", "v4", "v5"}

// copyRules adds rules by COPY on conn.
func (s *Store) copyRules(ctx context.Context, conn *sql.Conn, rules []crmaccess.Rule) error {
	return copyRows(ctx, conn, s.t.rules, ruleColumns, len(rules), func(buf []byte, i int) []byte {
		r := &rules[i]
		buf = appendCopyText(buf, r.Type)
		buf = append(buf, '\t')
		buf = appendCopyText(buf, r.From)
		buf = append(buf, '\t')
		buf = appendCopyText(buf, r.To)
		return append(buf, "\t\t\t\t"...)
	})
}

// removeRulesArrays removes rules in one DELETE over three arrays and
// returns how many rows it removed.
func (s *Store) removeRulesArrays(ctx context.Context, tx *wtx, rules []crmaccess.Rule) (int64, error) {
	types := arrayLiteral(len(rules), func(i int) string { return rules[i].Type })
	froms := arrayLiteral(len(rules), func(i int) string { return rules[i].From })
	tos := arrayLiteral(len(rules), func(i int) string { return rules[i].To })
	if err := s.bulkStatements(ctx, tx); err != nil {
		return 0, err
	}
	// Each rule's row looked up through the unique index of the rule's
	// values, then the rows deleted by their place in the table (ctid: a
	// TID scan, where deleting by id probed the primary key again; rows
	// do not move within the statement): a plan that stays linear
	// whatever the planner believes of the table (a row-value IN against
	// the arrays let it choose a nested loop over a sequential scan, which
	// took minutes for 100,000 rules in a table never analyzed). A rule
	// not stored looks up NULL and deletes nothing: the count tells.
	res, err := tx.ExecContext(ctx, `DELETE FROM `+s.t.rules+` WHERE ctid = ANY(ARRAY(
		SELECT (SELECT r.ctid FROM `+s.t.rules+` r WHERE r.ptype = u.t AND r.v0 = u.f AND r.v1 = u.o
			AND r.v2 = '' AND r.v3 = '' AND r.v4 = '' AND r.v5 = '')
		FROM unnest($1::text[], $2::text[], $3::text[]) AS u (t, f, o)))`,
		types, froms, tos)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// bulkStatements prepares the Store's own transaction for statements over
// large arrays, once: JIT compilation off for the rest of the transaction
// (SET LOCAL). Their estimated cost (an index lookup per element) is far
// above PostgreSQL's jit_above_cost, and compiling took longer than
// running them.
func (s *Store) bulkStatements(ctx context.Context, tx *wtx) error {
	if tx.jitOff {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
		return err
	}
	tx.jitOff = true
	return nil
}

// updateArrays sets column to v for ids in one UPDATE over an array; an id
// that matches no row is ECONFLICT, as updateGrouped reports it.
func updateArrays[V comparable](ctx context.Context, s *Store, tx *wtx, table, column, kind string, v V, ids []int64) error {
	if err := s.bulkStatements(ctx, tx); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = $1 WHERE id = ANY($2::bigint[])`, v, idsLiteral(ids))
	if err != nil {
		return err
	}
	count, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if count != int64(len(ids)) {
		return s.missing(ctx, tx, table, kind, ids)
	}
	return nil
}

// arrayLiteral is the text of a PostgreSQL array of n elements, each
// quoted (" and \ escaped): one parameter the driver sends as it is,
// where a []string is encoded element by element (for a part of 24,000
// rules, megabytes of garbage a statement). The server parses it as the
// statement's cast says (text[]).
func arrayLiteral(n int, elem func(i int) string) string {
	var b strings.Builder
	size := 2
	for i := range n {
		size += len(elem(i)) + 3
	}
	b.Grow(size)
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		e := elem(i)
		for j := 0; j < len(e); j++ {
			if c := e[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(e[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// idsLiteral is arrayLiteral for ids (bigint[]): no quotes needed.
func idsLiteral(ids []int64) string {
	buf := make([]byte, 0, 2+len(ids)*8)
	buf = append(buf, '{')
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, id, 10)
	}
	return string(append(buf, '}'))
}

// changeColumnList are the columns of a change record as changeArgs and
// appendChange write them.
var changeColumnList = []string{"log_seq", "at_sec", "at_nsec", "actor", "entity_kind", "entity_id", "user_id",
	"before_private", "before_share", "before_list", "before_admin", "before_creator", "before_responsible",
	"after_private", "after_share", "after_list", "after_admin", "after_creator", "after_responsible",
	"before_status", "after_status"}

// copyChanges adds the change records of pos by COPY on conn.
func (s *Store) copyChanges(ctx context.Context, conn *sql.Conn, changes []crmaccess.Change, pos int64) error {
	var before, after listEncoder
	return copyRows(ctx, conn, s.t.changes, changeColumnList, len(changes), func(buf []byte, i int) []byte {
		c := &changes[i]
		sec, nsec := unixParts(c.At)
		buf = appendCopyInt(buf, pos)
		buf = append(buf, '\t')
		buf = appendCopyInt(buf, sec)
		buf = append(buf, '\t')
		buf = appendCopyInt(buf, nsec)
		buf = append(buf, '\t')
		buf = appendCopyText(buf, c.Actor)
		buf = append(buf, '\t')
		buf = appendCopyText(buf, string(c.Entity.Kind))
		buf = append(buf, '\t')
		buf = appendCopyInt(buf, c.Entity.ID)
		buf = append(buf, '\t')
		buf = appendCopyText(buf, c.User)
		buf = append(buf, '\t')
		buf = appendCopyState(buf, &c.Before, &before)
		buf = append(buf, '\t')
		buf = appendCopyState(buf, &c.After, &after)
		buf = append(buf, '\t')
		buf = appendCopyText(buf, string(c.Before.Status))
		buf = append(buf, '\t')
		return appendCopyText(buf, string(c.After.Status))
	})
}

// appendCopyState appends the six columns of one side of a change:
// private, share, list, admin, creator, responsible.
func appendCopyState(buf []byte, st *crmaccess.AccessState, lists *listEncoder) []byte {
	buf = appendCopyBool(buf, st.IsPrivate)
	buf = append(buf, '\t')
	buf = appendCopyInt(buf, int64(st.ShareType))
	buf = append(buf, '\t')
	buf = appendCopyText(buf, lists.encode(st.List))
	buf = append(buf, '\t')
	buf = appendCopyBool(buf, st.Admin)
	buf = append(buf, '\t')
	buf = appendCopyText(buf, st.Creator)
	buf = append(buf, '\t')
	return appendCopyText(buf, st.Responsible)
}

// listEncoder encodes lists (encodeList), once for a run of equal lists:
// the change records of one write often share theirs (a filter call gives
// every record the same managers).
type listEncoder struct {
	last    []string
	encoded string
	valid   bool
}

func (e *listEncoder) encode(list []string) string {
	if e.valid && slices.Equal(list, e.last) {
		return e.encoded
	}
	e.last, e.encoded, e.valid = list, encodeList(list), true
	return e.encoded
}
