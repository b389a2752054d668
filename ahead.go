package crmaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Writes decided ahead of the writer lock. A write of one record (one that
// names its records: WithReads) takes two round trips on PostgreSQL: the
// writer lock with the head and the reads, then the write with its
// COMMIT. When the store can (AheadUpdater), the write is first decided
// on memory as it is, at its log position, before any lock: the records
// it looks up are guessed (an opportunity exists when memory holds rules
// for it; a contact or a stage exists), and the store sends, in one round
// trip, the lock and the write, which commits only if, under the lock,
// the head is memory's position and the guesses hold. The head being
// memory's position means that memory, the directory with it, holds the
// committed state the lock sees, so the decision is the one the write
// would make under the lock. When a check fails nothing is written, and
// the write is made the usual way. A write whose decision needs any other
// read, or refuses, or writes nothing, is made the usual way too, so that
// every refusal is decided under the lock. One read memory may leave to
// the write: the row of an opportunity that a write's answer shows but its
// decision does not need (answerOpportunity: an access change) is read in
// the same round trip, as the lock finds it. A lone write is made ahead
// only while writers are not busy (commitGroup).

// errNotAhead stops a decision ahead of the lock that needs a read memory
// cannot answer.
var errNotAhead = errors.New("crmaccess: the write reads the store: it is not decided ahead of the lock")

// writeAhead tries to make the write as described above (writeMu held).
// done reports that it was made, with its token; otherwise err is a try
// that failed (nil: nothing was sent, or the store was not as expected,
// and the write is to be made the usual way), and sent what the failed
// try sent, which may have committed.
func (s *Service) writeAhead(ctx context.Context, actor string, build func(ctx context.Context, tx Reader) (*Batch, error)) (tok Token, done bool, sent *sentWrite, err error) {
	au, ok := s.store.(AheadUpdater)
	if !ok || s.hostTx != nil || !au.WritesAhead() || s.stale.Load() {
		return "", false, nil, nil
	}
	if _, named := ReadsOf(ctx); !named {
		return "", false, nil, nil // a write of many records reads the store
	}
	head := s.applied.Load()
	g := &guessingReader{auth: s.auth}
	b, _, err := s.decideOnMemory(context.WithValue(ctx, guessingKey{}, g), g, actor, build)
	if err != nil || b == nil || s.applied.Load() != head || s.stale.Load() {
		// A refusal, a read memory cannot answer, nothing to write, or
		// memory moved meanwhile: decided again under the lock.
		return "", false, nil, nil
	}
	s.ownPending.Store(head + 1)
	pos, rows, err := au.UpdateAhead(ctx, Expectation{Head: head, Present: g.present, Absent: g.absent}, b, rowIDs(g.rows))
	switch {
	case errors.Is(err, ErrNotAsExpected):
		s.ownPending.Store(0)
		s.aheadMissed.Add(1)
		return "", false, nil, nil
	case err != nil:
		s.ownPending.Store(0)
		return "", false, &sentWrite{pos: head + 1, b: b, rows: g.rows}, err
	case pos != head+1:
		s.ownPending.Store(0)
		s.stale.Store(true)
		return "", false, nil, Internal(errors.New("crmaccess: a write made ahead was committed at a position it did not expect"))
	}
	s.applyOwn(pos, b)
	s.ownPending.Store(0)
	s.aheadWrites.Add(1)
	if err := fillRows(g.rows, rows); err != nil {
		return "", false, nil, err
	}
	return positionToken(pos), true, nil, nil
}

// guessingKey carries, in the context of a write's decision ahead of the
// lock, its guessingReader (answerOpportunity).
type guessingKey struct{}

// answerOpportunity is readableOpportunity for a write that decides on
// whether the opportunity exists and on its access (memory), and shows its
// row only in its answer. Decided ahead of the lock, a row the directory
// does not hold is read in the write's round trip, as the lock finds it:
// the Opportunity returned holds only its id until the write is made
// (writeAhead fills it), and the write then expects it stored.
func (s *Service) answerOpportunity(ctx context.Context, r Reader, u string, id int64) (*Opportunity, error) {
	o, err := s.readableOpportunity(ctx, r, u, id)
	g, ahead := ctx.Value(guessingKey{}).(*guessingReader)
	if !ahead || !errors.Is(err, errNotAhead) || !hasRules(s.auth.Access(OpportunityRef(id))) {
		return o, err // (one guessed missing is decided under the lock)
	}
	return g.readBack(id), nil
}

// guessingReader is the Reader of a write decided ahead of the lock: it
// answers which records exist by guessing, and keeps the guesses for the
// store to check; any other read stops the decision (errNotAhead).
type guessingReader struct {
	auth            Authorizer
	present, absent Reads
	// rows are the opportunities whose rows come back with the write
	// (answerOpportunity), each filled once it is made.
	rows map[int64]*Opportunity
}

// readBack returns the opportunity whose row is to come back with the
// write, expected stored.
func (g *guessingReader) readBack(id int64) *Opportunity {
	if o, ok := g.rows[id]; ok {
		return o
	}
	if g.rows == nil {
		g.rows = make(map[int64]*Opportunity)
	}
	o := &Opportunity{ID: id}
	g.rows[id] = o
	g.present.Opportunities = append(g.present.Opportunities, id)
	return o
}

// rowIDs are the ids of rows, ascending.
func rowIDs(rows map[int64]*Opportunity) []int64 {
	ids := make([]int64, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// fillRows copies the rows found into the opportunities of rows (those
// readBack returned); each must have been found.
func fillRows(rows map[int64]*Opportunity, found []Opportunity) error {
	filled := 0
	for i := range found {
		if o, ok := rows[found[i].ID]; ok {
			*o = found[i]
			filled++
		}
	}
	if filled != len(rows) {
		return Internal(fmt.Errorf("crmaccess: %d of the %d rows a write made ahead shows were read", filled, len(rows)))
	}
	return nil
}

// ExistingIDs guesses that an opportunity exists when memory holds rules
// for it (a creator, a responsible user, a list or the public marker), and
// that every contact and stage exists: the guesses of a write that is not
// refused. A wrong guess costs the round trip the store's check fails.
func (g *guessingReader) ExistingIDs(_ context.Context, opportunities, contacts, stages []int64) (opps, cons, stgs []int64, err error) {
	for _, id := range distinctIDs(opportunities) {
		if hasRules(g.auth.Access(OpportunityRef(id))) {
			opps = append(opps, id)
			g.present.Opportunities = append(g.present.Opportunities, id)
		} else {
			g.absent.Opportunities = append(g.absent.Opportunities, id)
		}
	}
	cons, stgs = distinctIDs(contacts), distinctIDs(stages)
	g.present.Contacts = append(g.present.Contacts, cons...)
	g.present.Stages = append(g.present.Stages, stgs...)
	return opps, cons, stgs, nil
}

// hasRules reports whether st is the access of an opportunity with rules.
func hasRules(st AccessState) bool {
	return st.Creator != "" || st.Responsible != "" || !st.IsPrivate || len(st.List) > 0
}

// distinctIDs returns ids ascending, each once, in a new slice.
func distinctIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func (g *guessingReader) Opportunity(context.Context, int64) (*Opportunity, error) {
	return nil, errNotAhead
}

func (g *guessingReader) Opportunities(context.Context, []int64) ([]Opportunity, error) {
	return nil, errNotAhead
}

func (g *guessingReader) Contacts(context.Context, []int64) ([]Contact, error) {
	return nil, errNotAhead
}

func (g *guessingReader) FindContacts(context.Context, *ContactFilter) ([]Contact, error) {
	return nil, errNotAhead
}

func (g *guessingReader) FindOpportunities(context.Context, *OpportunityFilter) ([]Opportunity, error) {
	return nil, errNotAhead
}

func (g *guessingReader) ReadableOpportunities(context.Context, *OpportunityFilter, string, int, int) ([]Opportunity, int, error) {
	return nil, 0, errNotAhead
}

func (g *guessingReader) ReadableContacts(context.Context, *ContactFilter, string, int, int) ([]Contact, int, error) {
	return nil, 0, errNotAhead
}

func (g *guessingReader) Stages(context.Context, []int64) ([]Stage, error) { return nil, errNotAhead }

func (g *guessingReader) Users(context.Context, []string) ([]User, error) { return nil, errNotAhead }

func (g *guessingReader) StageInUse(context.Context, int64) (bool, error) { return false, errNotAhead }

func (g *guessingReader) Log(context.Context, int64, func(*LogEntry) error) error { return errNotAhead }
