package storage

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/crmaccess/crmaccess"
)

// On PostgreSQL over pgx, the records a write names (crmaccess.Reads, from
// its context) are read in the round trip that takes the writer lock,
// after the lock: the statements of a pipeline run one after the other,
// each on a snapshot taken when it starts (READ COMMITTED), so the reads
// see every write committed before the lock was granted, as reads sent
// after the lock's answer would. The write's Reader then answers the
// reads those records cover from what was read, and any other read from
// the database: a round trip saved for a write that reads the records it
// changes. The reads are the prepared statements of the reads they stand
// for (planned once a connection).

// maxReadAhead bounds the ids read with the lock.
const maxReadAhead = 64

// readAhead is what was read with the writer lock: every opportunity of
// the hint (nil: not stored), and whether each contact and stage of the
// hint is stored.
type readAhead struct {
	opportunities    map[int64]*crmaccess.Opportunity
	contacts, stages map[int64]bool
}

// readsOf returns the records ctx names, each once; false when there are
// none or too many to read with the lock.
func readsOf(ctx context.Context) (crmaccess.Reads, bool) {
	r, ok := crmaccess.ReadsOf(ctx)
	if !ok {
		return r, false
	}
	r = crmaccess.Reads{Opportunities: distinct(r.Opportunities), Contacts: distinct(r.Contacts), Stages: distinct(r.Stages)}
	n := len(r.Opportunities) + len(r.Contacts) + len(r.Stages)
	return r, n > 0 && n <= maxReadAhead
}

// existenceSQL looks up which contacts ($1) and stages ($2) are stored.
func (s *Store) existenceSQL() string {
	return `SELECT 1, id FROM ` + s.t.contacts + ` WHERE id = ANY($1::bigint[])
		UNION ALL SELECT 2, id FROM ` + s.t.stages + ` WHERE id = ANY($2::bigint[])`
}

// queueReads queues on b the reads of r: the opportunities (as
// opportunitiesPgx reads them), then the existence of the contacts and
// stages, each when r names any.
func (s *Store) queueReads(b *pgx.Batch, r crmaccess.Reads) {
	if len(r.Opportunities) > 0 {
		b.Queue(s.opportunitiesPgxSQL(), r.Opportunities)
	}
	if len(r.Contacts)+len(r.Stages) > 0 {
		b.Queue(s.existenceSQL(), nonNil(r.Contacts), nonNil(r.Stages))
	}
}

// readResults reads the results of queueReads(b, r) from br.
func readResults(br pgx.BatchResults, r crmaccess.Reads) (*readAhead, error) {
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
	if len(r.Opportunities) > 0 {
		found, err := readOpportunities(br)
		if err != nil {
			return nil, err
		}
		for i := range found {
			o := &found[i]
			if _, asked := a.opportunities[o.ID]; !asked {
				return nil, fmt.Errorf("storage: opportunity %d read with the lock was not asked for", o.ID)
			}
			a.opportunities[o.ID] = o
		}
	}
	if len(r.Contacts)+len(r.Stages) > 0 {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var which, id int64
			if err := rows.Scan(&which, &id); err != nil {
				rows.Close()
				return nil, err
			}
			if which == 1 {
				a.contacts[id] = true
			} else {
				a.stages[id] = true
			}
		}
		if rows.Close(); rows.Err() != nil {
			return nil, rows.Err()
		}
	}
	return a, nil
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
