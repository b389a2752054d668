package storage

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// Change records on SQLite: a record has 21 columns, and binding a variable
// is a call into SQLite of its own. The change records of one write mostly
// share most of their columns (the position, the time, the actor, the kind
// of change; in a filter call every column but the record's id), so a
// statement of a chunk of them binds each shared column once and names it
// by number (?NNN) in every row, when the chunk's rows share one of a few
// fixed sets of columns (sharedShapes: a few statement texts, so that the
// statement cache keeps a few, not one per combination). A chunk that
// shares none of them is written as before, every column bound per row.

// changeColumnCount is the number of columns changeArgs binds.
const changeColumnCount = 21

// The columns of changeArgs by position.
const (
	colLogSeq = iota
	colAtSec
	colAtNsec
	colActor
	colEntityKind
	colEntityID
	colUserID
	colBeforePrivate
	colBeforeShare
	colBeforeList
	colBeforeAdmin
	colBeforeCreator
	colBeforeResponsible
	colAfterPrivate
	colAfterShare
	colAfterList
	colAfterAdmin
	colAfterCreator
	colAfterResponsible
	colBeforeStatus
	colAfterStatus
)

func columnSet(cols ...int) uint32 {
	var set uint32
	for _, c := range cols {
		set |= 1 << c
	}
	return set
}

// sharedShapes are the sets of shared columns a statement may bind once,
// the largest first: every column but the record (a filter call: every
// record from one state to one other); every column but the record and
// its state before (many records to one state). Binding only the entry's
// own columns once (a user removed from many lists, whose lists differ)
// measured no faster than binding every column, and is not done.
var sharedShapes = func() []uint32 {
	entry := columnSet(colLogSeq, colAtSec, colAtNsec, colActor, colEntityKind, colUserID,
		colBeforeAdmin, colAfterAdmin, colBeforeStatus, colAfterStatus)
	after := entry | columnSet(colAfterPrivate, colAfterShare, colAfterList, colAfterCreator, colAfterResponsible)
	all := after | columnSet(colBeforePrivate, colBeforeShare, colBeforeList, colBeforeCreator, colBeforeResponsible)
	return []uint32{all, after}
}()

// insertChangesShared writes the change records of pos on SQLite in
// chunks, each chunk's shared columns bound once (see above).
func (s *Store) insertChangesShared(ctx context.Context, tx *wtx, changes []crmaccess.Change, pos int64) error {
	m := changeRows(s)
	per := min(s.rowsPerStatement(m), statementRows)
	rows := make([]any, 0, min(per, len(changes))*changeColumnCount)
	args := make([]any, 0, cap(rows))
	var before, after listEncoder
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	for start := 0; start < len(changes); start += per {
		end := min(start+per, len(changes))
		n := end - start
		rows = rows[:0]
		for i := start; i < end; i++ {
			rows = appendChangeArgs(rows, &changes[i], pos, &before, &after)
		}
		shape := chunkShape(rows, n)
		query := sharedChangeSQL(m, s.d, shape, n)
		args = args[:0]
		for j := range changeColumnCount {
			if shape&(1<<j) != 0 {
				args = append(args, rows[j])
			}
		}
		for r := range n {
			row := rows[r*changeColumnCount : (r+1)*changeColumnCount]
			for j, v := range row {
				if shape&(1<<j) == 0 {
					args = append(args, v)
				}
			}
		}
		var err error
		if n == per && len(changes) >= 2*per {
			st, ok := stmts[query]
			if !ok {
				if st, err = tx.PrepareContext(ctx, query); err != nil {
					return err
				}
				stmts[query] = st
			}
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, query, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// chunkShape is the largest of sharedShapes whose columns every one of
// the n rows (changeColumnCount values each) holds alike, or 0.
func chunkShape(rows []any, n int) uint32 {
	same := uint32(1)<<changeColumnCount - 1
	for r := 1; r < n && same != 0; r++ {
		row := rows[r*changeColumnCount : (r+1)*changeColumnCount]
		for j, v := range row {
			if same&(1<<j) != 0 && v != rows[j] {
				same &^= 1 << j
			}
		}
	}
	for _, shape := range sharedShapes {
		if same&shape == shape {
			return shape
		}
	}
	return 0
}

// sharedChangeSQL is the INSERT of n change records whose shape columns
// are bound once, first (?1, ?2, …), and the others per row after them,
// every variable numbered.
func sharedChangeSQL(m multiRow, d dialect, shape uint32, n int) string {
	if shape == 0 {
		return m.sql(d, n)
	}
	var b strings.Builder
	b.WriteString(m.head)
	shared := make([]int, changeColumnCount) // a shared column's number
	k := 0
	for j := range changeColumnCount {
		if shape&(1<<j) != 0 {
			k++
			shared[j] = k
		}
	}
	next := k
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range changeColumnCount {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
			if shared[j] != 0 {
				b.WriteString(strconv.Itoa(shared[j]))
			} else {
				next++
				b.WriteString(strconv.Itoa(next))
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// appendChangeArgs is changeArgs with the lists encoded once for a run of
// equal ones.
func appendChangeArgs(args []any, c *crmaccess.Change, pos int64, before, after *listEncoder) []any {
	sec, nsec := unixParts(c.At)
	return append(args, pos, sec, nsec, c.Actor, string(c.Entity.Kind), c.Entity.ID, c.User,
		c.Before.IsPrivate, int64(c.Before.ShareType), before.encode(c.Before.List), c.Before.Admin,
		c.Before.Creator, c.Before.Responsible,
		c.After.IsPrivate, int64(c.After.ShareType), after.encode(c.After.List), c.After.Admin,
		c.After.Creator, c.After.Responsible, string(c.Before.Status), string(c.After.Status))
}
