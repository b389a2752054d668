package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// A write whose counted part misses (a privacy update or a deletion of a
// record that is not stored, a rule to remove that is not stored) fails
// with ECONFLICT and writes nothing, alone and in a group with a good
// write: a store that checks the counts after sending its COMMIT (as
// PostgreSQL's pipelined write does) must check them before the commit can
// happen.
func testMissedCountsFailWhole(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	commit(t, s, &crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1}, {ID: 2}},
		AddRules: []crmaccess.Rule{{Type: "g", From: "opportunity:1", To: userAnn}}})
	head := logHead(t, s)
	stored := rules(t, s)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	// create is a batch creating opportunity id with a rule and a change
	// record: what a failed check must keep from being written.
	create := func(id int64) *crmaccess.Batch {
		ref := crmaccess.OpportunityRef(id)
		return &crmaccess.Batch{Kind: crmaccess.EntryRecord, Opportunities: []crmaccess.Opportunity{{ID: id, Tags: []string{"t"}}},
			AddRules: []crmaccess.Rule{{Type: "g", From: ref.String(), To: userBen}},
			Changes:  []crmaccess.Change{{At: at, Actor: userAnn, Entity: ref}}}
	}
	for _, tc := range []struct {
		name string
		miss func(b *crmaccess.Batch)
	}{
		{"privacy of an opportunity not stored", func(b *crmaccess.Batch) {
			b.OpportunityPrivacy = []crmaccess.OpportunityPrivacy{{ID: 1, IsPrivate: true}, {ID: 404, IsPrivate: true}}
		}},
		{"deletion of an opportunity not stored", func(b *crmaccess.Batch) { b.DeleteOpportunities = []int64{2, 99} }},
		{"removal of a rule not stored", func(b *crmaccess.Batch) {
			b.RemoveRules = []crmaccess.Rule{{Type: "g", From: "opportunity:1", To: userAnn}, {Type: "g", From: "opportunity:1", To: userCy}}
		}},
	} {
		bad := create(10)
		tc.miss(bad)
		fixed := func(b *crmaccess.Batch) crmaccess.BuildFunc {
			return func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) { return b, nil }
		}
		_, err := s.Update(ctx, fixed(bad))
		wantCode(t, err, crmaccess.ECONFLICT, tc.name)
		if g, ok := s.(crmaccess.GroupUpdater); ok {
			_, _, err := g.UpdateGroup(ctx, []crmaccess.BuildFunc{fixed(create(11)), fixed(bad)})
			wantCode(t, err, crmaccess.ECONFLICT, tc.name+" in a group")
		}
		if e := logEntries(t, s, head); len(e) != 0 {
			t.Errorf("%s: the failed writes wrote entries %+v", tc.name, e)
		}
		found, err := s.Opportunities(ctx, []int64{1, 2, 10, 11})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 2 || found[0].ID != 1 || found[0].IsPrivate || found[1].ID != 2 {
			t.Errorf("%s: the opportunities after the failed writes are %+v, want 1 (public) and 2", tc.name, found)
		}
		if got := rules(t, s); !slices.Equal(got, stored) {
			t.Errorf("%s: the rules after the failed writes are %v, want %v", tc.name, got, stored)
		}
	}
	// The store writes on.
	commit(t, s, create(10))
	if e := logEntries(t, s, head); len(e) != 1 {
		t.Errorf("%d entries after a good write, want 1", len(e))
	}
}
