package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The optional capabilities of a bulk change of access: ContactScanner and
// PartStore, for a store that offers them.

// ScanContacts keeps what FindContacts finds, in the same order, and hands
// each kept contact its tags.
func testScanContacts(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	scanner, ok := s.(crmaccess.ContactScanner)
	if !ok {
		t.Skip("the store does not scan contacts")
	}
	ds := generate(300)
	commit(t, s, ds.batch())
	for _, tc := range filterCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			want, err := s.FindContacts(t.Context(), &f)
			if err != nil {
				t.Fatal(err)
			}
			// Keep every other contact: the tags follow the kept ones.
			var kept []crmaccess.Contact
			odd := false
			err = scanner.ScanContacts(t.Context(), &f, func(c *crmaccess.Contact) (bool, error) {
				odd = !odd
				if odd {
					kept = append(kept, *c)
				}
				return odd, nil
			}, func(i int, tags []string) {
				kept[i].Tags = slices.Clone(tags)
			})
			if err != nil {
				t.Fatalf("ScanContacts: %v", err)
			}
			var wantKept []crmaccess.Contact
			for i := 0; i < len(want); i += 2 {
				wantKept = append(wantKept, want[i])
			}
			if len(kept) != len(wantKept) {
				t.Fatalf("kept %d contacts, want %d", len(kept), len(wantKept))
			}
			for i := range kept {
				if kept[i].ID != wantKept[i].ID || !sameList(kept[i].Tags, wantKept[i].Tags) {
					t.Fatalf("kept contact %d: %d %v, want %d %v", i, kept[i].ID, kept[i].Tags, wantKept[i].ID, wantKept[i].Tags)
				}
				sameContact(t, kept[i], wantKept[i])
			}
		})
	}
}

// sharePart is a part making contact id private to user, from shared.
func sharePart(id int64, user string) *crmaccess.Batch {
	ref := crmaccess.ContactRef(id)
	return &crmaccess.Batch{Kind: crmaccess.EntryAccess,
		ContactShares: []crmaccess.ContactShare{{ID: id, ShareType: crmaccess.ShareNone}},
		AddRules:      []crmaccess.Rule{{Type: "g", From: ref.String(), To: user}},
		Changes: []crmaccess.Change{{At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Actor: user, Entity: ref,
			Before: crmaccess.AccessState{ShareType: crmaccess.ShareReadWrite},
			After:  crmaccess.AccessState{IsPrivate: true, ShareType: crmaccess.ShareNone, List: []string{user}}}},
	}
}

// UpdateInParts writes its parts as one entry at head+1 whose change
// records are every part's, in order; an error after a part was written
// leaves nothing of it.
func testUpdateInParts(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ps, ok := s.(crmaccess.PartStore)
	if !ok {
		t.Skip("the store writes no parts")
	}
	ctx := t.Context()
	commit(t, s, &crmaccess.Batch{Contacts: []crmaccess.Contact{{ID: 1, ShareType: crmaccess.ShareReadWrite},
		{ID: 2, ShareType: crmaccess.ShareReadWrite}, {ID: 3, ShareType: crmaccess.ShareReadWrite}}})
	head := logHead(t, s)

	boom := errors.New("build failed")
	_, err := ps.UpdateInParts(ctx, func(_ context.Context, _ crmaccess.Reader, _ int64, write func(*crmaccess.Batch) error) error {
		if err := write(sharePart(1, userAnn)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateInParts returned %v, want build's error", err)
	}
	if e := logEntries(t, s, head); len(e) != 0 {
		t.Fatalf("a failed write in parts left entries %+v", e)
	}
	wantRules(t, s, nil)

	var heads []int64
	pos, err := ps.UpdateInParts(ctx, func(_ context.Context, _ crmaccess.Reader, h int64, write func(*crmaccess.Batch) error) error {
		heads = append(heads, h)
		for _, id := range []int64{3, 1} {
			if err := write(sharePart(id, userBen)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || pos != head+1 || !slices.Equal(heads, []int64{head}) {
		t.Fatalf("UpdateInParts: position %d, %v, heads %v; want %d from head %d", pos, err, heads, head+1, head)
	}
	entries := logEntries(t, s, head)
	if len(entries) != 1 || len(entries[0].Changes) != 2 || entries[0].Kind != crmaccess.EntryAccess ||
		entries[0].Changes[0].Entity.ID != 3 || entries[0].Changes[1].Entity.ID != 1 {
		t.Fatalf("entries after the write in parts: %+v, want one entry of contact 3's change then 1's", entries)
	}
	wantRules(t, s, []crmaccess.Rule{{Type: "g", From: "contact:1", To: userBen}, {Type: "g", From: "contact:3", To: userBen}})
	for _, c := range allContacts(t, s) {
		if want := map[int64]crmaccess.ShareType{1: crmaccess.ShareNone, 2: crmaccess.ShareReadWrite, 3: crmaccess.ShareNone}[c.ID]; c.ShareType != want {
			t.Errorf("contact %d: share %v, want %v", c.ID, c.ShareType, want)
		}
	}
}
