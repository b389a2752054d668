package storage_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
	"github.com/crmaccess/crmaccess/storage/storagetest"
)

// The conformance suite on PostgreSQL with a tiny batch size: every part
// of a write longer than two rows takes the bulk path (COPY, statements
// over arrays), so that the whole suite holds it to the chunked
// statements' behaviour, conflicts and missing rows included.
func TestConformancePostgreSQLBulk(t *testing.T) {
	if !slices.ContainsFunc(backends(t), func(b backend) bool { return b.name == "postgres" }) {
		t.Skip(postgresDSNVar + " is not set")
	}
	storagetest.RunWithOptions(t, func(t *testing.T) crmaccess.Store {
		t.Helper()
		db, prefix := openPostgres(t)
		s, err := storage.New(context.Background(), db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule", BatchSize: 2})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, &storagetest.Options{LargeBatch: 301})
}

// The parts of a write long enough for the bulk path on PostgreSQL (more
// rows than one statement takes) check their rows as the chunked
// statements do, on every database: a missing contact, a rule to remove
// that is not stored, a rule to add that is, each fails the whole write
// with ECONFLICT and leaves the store as it was; a write that fits commits
// every row, read back the same.
func TestBulkPartsCheckTheirRows(t *testing.T) {
	const n = 1500 // more than one statement's 1,000 rows
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix := b.open(t)
			s, err := storage.New(ctx, db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			contacts := make([]crmaccess.Contact, n)
			rules := make([]crmaccess.Rule, n)
			for i := range contacts {
				contacts[i] = crmaccess.Contact{ID: int64(i + 1), FirstName: "P", ShareType: crmaccess.ShareReadWrite}
				rules[i] = crmaccess.Rule{Type: "g", From: fmt.Sprintf("user-%d\t\\x", i), To: fmt.Sprintf("contact:%d", i+1)}
			}
			changes := make([]crmaccess.Change, n)
			for i := range changes {
				changes[i] = crmaccess.Change{At: time.Unix(1_700_000_000, int64(i)).UTC(), Actor: "actor",
					Entity: crmaccess.ContactRef(int64(i + 1)),
					Before: crmaccess.AccessState{ShareType: crmaccess.ShareReadWrite},
					After:  crmaccess.AccessState{IsPrivate: true, ShareType: crmaccess.ShareNone, List: []string{"m\"1", fmt.Sprint("m", i%3)}}}
			}
			shares := make([]crmaccess.ContactShare, n)
			for i := range shares {
				shares[i] = crmaccess.ContactShare{ID: int64(i + 1), ShareType: crmaccess.ShareNone}
			}
			if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryRecord, Contacts: contacts}); err != nil {
				t.Fatal(err)
			}
			state := func() (int64, []crmaccess.Rule, []crmaccess.Contact) {
				var stored []crmaccess.Rule
				head, err := s.Snapshot(ctx, func(r crmaccess.Rule) error { stored = append(stored, r); return nil })
				if err != nil {
					t.Fatal(err)
				}
				ids := make([]int64, n+1)
				for i := range ids {
					ids[i] = int64(i + 1)
				}
				cs, err := s.Contacts(ctx, ids)
				if err != nil {
					t.Fatal(err)
				}
				return head, stored, cs
			}
			same := func(what string, head int64, stored []crmaccess.Rule, cs []crmaccess.Contact) {
				t.Helper()
				h, r, c := state()
				if h != head || !slices.Equal(r, stored) || !slices.EqualFunc(c, cs, func(a, b crmaccess.Contact) bool { return a.ShareType == b.ShareType }) {
					t.Fatalf("%s: the store changed (head %d → %d, %d → %d rules)", what, head, h, len(stored), len(r))
				}
			}
			fails := func(what string, b *crmaccess.Batch) {
				t.Helper()
				head, stored, cs := state()
				if err := s.Commit(ctx, b); crmaccess.ErrorCode(err) != crmaccess.ECONFLICT {
					t.Fatalf("%s: %v, want ECONFLICT", what, err)
				}
				same(what, head, stored, cs)
			}

			missing := append(slices.Clone(shares), crmaccess.ContactShare{ID: n + 1, ShareType: crmaccess.ShareNone})
			fails("a share update of a missing contact", &crmaccess.Batch{Kind: crmaccess.EntryAccess, ContactShares: missing,
				AddRules: rules, Changes: changes})

			// Every row written and read back.
			if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryAccess, ContactShares: shares, AddRules: rules, Changes: changes}); err != nil {
				t.Fatal(err)
			}
			head, stored, cs := state()
			if len(stored) != n || len(cs) != n {
				t.Fatalf("%d rules, %d contacts stored, want %d", len(stored), len(cs), n)
			}
			for _, r := range rules {
				if !slices.Contains(stored, r) {
					t.Fatalf("rule %v not stored", r)
				}
			}
			for _, c := range cs {
				if c.ShareType != crmaccess.ShareNone {
					t.Fatalf("contact %d: share %d, want none", c.ID, c.ShareType)
				}
			}
			var got []crmaccess.Change
			if err := s.Log(ctx, head-1, func(e *crmaccess.LogEntry) error { got = e.Changes; return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d change records read back, want %d", len(got), n)
			}
			for i := range got {
				w, g := changes[i], got[i]
				if !g.At.Equal(w.At) || g.Actor != w.Actor || g.Entity != w.Entity || !reflect.DeepEqual(g.Before, w.Before) ||
					!reflect.DeepEqual(g.After, w.After) {
					t.Fatalf("change %d read back as %+v, want %+v", i, g, w)
				}
			}

			fails("a rule to add already stored", &crmaccess.Batch{Kind: crmaccess.EntryAccess,
				AddRules: append([]crmaccess.Rule{{Type: "g", From: "new", To: "contact:1"}}, rules...)})
			absent := append(slices.Clone(rules), crmaccess.Rule{Type: "g", From: "nobody", To: "contact:1"})
			fails("a rule to remove not stored", &crmaccess.Batch{Kind: crmaccess.EntryAccess, RemoveRules: absent})

			if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryAccess, RemoveRules: rules}); err != nil {
				t.Fatal(err)
			}
			if _, stored, _ := state(); len(stored) != 0 {
				t.Fatalf("%d rules left after removing every one", len(stored))
			}
		})
	}
}
