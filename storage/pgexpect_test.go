package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/storage"
)

// TestUpdateAhead writes decided ahead of the writer lock
// (crmaccess.AheadUpdater). On PostgreSQL, a write whose expectation does
// not hold (the log's head, a record present or absent, one id or more
// than are checked one by one), or that the server refuses, writes
// nothing and answers ErrNotAsExpected; the one whose expectation holds is
// committed as the entry after the head, and the connection, the only one
// of its pool, goes on serving writes of both kinds, with no lock held
// against another pool's writer. On SQLite the store does not write ahead.
func TestUpdateAhead(t *testing.T) {
	const ann = "aaaaaaaa-0000-4000-8000-000000000001"
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := t.Context()
			db, prefix, opts, s := openStore(t, be)
			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			sqlDB.SetMaxOpenConns(1)
			if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryRecord,
				Users:         []crmaccess.User{{ID: ann, DisplayName: "Ann", Status: crmaccess.UserActive}},
				Stages:        []crmaccess.Stage{{ID: 2, Title: "Won"}},
				Contacts:      []crmaccess.Contact{{ID: 1, IsCompany: true, CompanyName: "Acme"}},
				Opportunities: []crmaccess.Opportunity{{ID: 5, Title: "old", CreateBy: ann, Responsible: ann}},
				AddRules:      []crmaccess.Rule{{Type: "g2", From: "opportunity:5", To: ann}},
			}); err != nil {
				t.Fatal(err)
			}
			head := func() int64 {
				t.Helper()
				var h int64
				if err := db.Raw(`SELECT COALESCE(MAX(seq), 0) FROM ` + prefix + `log`).Scan(&h).Error; err != nil {
					t.Fatal(err)
				}
				return h
			}
			stored := func(id int64) bool {
				t.Helper()
				found, err := s.Opportunities(ctx, []int64{id})
				if err != nil {
					t.Fatal(err)
				}
				return len(found) == 1
			}
			h0 := head()
			create := func() *crmaccess.Batch {
				return &crmaccess.Batch{Kind: crmaccess.EntryRecord,
					Opportunities: []crmaccess.Opportunity{{ID: 10, Title: "new", CreateBy: ann, Responsible: ann, ContactID: 1, StageID: 2}},
					AddRules:      []crmaccess.Rule{{Type: "g2", From: "opportunity:10", To: ann}},
					Changes: []crmaccess.Change{{At: time.Unix(1, 0), Actor: ann, Entity: crmaccess.OpportunityRef(10),
						Before: crmaccess.AccessState{IsPrivate: true}, After: crmaccess.AccessState{IsPrivate: true, Creator: ann}}}}
			}
			// What a create of opportunity 10 takes for granted.
			holds := crmaccess.Expectation{Head: h0,
				Present: crmaccess.Reads{Contacts: []int64{1, 1}, Stages: []int64{2}, Opportunities: []int64{5}},
				Absent:  crmaccess.Reads{Opportunities: []int64{10, 11, 12, 13, 14, 15}}}

			if be.name == "sqlite" {
				if s.WritesAhead() {
					t.Error("WritesAhead on SQLite")
				}
				if _, _, err := s.UpdateAhead(ctx, holds, create(), nil); !errors.Is(err, crmaccess.ErrNotAsExpected) {
					t.Errorf("UpdateAhead on SQLite: %v, want ErrNotAsExpected", err)
				}
				if head() != h0 || stored(10) {
					t.Error("UpdateAhead on SQLite wrote")
				}
				return
			}
			if !s.WritesAhead() {
				t.Fatal("no WritesAhead on PostgreSQL over pgx")
			}
			with := func(change func(e *crmaccess.Expectation)) crmaccess.Expectation {
				e := holds
				change(&e)
				return e
			}
			many := func(first int64) []int64 {
				return []int64{first, first + 1, first + 2, first + 3, first + 4, first + 5}
			}
			refusals := []struct {
				name string
				e    crmaccess.Expectation
				b    *crmaccess.Batch
			}{
				{"the head is older", with(func(e *crmaccess.Expectation) { e.Head-- }), create()},
				{"the head is newer", with(func(e *crmaccess.Expectation) { e.Head++ }), create()},
				{"a contact expected is missing", with(func(e *crmaccess.Expectation) { e.Present.Contacts = []int64{1, 99} }), create()},
				{"one of many contacts expected is missing", with(func(e *crmaccess.Expectation) { e.Present.Contacts = append(many(90), 1) }), create()},
				{"a stage expected is missing", with(func(e *crmaccess.Expectation) { e.Present.Stages = []int64{77} }), create()},
				{"an opportunity expected is missing", with(func(e *crmaccess.Expectation) { e.Present.Opportunities = []int64{66} }), create()},
				{"an opportunity expected absent is stored", with(func(e *crmaccess.Expectation) { e.Absent.Opportunities = []int64{5} }), create()},
				{"one of many opportunities expected absent is stored", with(func(e *crmaccess.Expectation) { e.Absent.Opportunities = append(many(60), 5) }), create()},
				{"a contact expected absent is stored", with(func(e *crmaccess.Expectation) { e.Absent.Contacts = []int64{1} }), create()},
				{"the server refuses the write: a rule to remove is not stored", holds, func() *crmaccess.Batch {
					b := create()
					b.RemoveRules = []crmaccess.Rule{{Type: "g3", From: "opportunity:5", To: ann}}
					return b
				}()},
				{"a batch not written as one statement", holds, func() *crmaccess.Batch {
					b := create()
					b.Users = []crmaccess.User{{ID: "aaaaaaaa-0000-4000-8000-000000000002", DisplayName: "Bo", Status: crmaccess.UserActive}}
					return b
				}()},
			}
			for _, r := range refusals {
				if _, _, err := s.UpdateAhead(ctx, r.e, r.b, []int64{5}); !errors.Is(err, crmaccess.ErrNotAsExpected) {
					t.Errorf("%s: %v, want ErrNotAsExpected", r.name, err)
				}
				if h := head(); h != h0 || stored(10) {
					t.Fatalf("%s: the write left a trace (log at %d, was %d; opportunity 10 stored: %v)", r.name, h, h0, stored(10))
				}
			}

			pos, rows, err := s.UpdateAhead(ctx, holds, create(), []int64{5, 10})
			if err != nil || pos != h0+1 {
				t.Fatalf("UpdateAhead with its expectation holding: %d, %v; want %d", pos, err, h0+1)
			}
			// Read between the lock and the write: 10 is not there yet.
			if len(rows) != 1 || rows[0].ID != 5 || rows[0].Title != "old" || rows[0].CreateBy != ann {
				t.Errorf("the rows read with the write: %+v, want opportunity 5 alone", rows)
			}
			if head() != h0+1 || !stored(10) {
				t.Fatal("the write made ahead is not stored")
			}
			var entries []string
			if err := s.Log(ctx, h0, func(e *crmaccess.LogEntry) error {
				entries = append(entries, fmt.Sprint(e.Position, " ", len(e.Changes), " ", e.Changes[0].Entity))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprint(h0+1, " 1 ", crmaccess.OpportunityRef(10)); len(entries) != 1 || entries[0] != want {
				t.Errorf("the log after the write: %q, want [%s]", entries, want)
			}
			// The same expectation no longer holds: the head moved.
			if _, _, err := s.UpdateAhead(ctx, holds, create(), nil); !errors.Is(err, crmaccess.ErrNotAsExpected) {
				t.Errorf("the same write again: %v, want ErrNotAsExpected", err)
			}

			// The pool's one connection is free, with no transaction open,
			// and another pool's writer is not kept waiting.
			if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryAccess,
				AddRules: []crmaccess.Rule{{Type: "g3", From: "opportunity:10", To: ann}}}); err != nil {
				t.Fatalf("a write after the writes made ahead: %v", err)
			}
			other, err := storage.New(ctx, testdb.Postgres(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			waited, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := other.Commit(waited, &crmaccess.Batch{Kind: crmaccess.EntryAccess,
				RemoveRules: []crmaccess.Rule{{Type: "g3", From: "opportunity:10", To: ann}}}); err != nil {
				t.Fatalf("another pool's write: %v", err)
			}
			if head() != h0+3 {
				t.Errorf("log at %d, want %d", head(), h0+3)
			}
		})
	}
}
