package storage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/crmaccess/crmaccess"
)

// On PostgreSQL over pgx, the records a write names (crmaccess.Reads, from
// its context) are read in the message that takes the writer lock, after
// the lock: a statement of a simple-protocol message takes a snapshot of
// its own under READ COMMITTED, so the reads see every write committed
// before the lock was granted, as a read sent after the lock's answer
// would. The write's Reader then answers the reads those records cover
// from what was read, and any other read from the database: a round trip
// saved for a write that reads the records it changes.

// maxReadAhead bounds the ids read with the lock (each is a literal of
// the message).
const maxReadAhead = 64

// readAhead is what was read with the writer lock: every opportunity of
// the hint (nil: not stored), and whether each contact and stage of the
// hint is stored.
type readAhead struct {
	opportunities    map[int64]*crmaccess.Opportunity
	contacts, stages map[int64]bool
}

// readAheadStatements returns the statements reading the records of ctx's
// hint, to follow the lock in its message, and how many results they
// answer; "" when there is nothing to read or too much.
func (s *Store) readAheadStatements(ctx context.Context) (string, crmaccess.Reads, int) {
	r, ok := crmaccess.ReadsOf(ctx)
	if !ok {
		return "", r, 0
	}
	r = crmaccess.Reads{Opportunities: distinct(r.Opportunities), Contacts: distinct(r.Contacts), Stages: distinct(r.Stages)}
	n := len(r.Opportunities) + len(r.Contacts) + len(r.Stages)
	if n == 0 || n > maxReadAhead {
		return "", r, 0
	}
	t := s.t
	var b strings.Builder
	results := 0
	if len(r.Opportunities) > 0 {
		b.WriteString(`; SELECT ` + opportunityColumns + `,
		ARRAY(SELECT m.contact_id FROM ` + t.members + ` m WHERE m.opportunity_id = o.id ORDER BY m.contact_id),
		ARRAY(SELECT g.tag FROM ` + t.opportunityTags + ` g WHERE g.opportunity_id = o.id ORDER BY g.pos)
		FROM ` + t.opportunities + ` o WHERE o.id IN (` + idLiterals(r.Opportunities) + `)`)
		results++
	}
	var parts []string
	if len(r.Contacts) > 0 {
		parts = append(parts, `SELECT 1, id FROM `+t.contacts+` WHERE id IN (`+idLiterals(r.Contacts)+`)`)
	}
	if len(r.Stages) > 0 {
		parts = append(parts, `SELECT 2, id FROM `+t.stages+` WHERE id IN (`+idLiterals(r.Stages)+`)`)
	}
	if len(parts) > 0 {
		b.WriteString(`; ` + strings.Join(parts, ` UNION ALL `))
		results++
	}
	return b.String(), r, results
}

// idLiterals writes ids as a list of SQL literals (integers: nothing to
// quote).
func idLiterals(ids []int64) string {
	buf := make([]byte, 0, 12*len(ids))
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = strconv.AppendInt(buf, id, 10)
	}
	return string(buf)
}

// parseReadAhead makes the readAhead of hint r from the results of its
// statements (readAheadStatements), in text format.
func parseReadAhead(r crmaccess.Reads, results []*pgconn.Result) (*readAhead, error) {
	a := &readAhead{opportunities: make(map[int64]*crmaccess.Opportunity, len(r.Opportunities)),
		contacts: make(map[int64]bool, len(r.Contacts)), stages: make(map[int64]bool, len(r.Stages))}
	for _, id := range r.Opportunities {
		a.opportunities[id] = nil
	}
	for _, id := range r.Contacts {
		a.contacts[id] = false
	}
	for _, id := range r.Stages {
		a.stages[id] = false
	}
	types := pgtype.NewMap()
	if len(r.Opportunities) > 0 {
		res := results[0]
		results = results[1:]
		for _, row := range res.Rows {
			// (Field descriptions come with the rows: none without.)
			if len(res.FieldDescriptions) != 15 || len(row) != 15 {
				return nil, fmt.Errorf("storage: an opportunity read with the lock has %d columns", len(row))
			}
			o, err := decodeOpportunity(types, res.FieldDescriptions, row)
			if err != nil {
				return nil, err
			}
			if _, asked := a.opportunities[o.ID]; !asked {
				return nil, fmt.Errorf("storage: opportunity %d read with the lock was not asked for", o.ID)
			}
			a.opportunities[o.ID] = o
		}
	}
	if len(r.Contacts)+len(r.Stages) > 0 {
		for _, row := range results[0].Rows {
			if len(row) != 2 {
				return nil, fmt.Errorf("storage: the existence read with the lock has %d columns", len(row))
			}
			id, err := strconv.ParseInt(string(row[1]), 10, 64)
			if err != nil {
				return nil, err
			}
			switch string(row[0]) {
			case "1":
				a.contacts[id] = true
			case "2":
				a.stages[id] = true
			default:
				return nil, fmt.Errorf("storage: the existence read with the lock answered table %q", row[0])
			}
		}
	}
	return a, nil
}

// decodeOpportunity decodes a row of the opportunities read with the lock:
// the columns of opportunitiesPgx.
func decodeOpportunity(types *pgtype.Map, fields []pgconn.FieldDescription, row [][]byte) (*crmaccess.Opportunity, error) {
	var o crmaccess.Opportunity
	var probability, closeSec, closeNsec, createdSec, createdNsec int64
	dest := []any{&o.ID, &o.Title, &o.Description, &o.CreateBy, &o.Responsible, &o.ContactID,
		&o.StageID, &probability, &closeSec, &closeNsec, &createdSec, &createdNsec, &o.IsPrivate, &o.Members, &o.Tags}
	for i, d := range dest {
		if err := types.Scan(fields[i].DataTypeOID, fields[i].Format, row[i], d); err != nil {
			return nil, fmt.Errorf("storage: column %s of an opportunity read with the lock: %w", fields[i].Name, err)
		}
	}
	if len(o.Members) == 0 {
		o.Members = nil // as the portable read leaves them
	}
	if len(o.Tags) == 0 {
		o.Tags = nil
	}
	o.SuccessProbability = int(probability)
	o.ExpectedCloseDate = fromUnix(closeSec, closeNsec)
	o.Created = fromUnix(createdSec, createdNsec)
	return &o, nil
}

// aheadOf returns what q's transaction read with the lock, or nil.
func aheadOf(q queryer) *readAhead {
	if w, ok := q.(*wtx); ok {
		return w.ahead
	}
	return nil
}

// opportunitiesOf answers Reader.Opportunities for ids when the read covers
// them all: each once, ascending, copies.
func (a *readAhead) opportunitiesOf(ids []int64) ([]crmaccess.Opportunity, bool) {
	if a == nil {
		return nil, false
	}
	for _, id := range ids {
		if _, ok := a.opportunities[id]; !ok {
			return nil, false
		}
	}
	var out []crmaccess.Opportunity
	for _, id := range distinct(ids) {
		if o := a.opportunities[id]; o != nil {
			c := *o
			c.Members, c.Tags = slices.Clone(o.Members), slices.Clone(o.Tags)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y crmaccess.Opportunity) int { return cmp.Compare(x.ID, y.ID) })
	return out, true
}

// existing answers Reader.ExistingIDs when the read covers every id.
func (a *readAhead) existing(opportunities, contacts, stages []int64) (opps, cons, stgs []int64, ok bool) {
	if a == nil {
		return nil, nil, nil, false
	}
	for _, id := range opportunities {
		if _, ok := a.opportunities[id]; !ok {
			return nil, nil, nil, false
		}
	}
	for _, id := range contacts {
		if _, ok := a.contacts[id]; !ok {
			return nil, nil, nil, false
		}
	}
	for _, id := range stages {
		if _, ok := a.stages[id]; !ok {
			return nil, nil, nil, false
		}
	}
	for _, id := range distinct(opportunities) {
		if a.opportunities[id] != nil {
			opps = append(opps, id)
		}
	}
	for _, id := range distinct(contacts) {
		if a.contacts[id] {
			cons = append(cons, id)
		}
	}
	for _, id := range distinct(stages) {
		if a.stages[id] {
			stgs = append(stgs, id)
		}
	}
	slices.Sort(opps)
	slices.Sort(cons)
	slices.Sort(stgs)
	return opps, cons, stgs, true
}
