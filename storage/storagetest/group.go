package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// Group commit (crmaccess.GroupUpdater), for a store that offers it.

// privacyWrite is a batch making opportunity id private or not, with its
// rule and change record.
func privacyWrite(id int64, private bool, rule string) *crmaccess.Batch {
	return &crmaccess.Batch{Kind: crmaccess.EntryAccess,
		OpportunityPrivacy: []crmaccess.OpportunityPrivacy{{ID: id, IsPrivate: private}},
		AddRules:           []crmaccess.Rule{{Type: "g", From: rule, To: userCy}},
		Changes: []crmaccess.Change{{At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Actor: userAnn,
			Entity: crmaccess.OpportunityRef(id), After: crmaccess.AccessState{IsPrivate: private}}}}
}

// The builds of a group run in order at consecutive heads; each writes
// its own entry; a build's error and a build of nothing stay theirs; the
// entries and rules of the others are written, and several batches on the
// same record are written in order.
func testUpdateGroup(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	g, ok := s.(crmaccess.GroupUpdater)
	if !ok {
		t.Skip("the store commits no groups")
	}
	ctx := t.Context()
	commit(t, s, &crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1}, {ID: 2}, {ID: 3}}})
	head := logHead(t, s)
	boom := errors.New("build refused")
	var heads []int64
	build := func(b *crmaccess.Batch, err error) crmaccess.BuildFunc {
		return func(_ context.Context, _ crmaccess.Reader, head int64) (*crmaccess.Batch, error) {
			heads = append(heads, head)
			return b, err
		}
	}
	positions, errs, err := g.UpdateGroup(ctx, []crmaccess.BuildFunc{
		build(privacyWrite(1, true, "opportunity:1"), nil),
		build(privacyWrite(2, true, "opportunity:2"), boom),
		build(nil, nil),
		build(privacyWrite(3, true, "opportunity:3"), nil),
		build(privacyWrite(3, false, "opportunity:3b"), nil), // the same record again
	})
	if err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if !slices.Equal(heads, []int64{head, head + 1, head + 1, head + 1, head + 2}) {
		t.Errorf("the builds saw heads %v, from %d", heads, head)
	}
	if !errors.Is(errs[1], boom) || errs[0] != nil || errs[2] != nil || errs[3] != nil || errs[4] != nil {
		t.Fatalf("errors %v, want the second build's alone", errs)
	}
	if want := []int64{head + 1, head + 1, head + 2, head + 3}; positions[0] != want[0] || positions[2] != want[1] ||
		positions[3] != want[2] || positions[4] != want[3] {
		t.Errorf("positions %v, want %v for the builds but the failed one", positions, want)
	}
	entries := logEntries(t, s, head)
	if len(entries) != 3 {
		t.Fatalf("%d entries after the group, want 3", len(entries))
	}
	for i, id := range []int64{1, 3, 3} {
		if e := entries[i]; e.Position != head+1+int64(i) || len(e.Changes) != 1 || e.Changes[0].Entity.ID != id {
			t.Errorf("entry %d: %+v, want opportunity %d's", i, e, id)
		}
	}
	for id, want := range map[int64]bool{1: true, 2: false, 3: false} {
		if o, err := s.Opportunity(ctx, id); err != nil || o.IsPrivate != want {
			t.Errorf("opportunity %d: %+v, %v; want private %v", id, o, err, want)
		}
	}
	wantRules(t, s, []crmaccess.Rule{{Type: "g", From: "opportunity:1", To: userCy},
		{Type: "g", From: "opportunity:3", To: userCy}, {Type: "g", From: "opportunity:3b", To: userCy}})
}

// A batch of a group that cannot be written fails the group: nothing of
// any of its batches is written.
func testUpdateGroupFailsWhole(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	g, ok := s.(crmaccess.GroupUpdater)
	if !ok {
		t.Skip("the store commits no groups")
	}
	commit(t, s, &crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1}, {ID: 2}}})
	head := logHead(t, s)
	bad := privacyWrite(2, true, "opportunity:2")
	bad.RemoveRules = []crmaccess.Rule{{Type: "g", From: "opportunity:2", To: userBen}} // not stored
	fixed := func(b *crmaccess.Batch) crmaccess.BuildFunc {
		return func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) { return b, nil }
	}
	_, _, err := g.UpdateGroup(t.Context(), []crmaccess.BuildFunc{fixed(privacyWrite(1, true, "opportunity:1")), fixed(bad)})
	wantCode(t, err, crmaccess.ECONFLICT, "a group with a batch removing a rule not stored")
	if e := logEntries(t, s, head); len(e) != 0 {
		t.Errorf("the failed group wrote entries %+v", e)
	}
	if o, err := s.Opportunity(t.Context(), 1); err != nil || o.IsPrivate {
		t.Errorf("opportunity 1 after the failed group: %+v, %v", o, err)
	}
	wantRules(t, s, nil)
}

// logHead is the position of the newest entry.
func logHead(t *testing.T, s crmaccess.Store) int64 {
	t.Helper()
	var head int64
	if err := s.Log(t.Context(), 0, func(e *crmaccess.LogEntry) error { head = e.Position; return nil }); err != nil {
		t.Fatal(err)
	}
	return head
}
