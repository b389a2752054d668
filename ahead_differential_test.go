package crmaccess_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// noAhead is a store that does not write ahead of its lock: every write of
// a Service over it is decided under the lock.
type noAhead struct{ *storage.Store }

func (noAhead) WritesAhead() bool { return false }

// TestWritesAheadDecideAsUnderTheLock runs one random sequence of writes on
// two PostgreSQL stores holding the same portal. On one, writes of one
// record are decided ahead of the writer lock where they can be; on the
// other, every write is decided under the lock. On each store a second
// instance, which does not follow the log, interleaves writes of its own,
// so that each instance often decides on a memory the head has left. Every
// write must answer alike on both stores (its error's code, or its token
// and what its answer shows), and at the end the instances of both decide
// alike on every user, record and action.
func TestWritesAheadDecideAsUnderTheLock(t *testing.T) {
	postgresDSN(t)
	ctx := t.Context()
	opts := func(poll time.Duration) *crmaccess.Options {
		return &crmaccess.Options{Now: func() time.Time { return testNow }, PollInterval: poll}
	}
	type side struct{ writer, other *crmaccess.Service }
	open := func(ahead bool) side {
		place := testportal.NewStore(t, testportal.PostgreSQL)
		var st crmaccess.Store = place.Open(t)
		if !ahead {
			st = noAhead{place.Open(t)}
		}
		writer := serviceWith(t, st, opts(0))
		if _, err := writer.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		return side{writer: writer, other: serviceWith(t, place.Open(t), opts(-1))}
	}
	ahead, under := open(true), open(false)

	users := []string{admin, alice, bob, carol, dave}
	rng := rand.New(rand.NewPCG(9, 2026))
	// A write: what it does, given the instance that makes it, and what
	// its answer shows.
	type write func(ctx context.Context, s *crmaccess.Service) (string, error)
	opportunityAnswer := func(r *crmaccess.OpportunityResult, err error) (string, error) {
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %+v %v %v", r.Token, r.Opportunity, r.CanEdit, r.Changed), nil
	}
	randomWrite := func() (string, write) {
		u, id := users[rng.IntN(len(users))], int64(1+rng.IntN(12))
		contact, stage := int64(rng.IntN(8)), []int64{0, 30, 31, 99}[rng.IntN(4)]
		private, list := rng.IntN(2) == 0, someOf(rng, users)
		switch rng.IntN(5) {
		case 0, 1:
			o := crmaccess.Opportunity{ID: id, Title: "deal", ContactID: contact, StageID: stage, Members: []int64{int64(1 + rng.IntN(7))}}
			return fmt.Sprintf("%s creates %d (contact %d, stage %d, private %v %v)", u, id, contact, stage, private, list),
				func(ctx context.Context, s *crmaccess.Service) (string, error) {
					return opportunityAnswer(s.CreateOpportunity(ctx, u, o, private, list))
				}
		case 2:
			o := crmaccess.Opportunity{ID: id, Title: "edited", ContactID: contact, StageID: stage, Responsible: users[rng.IntN(len(users))]}
			return fmt.Sprintf("%s edits %d", u, id), func(ctx context.Context, s *crmaccess.Service) (string, error) {
				return opportunityAnswer(s.UpdateOpportunity(ctx, u, o))
			}
		case 3:
			return fmt.Sprintf("%s makes %d private %v %v", u, id, private, list), func(ctx context.Context, s *crmaccess.Service) (string, error) {
				return opportunityAnswer(s.SetOpportunityAccess(ctx, u, id, private, list))
			}
		default:
			return fmt.Sprintf("%s deletes %d", u, id), func(ctx context.Context, s *crmaccess.Service) (string, error) {
				tok, err := s.DeleteOpportunity(ctx, u, id)
				return string(tok), err
			}
		}
	}
	answer := func(s *crmaccess.Service, w write) string {
		got, err := w(ctx, s)
		if err != nil {
			return "error " + crmaccess.ErrorCode(err)
		}
		return got
	}
	for i := range 400 {
		what, w := randomWrite()
		by := func(s side) *crmaccess.Service { return s.writer }
		if rng.IntN(3) == 0 {
			what, by = "the other instance: "+what, func(s side) *crmaccess.Service { return s.other }
		}
		if a, b := answer(by(ahead), w), answer(by(under), w); a != b {
			t.Fatalf("write %d, %s: ahead of the lock %q, under it %q", i, what, a, b)
		}
		if i%50 == 0 {
			// Now and then a record read fills the directory, which
			// an access change decided ahead reads.
			for id := int64(1); id <= 12; id++ {
				_, _ = ahead.writer.Opportunity(ctx, admin, id)
				_, _ = under.writer.Opportunity(ctx, admin, id)
			}
		}
	}
	var refs []crmaccess.Ref
	for id := int64(1); id <= 12; id++ {
		refs = append(refs, crmaccess.OpportunityRef(id))
	}
	for _, s := range []side{ahead, under} {
		// The writer follows: it holds its own writes, and the other's
		// once it reaches the other's last token.
		if err := s.writer.WaitFor(ctx, s.other.Token()); err != nil {
			t.Fatal(err)
		}
	}
	if !mapsEqual(decisionsOf(t, ahead.writer, users, refs, "unauthorized"), decisionsOf(t, under.writer, users, refs, "unauthorized")) {
		t.Error("after the writes, the two stores' instances decide otherwise")
	}
	made, missed := crmaccess.AheadWrites(ahead.writer)
	madeOther, missedOther := crmaccess.AheadWrites(ahead.other)
	if made == 0 || missed+missedOther == 0 {
		t.Errorf("%d writes made ahead and %d tried so and made under the lock (the other instance: %d and %d): the test did not take both ways",
			made, missed, madeOther, missedOther)
	}
	if m, n := crmaccess.AheadWrites(under.writer); m+n != 0 {
		t.Errorf("the store that does not write ahead had %d writes made ahead, %d tried", m, n)
	}
	t.Logf("writes made ahead: %d by the writer, %d by the other; tried and made under the lock: %d and %d", made, madeOther, missed, missedOther)
}
