package storage

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// maxVars is the most bound variables one statement may carry: SQLite's
// SQLITE_MAX_VARIABLE_NUMBER (32,766 since 3.32), below PostgreSQL's 65,535.
const maxVars = 32766

// dialect holds what differs between the SQL of SQLite and PostgreSQL.
type dialect struct {
	name string // the GORM dialector name: "sqlite" or "postgres"
}

func (d dialect) postgres() bool { return d.name == "postgres" }

// serial is the column definition of an auto-increment primary key.
func (d dialect) serial() string {
	if d.postgres() {
		return "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	}
	return "INTEGER PRIMARY KEY AUTOINCREMENT"
}

// bind rewrites the ? placeholders of query for the dialect ($1, $2, … for
// PostgreSQL). Queries built here never hold a ? inside a literal.
func (d dialect) bind(query string) string {
	if !d.postgres() || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + len(query)/2)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// multiRow is a statement that repeats a row template: a multi-row INSERT
// (head "INSERT … VALUES ", row "(?, ?)") or a list (head "… IN (", row "?",
// tail ")"). fixed variables come before the rows.
type multiRow struct {
	head, row, tail string
	sep             string // between rows; "" is ", "
	fixed           int    // variables in head
	rowVars         int    // variables per row
}

// sql returns the statement for n rows in the placeholders of d.
func (m multiRow) sql(d dialect, n int) string {
	var b strings.Builder
	b.Grow(len(m.head) + n*(len(m.row)+len(m.separator())) + len(m.tail))
	b.WriteString(m.head)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(m.separator())
		}
		b.WriteString(m.row)
	}
	b.WriteString(m.tail)
	return d.bind(b.String())
}

// separator is what goes between two rows.
func (m multiRow) separator() string {
	if m.sep == "" {
		return ", "
	}
	return m.sep
}

// rowsPerStatement is how many rows of m one statement carries: as many as
// fit under maxVars, at most Options.BatchSize.
func (s *Store) rowsPerStatement(m multiRow) int {
	n := (maxVars - m.fixed) / m.rowVars
	if s.batchSize > 0 && s.batchSize < n {
		n = s.batchSize
	}
	return n
}

// execer and queryer are what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// statementRows caps the rows of one multi-row statement: the statement of
// a full chunk is prepared once and reused, so that SQLite parses and
// compiles it once per step, not once per chunk (compiling a multi-row
// statement costs about as much as running it).
const statementRows = 1000

// execChunks runs m over n rows in chunks; fill appends the variables of
// row i to args. affected, when not nil, is called with each chunk's count
// of affected rows and the chunk's bounds.
func (s *Store) execChunks(ctx context.Context, ex execer, m multiRow, fixed []any, n int,
	fill func(args []any, i int) []any, affected func(start, end int, count int64) error) error {
	per := min(s.rowsPerStatement(m), statementRows)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, len(fixed)+min(per, n)*m.rowVars)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		args = append(args[:0], fixed...)
		for i := start; i < end; i++ {
			args = fill(args, i)
		}
		var res sql.Result
		var err error
		if end-start == per && n >= 2*per {
			if full == nil {
				if full, err = ex.PrepareContext(ctx, m.sql(s.d, per)); err != nil {
					return err
				}
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = ex.ExecContext(ctx, m.sql(s.d, end-start), args...)
		}
		if err != nil {
			return err
		}
		if affected != nil {
			count, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if err := affected(start, end, count); err != nil {
				return err
			}
		}
	}
	return nil
}

// queryChunks runs m (a query ending in an IN list of ids) over ids in
// chunks and calls scan for every row.
func (s *Store) queryChunks(ctx context.Context, q queryer, m multiRow, fixed []any, ids []any,
	scan func(*sql.Rows) error) error {
	per := s.rowsPerStatement(m)
	for start := 0; start < len(ids); start += per {
		end := min(start+per, len(ids))
		args := append(append(make([]any, 0, len(fixed)+end-start), fixed...), ids[start:end]...)
		if err := queryEach(ctx, q, m.sql(s.d, end-start), args, scan); err != nil {
			return err
		}
	}
	return nil
}

// queryEach runs query and calls scan for every row.
func queryEach(ctx context.Context, q queryer, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Times are kept as two integers, Unix seconds and nanoseconds: exact to the
// nanosecond over Go's whole range (the zero time included), in UTC by
// construction, and compared the same way by every SQL dialect (SQLite has
// no time type; PostgreSQL timestamps stop at microseconds).

func unixParts(t time.Time) (sec int64, nsec int64) {
	return t.Unix(), int64(t.Nanosecond())
}

func fromUnix(sec, nsec int64) time.Time {
	return time.Unix(sec, nsec).UTC()
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
