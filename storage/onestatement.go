package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
)

// On PostgreSQL every statement is a round trip, and a write of one record
// was a dozen of them. A small write of the common shapes (records created
// or deleted, an opportunity edited, privacy changed, rules, the log entry,
// its change records and the notification) goes instead as one statement
// of data-modifying CTEs:
// PostgreSQL runs each exactly once, on one snapshot, and checks foreign
// keys at the end of the statement. Its parts never touch a row twice
// (the rule diff is net: a rule is removed or added, not both), so their
// order does not matter. The affected rows of the parts that must match
// (rules removed, records deleted or updated) are counted by the
// statement's answer, as the step by step write checks them.

// maxOneStatementVars leaves room under PostgreSQL's 65,535 bound
// parameters.
const maxOneStatementVars = 60_000

// oneStatement is a statement being built: its CTEs and their arguments.
type oneStatement struct {
	parts   []string
	args    []any
	counted []string     // the CTEs whose rows the answer counts, in order
	checks  []countCheck // the check of each counted CTE, in order
}

// countCheck is what a counted part of a write must count: want rows, or
// the write fails with fail(count).
type countCheck struct {
	want int64
	fail func(count int64) error
}

// check returns the error of the first count that is not what its check
// wants, nil when all are.
func check(checks []countCheck, counts []int64) error {
	if len(checks) != len(counts) {
		return fmt.Errorf("storage: %d counted parts, %d checks", len(counts), len(checks))
	}
	for i, c := range checks {
		if counts[i] != c.want {
			return c.fail(counts[i])
		}
	}
	return nil
}

// add adds a CTE running query (with ? placeholders); a counted one
// returns a row per affected row, and its count is in the answer.
func (o *oneStatement) add(query string, args []any, counted bool) {
	name := "w" + strconv.Itoa(len(o.parts))
	if counted {
		query += " RETURNING 1"
		o.counted = append(o.counted, name)
	}
	o.parts = append(o.parts, name+" AS ("+query+")")
	o.args = append(o.args, args...)
}

// rows adds a CTE of m over n rows (one chunk), counted or not.
func (o *oneStatement) rows(m multiRow, fixed []any, n int, fill func(args []any, i int) []any, counted bool) {
	if n == 0 {
		return
	}
	args := append([]any(nil), fixed...)
	for i := range n {
		args = fill(args, i)
	}
	var b strings.Builder
	b.WriteString(m.head)
	for i := range n {
		if i > 0 {
			b.WriteString(m.separator())
		}
		b.WriteString(m.row)
	}
	b.WriteString(m.tail)
	o.add(b.String(), args, counted)
}

// fitsOneStatement reports whether b is of a shape writeOneStatement
// writes: only the parts below, each within one chunk.
func (s *Store) fitsOneStatement(b *crmaccess.Batch) bool {
	return s.d.postgres() && oneStatementVars(b) >= 0
}

// oneStatementVars is how many variables writeOneStatement binds for b,
// or -1 when b is not of its shapes.
func oneStatementVars(b *crmaccess.Batch) int {
	if b.RequireEmpty || len(b.Users) > 0 || len(b.UpdateUsers) > 0 || len(b.Stages) > 0 ||
		len(b.Contacts) > 0 || len(b.UpdateContacts) > 0 || len(b.UpdateOpportunities) > 1 || len(b.UpdateStages) > 0 ||
		len(b.ContactShares) > 0 || len(b.DeleteContacts) > 0 || len(b.DeleteStages) > 0 {
		return -1
	}
	members, tags := 0, 0
	for i := range b.Opportunities {
		members += len(b.Opportunities[i].Members)
		tags += len(b.Opportunities[i].Tags)
	}
	if len(b.UpdateOpportunities) > 0 && len(b.Opportunities)+len(b.OpportunityPrivacy)+len(b.DeleteOpportunities) > 0 {
		return -1 // an edit beside other changes of records: they might touch its row twice
	}
	edited := 0 // the members and tags of an edited opportunity (one at most)
	for i := range b.UpdateOpportunities {
		edited += len(b.UpdateOpportunities[i].Members) + len(b.UpdateOpportunities[i].Tags)
	}
	vars := 13*len(b.Opportunities) + 2*members + 4*tags + 2*len(b.OpportunityPrivacy) + 3*len(b.DeleteOpportunities) +
		3*(len(b.RemoveRules)+len(b.AddRules)) + 21*len(b.Changes) + 16 + 13*len(b.UpdateOpportunities) + 4*edited
	for _, n := range []int{len(b.Opportunities), members, tags, len(b.OpportunityPrivacy), len(b.DeleteOpportunities),
		len(b.RemoveRules), len(b.AddRules), len(b.Changes), edited} {
		if n > statementRows {
			return -1
		}
	}
	if vars > maxOneStatementVars {
		return -1
	}
	return vars
}

// fitOneStatement reports whether the batches, written one after another
// as consecutive entries, can go as one statement: each of its shapes,
// all within the bound of variables, and no two touching the same
// opportunity or rule (the parts of one statement must not touch a row
// twice).
func (s *Store) fitOneStatement(bs []*crmaccess.Batch) bool {
	if !s.d.postgres() {
		return false
	}
	vars := 0
	opportunities := make(map[int64]bool)
	rules := make(map[crmaccess.Rule]bool)
	touch := func(id int64) bool {
		seen := opportunities[id]
		opportunities[id] = true
		return !seen
	}
	for _, b := range bs {
		n := oneStatementVars(b)
		if n < 0 || len(b.UpdateOpportunities) > 0 {
			return false // an edit goes as one statement alone (the arrays do not write it)
		}
		vars += n
		// Within a batch, the write's own rules apply (a record is
		// touched by one batch only).
		mine := make(map[int64]bool)
		for _, ids := range [][]int64{b.DeleteOpportunities, privacyIDsOf(b), createdIDsOf(b)} {
			for _, id := range ids {
				if !mine[id] {
					mine[id] = true
					if !touch(id) {
						return false
					}
				}
			}
		}
		for _, list := range [][]crmaccess.Rule{b.RemoveRules, b.AddRules} {
			for _, r := range list {
				if rules[r] {
					return false
				}
				rules[r] = true
			}
		}
	}
	return vars <= maxOneStatementVars
}

func privacyIDsOf(b *crmaccess.Batch) []int64 {
	ids := make([]int64, len(b.OpportunityPrivacy))
	for i, p := range b.OpportunityPrivacy {
		ids[i] = p.ID
	}
	return ids
}

func createdIDsOf(b *crmaccess.Batch) []int64 {
	ids := make([]int64, len(b.Opportunities))
	for i := range b.Opportunities {
		ids[i] = b.Opportunities[i].ID
	}
	return ids
}

// writeOneStatement writes the batches (fitOneStatement) as the entries
// from pos on, with the notification of the last, in one statement.
func (s *Store) writeOneStatement(ctx context.Context, tx *wtx, bs []*crmaccess.Batch, pos int64) error {
	if s.pgx && len(bs) > 1 {
		return s.writeArrays(ctx, tx, bs, pos) // a group: pgarrays.go
	}
	query, args, checks := s.oneStatementSQL(ctx, tx, bs, pos, false, nil)
	counts := make([]int64, len(checks)+1)
	dest := make([]any, len(counts))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := tx.QueryRowContext(ctx, query, args...).Scan(dest...); err != nil {
		return err
	}
	if counts[len(checks)] != 1 {
		return fmt.Errorf("storage: the write's answer counts %d notifications", counts[len(checks)])
	}
	return check(checks, counts[:len(checks)])
}

// oneStatementSQL is the statement writing the batches (fitOneStatement)
// as the entries from pos on, with the notification of the last, its
// arguments and the checks of its counted parts. Its answer is one row:
// the count of each counted part, then of notifications (1). With
// checked, the statement checks the counts itself and answers only the
// notifications: a count that is not what its check wants fails the
// statement (countsFailed), so that nothing it wrote can be committed.
// A guard (checked only) is a condition on the state before the write:
// false, it fails the statement too (expectMarker).
func (s *Store) oneStatementSQL(ctx context.Context, tx *wtx, bs []*crmaccess.Batch, pos int64, checked bool, guard *guardSQL) (string, []any, []countCheck) {
	var o oneStatement
	delta := 0
	for k, b := range bs {
		delta += s.oneStatementParts(ctx, tx, &o, b, pos+int64(k))
	}
	last := pos + int64(len(bs)) - 1
	if delta != 0 {
		o.add(`UPDATE `+s.t.counts+` SET n = n + ? WHERE kind = ?`, []any{delta, string(crmaccess.KindOpportunity)}, false)
	}

	// The answer: the counted parts, then the notification, delivered to
	// the listeners when the transaction commits.
	var q strings.Builder
	q.WriteString("WITH ")
	q.WriteString(strings.Join(o.parts, ", "))
	args := o.args
	if checked && (len(o.counted) > 0 || guard != nil) {
		// The text the statement fails with names the counts (and the
		// guard's value): not a constant, which the planner would cast,
		// and fail on, whatever they are.
		q.WriteString(" SELECT CASE WHEN ")
		marker := countsMarker
		var conds []string
		for i := range o.counted {
			conds = append(conds, "k.c"+strconv.Itoa(i)+" = ?")
			args = append(args, o.checks[i].want)
		}
		if guard != nil {
			conds = append(conds, "k.g")
			marker = expectMarker
		}
		q.WriteString(strings.Join(conds, " AND "))
		q.WriteString(" THEN k.n ELSE ('" + marker + "'")
		for i := range o.counted {
			q.WriteString(" || ' ' || k.c" + strconv.Itoa(i))
		}
		if guard != nil {
			q.WriteString(" || ' ' || k.g::text")
		}
		q.WriteString(")::bigint END FROM (SELECT ")
		for i, name := range o.counted {
			q.WriteString("(SELECT count(*) FROM " + name + ") AS c" + strconv.Itoa(i) + ", ")
		}
		if guard != nil {
			q.WriteString("(" + guard.cond + ") AS g, ")
			args = append(args, guard.args...)
		}
		q.WriteString("(SELECT count(*) FROM (SELECT pg_notify(?, ?)) n) AS n) k")
	} else {
		q.WriteString(" SELECT ")
		for _, name := range o.counted {
			q.WriteString("(SELECT count(*) FROM " + name + "), ")
		}
		q.WriteString("(SELECT count(*) FROM (SELECT pg_notify(?, ?)) n)")
	}
	args = append(args, s.t.log, strconv.FormatInt(last, 10))
	if len(o.checks) != len(o.counted) {
		panic(fmt.Sprintf("storage: %d counted parts, %d checks", len(o.counted), len(o.checks)))
	}
	return s.d.bind(q.String()), args, o.checks
}

// rulesByKey is the most rules a statement removes by one condition each
// (a probe of the rule index each, OR'd); more are joined to a list of
// VALUES.
const rulesByKey = 8

// oneStatementParts adds the parts of b, written at pos, to o, and the
// checks of its counted parts, in order; it returns the change of the
// count of opportunities.
func (s *Store) oneStatementParts(ctx context.Context, tx *wtx, o *oneStatement, b *crmaccess.Batch, pos int64) int {
	// Records created, with their members and tags.
	var members []memberRow
	var tags []tagRow
	for i := range b.Opportunities {
		op := &b.Opportunities[i]
		members = append(members, memberRows(op)...)
		for p, tag := range op.Tags {
			tags = append(tags, tagRow{op.ID, p, tag})
		}
	}
	o.rows(multiRow{head: `INSERT INTO ` + s.t.opportunities + ` (id, title, description, create_by, responsible,
		contact_id, stage_id, success_probability, expected_close_sec, expected_close_nsec, created_sec, created_nsec,
		is_private) VALUES `, row: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"}, nil, len(b.Opportunities),
		func(args []any, i int) []any {
			op := &b.Opportunities[i]
			closeSec, closeNsec := unixParts(op.ExpectedCloseDate)
			sec, nsec := unixParts(op.Created)
			return append(args, op.ID, op.Title, op.Description, op.CreateBy, op.Responsible, op.ContactID, op.StageID,
				op.SuccessProbability, closeSec, closeNsec, sec, nsec, op.IsPrivate)
		}, false)
	o.rows(multiRow{head: `INSERT INTO ` + s.t.members + ` (opportunity_id, contact_id) VALUES `, row: "(?, ?)"}, nil,
		len(members), func(args []any, i int) []any { return append(args, members[i].opportunityID, members[i].contactID) }, false)
	o.rows(multiRow{head: `INSERT INTO ` + s.t.opportunityTags + ` (opportunity_id, pos, tag, tag_key) VALUES `,
		row: "(?, ?, ?, ?)"}, nil, len(tags), func(args []any, i int) []any {
		t := &tags[i]
		return append(args, t.recordID, t.pos, t.tag, crmaccess.NormalizeTag(t.tag))
	}, false)

	// An opportunity edited (one at most: oneStatementVars): its fields,
	// counted; its members and tags replaced, each row touched once (the
	// parts of one statement must not touch a row twice): the members no
	// longer listed deleted and the new ones inserted, the tags upserted
	// by position and those past the last deleted.
	for i := range b.UpdateOpportunities {
		op := &b.UpdateOpportunities[i]
		closeSec, closeNsec := unixParts(op.ExpectedCloseDate)
		o.add(`UPDATE `+s.t.opportunities+` SET title = ?, description = ?, responsible = ?, contact_id = ?, stage_id = ?,
			success_probability = ?, expected_close_sec = ?, expected_close_nsec = ? WHERE id = ?`,
			[]any{op.Title, op.Description, op.Responsible, op.ContactID, op.StageID, op.SuccessProbability, closeSec, closeNsec, op.ID}, true)
		o.checks = append(o.checks, countCheck{1, func(int64) error {
			return crmaccess.Errorf(crmaccess.ECONFLICT, "opportunity %d does not exist", op.ID)
		}})
		kept := memberRows(op)
		if len(kept) == 0 {
			o.add(`DELETE FROM `+s.t.members+` WHERE opportunity_id = ?`, []any{op.ID}, false)
		} else {
			o.rows(multiRow{head: `DELETE FROM ` + s.t.members + ` WHERE opportunity_id = ? AND contact_id NOT IN (`, row: "?", tail: ")"},
				[]any{op.ID}, len(kept), func(args []any, i int) []any { return append(args, kept[i].contactID) }, false)
			o.rows(multiRow{head: `INSERT INTO ` + s.t.members + ` (opportunity_id, contact_id) VALUES `, row: "(?, ?)",
				tail: ` ON CONFLICT DO NOTHING`}, nil, len(kept), func(args []any, i int) []any {
				return append(args, kept[i].opportunityID, kept[i].contactID)
			}, false)
		}
		o.rows(multiRow{head: `INSERT INTO ` + s.t.opportunityTags + ` (opportunity_id, pos, tag, tag_key) VALUES `,
			row: "(?, ?, ?, ?)", tail: ` ON CONFLICT (opportunity_id, pos) DO UPDATE SET tag = EXCLUDED.tag, tag_key = EXCLUDED.tag_key`},
			nil, len(op.Tags), func(args []any, i int) []any {
				return append(args, op.ID, i, op.Tags[i], crmaccess.NormalizeTag(op.Tags[i]))
			}, false)
		o.add(`DELETE FROM `+s.t.opportunityTags+` WHERE opportunity_id = ? AND pos >= ?`, []any{op.ID, len(op.Tags)}, false)
	}

	// Privacy changed: one UPDATE per value, counted.
	privacy := make(map[int64]bool, len(b.OpportunityPrivacy))
	for _, p := range b.OpportunityPrivacy {
		privacy[p.ID] = p.IsPrivate // the last update of an id wins
	}
	var privacyIDs [2][]int64 // false, true
	for id, v := range privacy {
		if v {
			privacyIDs[1] = append(privacyIDs[1], id)
		} else {
			privacyIDs[0] = append(privacyIDs[0], id)
		}
	}
	for v, ids := range privacyIDs {
		if len(ids) == 0 {
			continue
		}
		slices.Sort(ids)
		o.rows(multiRow{head: `UPDATE ` + s.t.opportunities + ` SET is_private = ? WHERE id IN (`, row: "?", tail: ")"},
			[]any{v == 1}, len(ids), func(args []any, i int) []any { return append(args, ids[i]) }, true)
		o.checks = append(o.checks, countCheck{int64(len(ids)), func(int64) error {
			return s.missing(ctx, tx, s.t.opportunities, "opportunity", ids)
		}})
	}

	// Records deleted with their members and tags; the records counted.
	deleted := distinctArgs(b.DeleteOpportunities)
	byID := func(args []any, i int) []any { return append(args, deleted[i]) }
	o.rows(multiRow{head: `DELETE FROM ` + s.t.members + ` WHERE opportunity_id IN (`, row: "?", tail: ")"}, nil, len(deleted), byID, false)
	o.rows(multiRow{head: `DELETE FROM ` + s.t.opportunityTags + ` WHERE opportunity_id IN (`, row: "?", tail: ")"}, nil, len(deleted), byID, false)
	o.rows(multiRow{head: `DELETE FROM ` + s.t.opportunities + ` WHERE id IN (`, row: "?", tail: ")"}, nil, len(deleted), byID, true)
	if len(deleted) > 0 {
		o.checks = append(o.checks, countCheck{int64(len(deleted)), func(count int64) error {
			return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of the opportunities to delete do not exist", int64(len(deleted))-count)
		}})
	}

	// Rules: removed (counted), added.
	removeRules := multiRow{head: `DELETE FROM ` + s.t.rules + ` WHERE (ptype, v0, v1, v2, v3, v4, v5) IN (VALUES `,
		row: "(?, ?, ?, '', '', '', '')", tail: ")"}
	if len(b.RemoveRules) <= rulesByKey {
		removeRules = multiRow{head: `DELETE FROM ` + s.t.rules + ` WHERE `,
			row: "(ptype = ? AND v0 = ? AND v1 = ? AND v2 = '' AND v3 = '' AND v4 = '' AND v5 = '')", sep: " OR "}
	}
	o.rows(removeRules, nil, len(b.RemoveRules), func(args []any, i int) []any {
		r := &b.RemoveRules[i]
		return append(args, r.Type, r.From, r.To)
	}, true)
	if len(b.RemoveRules) > 0 {
		o.checks = append(o.checks, countCheck{int64(len(b.RemoveRules)), func(removed int64) error {
			return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of %d rules to remove are not stored",
				int64(len(b.RemoveRules))-removed, len(b.RemoveRules))
		}})
	}
	o.rows(multiRow{head: `INSERT INTO ` + s.t.rules + ` (ptype, v0, v1, v2, v3, v4, v5) VALUES `,
		row: "(?, ?, ?, '', '', '', '')"}, nil, len(b.AddRules), func(args []any, i int) []any {
		r := &b.AddRules[i]
		return append(args, r.Type, r.From, r.To)
	}, false)

	// The log entry and its change records.
	at := b.At
	if at.IsZero() {
		at = time.Now()
	}
	sec, nsec := unixParts(at)
	o.add(`INSERT INTO `+s.t.log+` (seq, at_sec, at_nsec, kind, changes) VALUES (?, ?, ?, ?, ?)`,
		[]any{pos, sec, nsec, string(b.Kind), len(b.Changes)}, false)
	o.rows(changeRows(s), nil, len(b.Changes), func(args []any, i int) []any { return changeArgs(args, &b.Changes[i], pos) }, false)
	return len(b.Opportunities) - len(deleted)
}
