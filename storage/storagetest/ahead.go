package storagetest

import (
	"errors"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// Writes decided ahead of the writer lock (crmaccess.AheadUpdater), for a
// store that makes them: committed as the entry after the head when the
// head and the records are as expected, with the rows asked for as the
// lock found them; otherwise nothing written, no rows, and
// ErrNotAsExpected. A store whose WritesAhead is false must answer
// ErrNotAsExpected and write nothing.
func testUpdateAhead(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	a, ok := s.(crmaccess.AheadUpdater)
	if !ok {
		t.Skip("the store makes no writes ahead of its lock")
	}
	ctx := t.Context()
	commit(t, s, &crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1}, {ID: 2}}})
	head := logHead(t, s)
	holds := crmaccess.Expectation{Head: head,
		Present: crmaccess.Reads{Opportunities: []int64{1}}, Absent: crmaccess.Reads{Opportunities: []int64{3}}}
	unchanged := func(what string) {
		t.Helper()
		if got := logHead(t, s); got != head {
			t.Fatalf("%s: the log went from %d to %d", what, head, got)
		}
		if o, err := s.Opportunities(ctx, []int64{1}); err != nil || len(o) != 1 || o[0].IsPrivate {
			t.Fatalf("%s: opportunity 1 is %+v (%v), want it stored, public", what, o, err)
		}
	}
	if !a.WritesAhead() {
		if _, _, err := a.UpdateAhead(ctx, holds, privacyWrite(1, true, "opportunity:1"), nil); !errors.Is(err, crmaccess.ErrNotAsExpected) {
			t.Errorf("UpdateAhead of a store that does not write ahead: %v, want ErrNotAsExpected", err)
		}
		unchanged("a store that does not write ahead")
		return
	}
	for _, c := range []struct {
		what string
		e    crmaccess.Expectation
	}{
		{"an older head", crmaccess.Expectation{Head: head - 1, Present: holds.Present, Absent: holds.Absent}},
		{"a newer head", crmaccess.Expectation{Head: head + 1, Present: holds.Present, Absent: holds.Absent}},
		{"a record expected present, missing", crmaccess.Expectation{Head: head,
			Present: crmaccess.Reads{Opportunities: []int64{1, 3}}}},
		{"a record expected absent, stored", crmaccess.Expectation{Head: head,
			Absent: crmaccess.Reads{Opportunities: []int64{2}}}},
		{"a contact expected present, missing", crmaccess.Expectation{Head: head,
			Present: crmaccess.Reads{Contacts: []int64{9}}}},
		{"a stage expected present, missing", crmaccess.Expectation{Head: head,
			Present: crmaccess.Reads{Stages: []int64{9}}}},
	} {
		if _, rows, err := a.UpdateAhead(ctx, c.e, privacyWrite(1, true, "opportunity:1"), []int64{1}); !errors.Is(err, crmaccess.ErrNotAsExpected) || rows != nil {
			t.Errorf("%s: %v (rows %+v), want ErrNotAsExpected and no rows", c.what, err, rows)
		}
		unchanged(c.what)
	}
	pos, rows, err := a.UpdateAhead(ctx, holds, privacyWrite(1, true, "opportunity:1"), []int64{2, 9, 1, 2})
	if err != nil || pos != head+1 {
		t.Fatalf("UpdateAhead as expected: %d, %v; want %d", pos, err, head+1)
	}
	// The rows read with the write: as the lock found them (opportunity 1
	// still public), ascending, each once, the missing one left out.
	if len(rows) != 2 || rows[0].ID != 1 || rows[0].IsPrivate || rows[1].ID != 2 {
		t.Errorf("the rows read with the write: %+v, want opportunities 1 (public) and 2", rows)
	}
	entries := logEntries(t, s, head)
	if len(entries) != 1 || entries[0].Position != head+1 || len(entries[0].Changes) != 1 {
		t.Fatalf("the log after the write: %+v", entries)
	}
	if o, err := s.Opportunities(ctx, []int64{1}); err != nil || len(o) != 1 || !o[0].IsPrivate {
		t.Fatalf("opportunity 1 after the write: %+v (%v), want it private", o, err)
	}
	wantRules(t, s, []crmaccess.Rule{{Type: "g", From: "opportunity:1", To: userCy}})
}
