package storage_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// Snapshot streams every rule back as it was written, and refuses a rule
// table holding a line that is not a crmaccess rule: one with a third
// value, or whose values hold the separator its query joins them with.
func TestSnapshotRefusesForeignLines(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			db, prefix := b.open(t)
			opts := &storage.Options{TablePrefix: prefix, RuleTable: prefix + "rules"}
			s, err := storage.New(t.Context(), db, opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			user := "11111111-1111-1111-1111-111111111111"
			want := []crmaccess.Rule{{Type: "g", From: "contact:1", To: user}, {Type: "g2", From: "opportunity:2", To: user}}
			commit(t, s, &crmaccess.Batch{Contacts: []crmaccess.Contact{{ID: 1}}, AddRules: want})
			got := ruleList(t, s)
			slices.SortFunc(got, cmpRule)
			if !slices.Equal(got, want) {
				t.Fatalf("Snapshot: %v, want %v", got, want)
			}
			for _, line := range []map[string]any{
				{"ptype": "g", "v0": "contact:3", "v1": user, "v2": "x"},
				{"ptype": "g", "v0": "contact:3", "v1": user, "v5": "x"},
				{"ptype": "g", "v0": "contact:3\x1f" + user, "v1": ""},
				{"ptype": "g\x1fcontact:3", "v0": user, "v1": ""},
				{"ptype": "g", "v0": "contact:3", "v1": user + "\x1f"},
			} {
				if err := db.Table(opts.RuleTable).Create(line).Error; err != nil {
					t.Fatal(err)
				}
				_, err := s.Snapshot(t.Context(), func(crmaccess.Rule) error { return nil })
				var e *crmaccess.Error
				if !errors.As(err, &e) || e.Code != crmaccess.EINTERNAL {
					t.Errorf("Snapshot with the line %q: %v, want EINTERNAL", line, err)
				}
				if err := db.Table(opts.RuleTable).Where("v0 = ? OR ptype = ?", line["v0"], line["ptype"]).
					Where("v0 <> ? AND v0 <> ?", "contact:1", "opportunity:2").Delete(nil).Error; err != nil {
					t.Fatal(err)
				}
				if got := ruleList(t, s); len(got) != len(want) {
					t.Fatalf("after removing the line: %v", got)
				}
			}
		})
	}
}
