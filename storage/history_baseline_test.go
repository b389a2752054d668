package storage_test

import (
	"context"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// A store whose rules the log does not explain (written before the log,
// or around it) gets, when schema version 6 first runs, one baseline
// entry: a change record per record and user whose stored access differs
// from its last logged one, Before = After = the stored access. Opening it
// again adds nothing.
func TestBaselineEntryForRulesTheLogDoesNotExplain(t *testing.T) {
	const ann, ben = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, opts, s := openStore(t, b)
			explained := crmaccess.AccessState{IsPrivate: true, List: []string{ben}, Creator: ann, Responsible: ann}
			// Rules without change records, and one record whose change
			// record explains its rules.
			_, err := s.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
				return &crmaccess.Batch{Kind: crmaccess.EntryAccess, AddRules: []crmaccess.Rule{
					{Type: "g", From: "opportunity:1", To: "crm:public"},
					{Type: "g2", From: "opportunity:1", To: ann},
					{Type: "g3", From: "opportunity:1", To: ben},
					{Type: "g", From: "contact:2", To: "crm:public-read"},
					{Type: "g", From: "contact:2", To: ben},
					{Type: "g", From: "contact:2", To: ann},
					{Type: "g4", From: ann, To: "crm:admin"},
					{Type: "g5", From: ann, To: "crm:active"},
					{Type: "g5", From: ben, To: "crm:inactive"},
					{Type: "g", From: "opportunity:3", To: ben},
					{Type: "g2", From: "opportunity:3", To: ann},
					{Type: "g3", From: "opportunity:3", To: ann},
				}, Changes: []crmaccess.Change{{Entity: crmaccess.OpportunityRef(3), Before: crmaccess.AccessState{IsPrivate: true}, After: explained}}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				`DELETE FROM ` + prefix + `schema_migrations WHERE version >= 6`,
				`DROP INDEX ` + prefix + `log_at_idx`, `DROP INDEX ` + prefix + `log_kind_idx`, `DROP INDEX ` + prefix + `changes_actor_idx`,
				`DROP INDEX ` + prefix + `changes_at_idx`, `DROP INDEX ` + prefix + `changes_admin_idx`,
			} {
				if err := db.Exec(stmt).Error; err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			for open := 1; open <= 2; open++ {
				s, err := storage.New(ctx, db, opts)
				if err != nil {
					t.Fatal(err)
				}
				var entries []crmaccess.LogEntry
				if err := s.Log(ctx, 0, func(e *crmaccess.LogEntry) error { entries = append(entries, *e); return nil }); err != nil {
					t.Fatal(err)
				}
				if len(entries) != 2 || entries[1].Kind != crmaccess.EntryBaseline {
					t.Fatalf("open %d: the log holds %+v, want the write and one baseline entry", open, entries)
				}
				got := map[string]crmaccess.AccessState{}
				for _, c := range entries[1].Changes {
					key := c.Entity.String()
					if c.Entity == (crmaccess.Ref{}) {
						key = c.User
					}
					if c.Actor != "" || c.Before.IsPrivate != c.After.IsPrivate || !slices.Equal(c.Before.List, c.After.List) {
						t.Errorf("baseline change %+v: want no actor and Before = After", c)
					}
					got[key] = c.After
				}
				want := map[string]crmaccess.AccessState{
					"opportunity:1": {Creator: ann, Responsible: ben},
					"contact:2":     {ShareType: crmaccess.ShareRead, List: []string{ann, ben}},
					ann:             {Admin: true, Status: crmaccess.UserActive},
					ben:             {Status: crmaccess.UserInactive},
				}
				if len(got) != len(want) {
					t.Errorf("open %d: baseline holds %v, want %v (opportunity 3's change record explains it)", open, got, want)
				}
				for k, w := range want {
					g := got[k]
					if g.IsPrivate != w.IsPrivate || g.ShareType != w.ShareType || !slices.Equal(g.List, w.List) ||
						g.Creator != w.Creator || g.Responsible != w.Responsible || g.Admin != w.Admin || g.Status != w.Status {
						t.Errorf("open %d: baseline of %s = %+v, want %+v", open, k, g, w)
					}
				}
				if start, err := s.HistoryStart(ctx); err != nil || start != 2 {
					t.Errorf("HistoryStart = %d, %v; want 2", start, err)
				}
			}
		})
	}
}
