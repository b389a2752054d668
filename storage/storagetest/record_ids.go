package storagetest

import (
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// RecordIDs pages through the ids of one kind of record, ascending, far ids
// included, with the count of all of them on every page.
func testRecordIDs(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	opportunityIDs := []int64{1, 2, 3, 7, 64, 65, 1000, 1 << 40, 1<<62 + 5}
	contactIDs := []int64{2, 9, 1 << 41}
	b := &crmaccess.Batch{}
	for _, id := range slices.Backward(opportunityIDs) {
		b.Opportunities = append(b.Opportunities, crmaccess.Opportunity{ID: id, Title: "o"})
	}
	for _, id := range contactIDs {
		b.Contacts = append(b.Contacts, crmaccess.Contact{ID: id, CompanyName: "c", IsCompany: true})
	}

	empty, total, err := s.RecordIDs(ctx, crmaccess.KindOpportunity, 0, 10)
	if err != nil || len(empty) != 0 || total != 0 {
		t.Fatalf("empty store: %v, total %d, %v", empty, total, err)
	}
	commit(t, s, b)

	for _, c := range []struct {
		kind crmaccess.Kind
		want []int64
	}{{crmaccess.KindOpportunity, opportunityIDs}, {crmaccess.KindContact, contactIDs}} {
		for _, limit := range []int{1, 2, 4, 100} {
			var got []int64
			after := int64(0)
			for range len(c.want) + 1 {
				page, total, err := s.RecordIDs(ctx, c.kind, after, limit)
				if err != nil {
					t.Fatalf("%s after %d: %v", c.kind, after, err)
				}
				if total != len(c.want) {
					t.Fatalf("%s after %d: total %d, want %d", c.kind, after, total, len(c.want))
				}
				if len(page) > limit {
					t.Fatalf("%s after %d: %d ids, limit %d", c.kind, after, len(page), limit)
				}
				got = append(got, page...)
				if len(page) < limit {
					break
				}
				if page[0] <= after {
					t.Fatalf("%s after %d: %v", c.kind, after, page)
				}
				after = page[len(page)-1]
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s by %d: %v, want %v", c.kind, limit, got, c.want)
			}
		}
	}
	if page, total, err := s.RecordIDs(ctx, crmaccess.KindOpportunity, 1<<62+5, 10); err != nil || len(page) != 0 || total != len(opportunityIDs) {
		t.Errorf("after the last id: %v, total %d, %v", page, total, err)
	}
	if page, _, err := s.RecordIDs(ctx, crmaccess.KindOpportunity, 3, 2); err != nil || !slices.Equal(page, []int64{7, 64}) {
		t.Errorf("after 3, 2 ids: %v, %v", page, err)
	}
	// A later write shows in the next page and total.
	commit(t, s, &crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 4, Title: "o"}}})
	if page, total, err := s.RecordIDs(ctx, crmaccess.KindOpportunity, 3, 2); err != nil || !slices.Equal(page, []int64{4, 7}) || total != len(opportunityIDs)+1 {
		t.Errorf("after another write: %v, total %d, %v", page, total, err)
	}
	if page, total, err := s.RecordIDs(ctx, crmaccess.KindContact, 0, 10); err != nil || len(page) != len(contactIDs) || total != len(contactIDs) {
		t.Errorf("contacts after another write: %v, total %d, %v", page, total, err)
	}
	_, _, err = s.RecordIDs(ctx, "deal", 0, 10)
	wantCode(t, err, crmaccess.EINVALID, "an unknown kind")
	_, _, err = s.RecordIDs(ctx, crmaccess.KindContact, 0, 0)
	wantCode(t, err, crmaccess.EINVALID, "a limit of 0")
}
