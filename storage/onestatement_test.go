package storage_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// The small writes PostgreSQL takes as one statement (records created or
// deleted, privacy, rules, the log entry and its change records) check
// what the step by step write checks, and a refused one leaves nothing:
// run on every database (SQLite writes them step by step, the reference).
func TestSmallWritesCheckAsStepByStep(t *testing.T) {
	const ann, ben = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix := be.open(t)
			s, err := storage.New(ctx, db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + storage.DefaultRuleTable})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rules := func(id string, users ...string) []crmaccess.Rule {
				out := []crmaccess.Rule{{Type: "g2", From: "opportunity:" + id, To: ann}}
				for _, u := range users {
					out = append(out, crmaccess.Rule{Type: "g", From: "opportunity:" + id, To: u})
				}
				return out
			}
			change := func(id int64) []crmaccess.Change {
				return []crmaccess.Change{{Actor: ann, Entity: crmaccess.OpportunityRef(id)}}
			}
			create := func(id int64) *crmaccess.Batch {
				return &crmaccess.Batch{Kind: crmaccess.EntryRecord,
					Opportunities: []crmaccess.Opportunity{{ID: id, Title: "deal", CreateBy: ann, IsPrivate: true,
						Members: []int64{7, 8}, Tags: []string{"a", "B"}}},
					AddRules: rules(strings.TrimPrefix(crmaccess.OpportunityRef(id).String(), "opportunity:"), ben),
					Changes:  change(id)}
			}
			if err := s.Commit(ctx, create(1)); err != nil {
				t.Fatalf("create 1: %v", err)
			}
			if o, err := s.Opportunity(ctx, 1); err != nil || !slices.Equal(o.Members, []int64{7, 8}) || !slices.Equal(o.Tags, []string{"a", "B"}) {
				t.Fatalf("opportunity 1: %+v, %v", o, err)
			}
			head := func() int64 {
				t.Helper()
				pos, err := s.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) { return nil, nil })
				if err != nil {
					t.Fatal(err)
				}
				return pos
			}
			at := head()
			refused := []struct {
				what, message string
				b             *crmaccess.Batch
			}{
				{"privacy of a missing opportunity", "opportunity 404 does not exist", &crmaccess.Batch{Kind: crmaccess.EntryRecord,
					OpportunityPrivacy: []crmaccess.OpportunityPrivacy{{ID: 1, IsPrivate: false}, {ID: 404, IsPrivate: false}},
					Changes:            change(1)}},
				{"deleting a missing opportunity", "1 of the opportunities to delete do not exist", &crmaccess.Batch{Kind: crmaccess.EntryRecord,
					DeleteOpportunities: []int64{1, 99}, RemoveRules: rules("1", ben), Changes: change(1)}},
				{"removing a rule not stored", "1 of 1 rules to remove are not stored", func() *crmaccess.Batch {
					b := create(2)
					b.RemoveRules = []crmaccess.Rule{{Type: "g", From: "opportunity:1", To: ann}}
					return b
				}()},
				{"adding a stored rule", "already stored", func() *crmaccess.Batch {
					b := create(2)
					b.AddRules = append(b.AddRules, rules("1")...)
					return b
				}()},
			}
			for _, tc := range refused {
				err := s.Commit(ctx, tc.b)
				if crmaccess.ErrorCode(err) != crmaccess.ECONFLICT || !strings.Contains(crmaccess.ErrorMessage(err), tc.message) {
					t.Errorf("%s: %v, want ECONFLICT %q", tc.what, err, tc.message)
				}
			}
			if got := head(); got != at {
				t.Fatalf("the refused writes moved the log from %d to %d", at, got)
			}
			if o, err := s.Opportunity(ctx, 1); err != nil || !o.IsPrivate {
				t.Fatalf("opportunity 1 after the refused writes: %+v, %v", o, err)
			}
			if found, err := s.Opportunities(ctx, []int64{2}); err != nil || len(found) != 0 {
				t.Fatalf("opportunity 2 after the refused writes: %+v, %v", found, err)
			}
			// Deleted with its members and tags: created again with the
			// same ones, nothing collides.
			if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryRecord, DeleteOpportunities: []int64{1},
				RemoveRules: rules("1", ben), Changes: change(1)}); err != nil {
				t.Fatalf("delete 1: %v", err)
			}
			if _, err := s.Opportunity(ctx, 1); crmaccess.ErrorCode(err) != crmaccess.ENOTFOUND {
				t.Fatalf("opportunity 1 after its deletion: %v", err)
			}
			if err := s.Commit(ctx, create(1)); err != nil {
				t.Fatalf("create 1 again: %v", err)
			}
			if ids, total, err := s.RecordIDs(ctx, crmaccess.KindOpportunity, 0, 10); err != nil || total != 1 || !slices.Equal(ids, []int64{1}) {
				t.Fatalf("RecordIDs: %v, %d, %v", ids, total, err)
			}
			var entries []crmaccess.LogEntry
			if err := s.Log(ctx, 0, func(e *crmaccess.LogEntry) error { entries = append(entries, *e); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(entries) != 3 || len(entries[2].Changes) != 1 || entries[2].Changes[0].Entity != crmaccess.OpportunityRef(1) {
				t.Fatalf("log: %+v", entries)
			}
		})
	}
}
