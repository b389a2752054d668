package storage_test

import (
	"context"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// openBackend opens a fresh store on b.
func openBackend(t *testing.T, b backend) *storage.Store {
	t.Helper()
	db, prefix := b.open(t)
	s, err := storage.New(context.Background(), db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// UpdateInParts writes its parts as one log entry whose change records are
// every part's, in order; with no part it writes nothing; a part with
// records in it fails the whole write, which leaves nothing.
func TestUpdateInParts(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			s := openBackend(t, b)
			user := "aaaaaaaa-0000-0000-0000-000000000001"
			if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryImport,
				Users:    []crmaccess.User{{ID: user, DisplayName: "U", Status: crmaccess.UserActive}},
				Contacts: []crmaccess.Contact{{ID: 1, ShareType: crmaccess.ShareReadWrite}, {ID: 2, ShareType: crmaccess.ShareReadWrite}},
				AddRules: []crmaccess.Rule{{Type: "g", From: "contact:1", To: "public"}, {Type: "g", From: "contact:2", To: "public"}},
			}); err != nil {
				t.Fatal(err)
			}
			part := func(id int64) *crmaccess.Batch {
				ref := crmaccess.ContactRef(id)
				from := ref.String()
				return &crmaccess.Batch{Kind: crmaccess.EntryAccess,
					ContactShares: []crmaccess.ContactShare{{ID: id, ShareType: crmaccess.ShareNone}},
					RemoveRules:   []crmaccess.Rule{{Type: "g", From: from, To: "public"}},
					AddRules:      []crmaccess.Rule{{Type: "g", From: from, To: user}},
					Changes: []crmaccess.Change{{Actor: user, Entity: ref, Before: crmaccess.AccessState{ShareType: crmaccess.ShareReadWrite},
						After: crmaccess.AccessState{IsPrivate: true, ShareType: crmaccess.ShareNone, List: []string{user}}}},
				}
			}
			// Nothing written: the head, and no entry.
			pos, err := s.UpdateInParts(ctx, func(context.Context, crmaccess.Reader, int64, func(*crmaccess.Batch) error) error { return nil })
			if err != nil || pos != 1 {
				t.Fatalf("no part: position %d, %v; want 1", pos, err)
			}
			// A part with a record in it: refused, and the part before it gone.
			_, err = s.UpdateInParts(ctx, func(_ context.Context, _ crmaccess.Reader, _ int64, write func(*crmaccess.Batch) error) error {
				if err := write(part(1)); err != nil {
					return err
				}
				bad := part(2)
				bad.Users = []crmaccess.User{{ID: "aaaaaaaa-0000-0000-0000-000000000002"}}
				return write(bad)
			})
			if crmaccess.ErrorCode(err) != crmaccess.EINTERNAL {
				t.Fatalf("a part with a user: %v, want EINTERNAL", err)
			}
			if n := entries(t, s); n != 1 {
				t.Fatalf("%d log entries after the failed write, want 1", n)
			}
			// Two parts: one entry with both change records.
			pos, err = s.UpdateInParts(ctx, func(_ context.Context, _ crmaccess.Reader, head int64, write func(*crmaccess.Batch) error) error {
				if head != 1 {
					t.Errorf("head %d, want 1", head)
				}
				if err := write(part(1)); err != nil {
					return err
				}
				return write(part(2))
			})
			if err != nil || pos != 2 {
				t.Fatalf("two parts: position %d, %v; want 2", pos, err)
			}
			var got *crmaccess.LogEntry
			if err := s.Log(ctx, 1, func(e *crmaccess.LogEntry) error { got = e; return nil }); err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Kind != crmaccess.EntryAccess || len(got.Changes) != 2 ||
				got.Changes[0].Entity.ID != 1 || got.Changes[1].Entity.ID != 2 {
				t.Fatalf("the entry: %+v", got)
			}
			cs, err := s.Contacts(ctx, []int64{1, 2})
			if err != nil || len(cs) != 2 || cs[0].ShareType != crmaccess.ShareNone || cs[1].ShareType != crmaccess.ShareNone {
				t.Fatalf("contacts after the write: %+v %v", cs, err)
			}
		})
	}
}

func entries(t *testing.T, s *storage.Store) int {
	t.Helper()
	n := 0
	if err := s.Log(t.Context(), 0, func(*crmaccess.LogEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
