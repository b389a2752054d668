package storagetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"context"

	"github.com/crmaccess/crmaccess"
)

// The change log: Update's writer lock and positions, Log, Snapshot.

// update runs Update with build and fails the test on an error.
func update(t *testing.T, s crmaccess.Store, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) int64 {
	t.Helper()
	pos, err := s.Update(t.Context(), build)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return pos
}

// logEntries reads the log after position after.
func logEntries(t *testing.T, r crmaccess.Reader, after int64) []crmaccess.LogEntry {
	t.Helper()
	var out []crmaccess.LogEntry
	if err := r.Log(t.Context(), after, func(e *crmaccess.LogEntry) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatalf("Log(%d): %v", after, err)
	}
	return out
}

func adminChange(actor, user string, admin bool) crmaccess.Change {
	return crmaccess.Change{At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Actor: actor, User: user,
		Before: crmaccess.AccessState{Admin: !admin}, After: crmaccess.AccessState{Admin: admin}}
}

// Each write is one entry at the next position, with its change records
// in order; a build that returns nil writes nothing and returns the head.
func testLogPositions(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	opp := crmaccess.OpportunityRef(4)
	first := []crmaccess.Change{
		adminChange(userAnn, userBen, true),
		{At: time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC), Actor: userAnn, Entity: opp,
			Before: crmaccess.AccessState{IsPrivate: true},
			After:  crmaccess.AccessState{IsPrivate: true, List: []string{userAnn, userCy}, Creator: userAnn, Responsible: userBen}},
	}
	var heads []int64
	record := func(b *crmaccess.Batch) func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
		return func(_ context.Context, _ crmaccess.Reader, head int64) (*crmaccess.Batch, error) {
			heads = append(heads, head)
			return b, nil
		}
	}
	if pos := update(t, s, record(&crmaccess.Batch{Kind: crmaccess.EntryAccess, Changes: first})); pos != 1 {
		t.Errorf("first write at position %d, want 1", pos)
	}
	if pos := update(t, s, record(nil)); pos != 1 {
		t.Errorf("a write of nothing returned %d, want the head 1", pos)
	}
	second := []crmaccess.Change{adminChange(userAnn, userBen, false)}
	if pos := update(t, s, record(&crmaccess.Batch{Kind: crmaccess.EntryAdmin, Changes: second})); pos != 2 {
		t.Errorf("second write at position %d, want 2", pos)
	}
	if !slices.Equal(heads, []int64{0, 1, 1}) {
		t.Errorf("build saw heads %v, want [0 1 1]", heads)
	}

	entries := logEntries(t, s, 0)
	if len(entries) != 2 || entries[0].Position != 1 || entries[1].Position != 2 ||
		entries[0].Kind != crmaccess.EntryAccess || entries[1].Kind != crmaccess.EntryAdmin {
		t.Fatalf("Log(0) = %+v, want the entries at 1 (access) and 2 (admin)", entries)
	}
	got := entries[0].Changes
	if len(got) != 2 || got[0].User != userBen || !got[0].After.Admin || got[1].Entity != opp || got[0].Seq >= got[1].Seq {
		t.Fatalf("entry 1's changes = %+v", got)
	}
	for _, c := range got {
		if c.Position != 1 {
			t.Errorf("a change of entry 1 says position %d", c.Position)
		}
	}
	after := got[1].After
	if !after.IsPrivate || !sameList(after.List, []string{userAnn, userCy}) || after.Creator != userAnn || after.Responsible != userBen {
		t.Errorf("an opportunity's state read back as %+v", after)
	}
	if e := logEntries(t, s, 1); len(e) != 1 || e[0].Position != 2 || len(e[0].Changes) != 1 {
		t.Errorf("Log(1) = %+v, want the entry at 2 alone", e)
	}
	if e := logEntries(t, s, 2); len(e) != 0 {
		t.Errorf("Log(2) = %+v, want nothing", e)
	}
}

// build reads the committed state through the transaction's reader, and
// its error rolls the write back and is returned as it is.
func testUpdateBuild(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ds := generate(300)
	commit(t, s, ds.batch())
	boom := errors.New("build refused")
	_, err := s.Update(t.Context(), func(ctx context.Context, tx crmaccess.Reader, head int64) (*crmaccess.Batch, error) {
		o, err := tx.Opportunity(ctx, ds.opportunities[0].ID)
		if err != nil || o.ID != ds.opportunities[0].ID {
			t.Errorf("the transaction's reader: %+v, %v", o, err)
		}
		if e := logEntries(t, tx, 0); len(e) != 1 || e[0].Position != head {
			t.Errorf("the transaction's log: %+v, want the one entry at head %d", e, head)
		}
		return &crmaccess.Batch{Changes: []crmaccess.Change{adminChange(userAnn, userCy, true)}}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want build's error", err)
	}
	if e := logEntries(t, s, 1); len(e) != 0 {
		t.Errorf("a refused build wrote %+v", e)
	}
}

// Writers take the lock one at a time: each build sees the head the
// previous write left, and positions come out consecutive.
func testUpdatesSerialize(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	const writers, writes = 4, 5
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range writes {
				var head int64
				pos, err := s.Update(t.Context(), func(_ context.Context, _ crmaccess.Reader, h int64) (*crmaccess.Batch, error) {
					head = h
					time.Sleep(time.Millisecond) // widen the window a missing lock would leave
					return &crmaccess.Batch{Kind: crmaccess.EntryAdmin,
						Changes: []crmaccess.Change{adminChange(userAnn, userBen, w%2 == 0)}}, nil
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				if pos != head+1 || seen[pos] {
					t.Errorf("writer %d wrote at %d having seen head %d (taken: %v)", w, pos, head, seen[pos])
				}
				seen[pos] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	entries := logEntries(t, s, 0)
	if len(entries) != writers*writes {
		t.Fatalf("%d entries, want %d", len(entries), writers*writes)
	}
	for i, e := range entries {
		if e.Position != int64(i+1) {
			t.Fatalf("entry %d at position %d: positions are not consecutive", i, e.Position)
		}
	}
}

// Snapshot returns the rules with the position they are the state at.
func testSnapshotPosition(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	rule := crmaccess.Rule{Type: "g4", From: userBen, To: "crm:admin"}
	var n int
	pos, err := s.Snapshot(t.Context(), func(crmaccess.Rule) error { n++; return nil })
	if err != nil || pos != 0 || n != 0 {
		t.Fatalf("empty store: Snapshot = %d rules at %d, %v", n, pos, err)
	}
	update(t, s, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
		return &crmaccess.Batch{AddRules: []crmaccess.Rule{rule}, Changes: []crmaccess.Change{adminChange(userAnn, userBen, true)}}, nil
	})
	var got []crmaccess.Rule
	pos, err = s.Snapshot(t.Context(), func(r crmaccess.Rule) error { got = append(got, r); return nil })
	if err != nil || pos != 1 || !slices.Equal(got, []crmaccess.Rule{rule}) {
		t.Errorf("Snapshot = %v at %d, %v; want the admin rule at 1", got, pos, err)
	}
}
