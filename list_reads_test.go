package crmaccess_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// List pages (SPEC §10): the records a user may read that match a filter,
// decided in the store's query.

// TestListPagesAreWhatCheckAllows: every page of every user, on every
// database, holds exactly the matching records Check lets them read, in id
// order, with the total.
func TestListPagesAreWhatCheckAllows(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		svc := instance(t, db, 0)
		if _, err := svc.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		// A few more shapes: a deleted record, a private contact with no
		// managers, an opportunity private to its creator alone.
		if _, err := svc.CreateOpportunity(ctx, carol, crmaccess.Opportunity{ID: 10, Title: "Hotel annex", Tags: []string{"vip"}}, true, []string{carol}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DeleteOpportunity(ctx, alice, 1); err != nil {
			t.Fatal(err)
		}
		stage := int64(31)
		oppFilters := []crmaccess.OpportunityFilter{{}, {Stage: &stage}, {Search: "hotel"}, {Tags: []string{"VIP"}}, {Responsible: carol}}
		contactFilters := []crmaccess.ContactFilter{{}, {Tags: []string{"vip"}}, {ListView: crmaccess.ListCompany}, {Search: "an"}}
		for _, u := range []string{admin, alice, bob, carol, dave} {
			for _, f := range oppFilters {
				all, err := svc.FindOpportunities(ctx, u, f, 0, crmaccess.MaxPage)
				if err != nil {
					t.Fatal(err)
				}
				var want []int64
				for id := int64(1); id <= 12; id++ {
					if d := mustCheck(t, svc, u, crmaccess.OpportunityRef(id), read); d.Allowed {
						if o, err := svc.Opportunity(ctx, admin, id); err == nil && f.Match(&o.Opportunity, stageTypes) {
							want = append(want, id)
						}
					}
				}
				if got := oppIDs(all.Opportunities); !slices.Equal(got, want) || all.Total != len(want) {
					t.Errorf("%s, %+v: %v (total %d), want %v", u, f, got, all.Total, want)
				}
				// Paged by one: the same, in order.
				var paged []int64
				for start := 0; start <= len(want); start++ {
					page, err := svc.FindOpportunities(ctx, u, f, start, 1)
					if err != nil || page.Total != len(want) {
						t.Fatalf("%s page %d: %+v, %v", u, start, page, err)
					}
					paged = append(paged, oppIDs(page.Opportunities)...)
				}
				if !slices.Equal(paged, want) {
					t.Errorf("%s, %+v, paged: %v, want %v", u, f, paged, want)
				}
			}
			for _, f := range contactFilters {
				page, err := svc.FindContacts(ctx, u, f, 0, crmaccess.MaxPage)
				if err != nil {
					t.Fatal(err)
				}
				var want []int64
				all, err := svc.Contacts(ctx, admin, []int64{1, 2, 3, 4, 5, 6})
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range all {
					if d := mustCheck(t, svc, u, crmaccess.ContactRef(c.ID), read); d.Allowed && f.Match(&c.Contact, c.ID == 2 || c.ID == 3 || c.ID == 5) {
						want = append(want, c.ID)
					}
				}
				var got []int64
				for _, c := range page.Contacts {
					got = append(got, c.ID)
				}
				if !slices.Equal(got, want) || page.Total != len(want) {
					t.Errorf("%s, %+v: contacts %v (total %d), want %v", u, f, got, page.Total, want)
				}
			}
		}
		_, err := svc.FindOpportunities(ctx, erin, crmaccess.OpportunityFilter{}, 0, 10)
		wantCode(t, err, crmaccess.EUNAUTHORIZED)
		_, err = svc.FindOpportunities(ctx, alice, crmaccess.OpportunityFilter{}, 0, crmaccess.MaxPage+1)
		wantCode(t, err, crmaccess.EINVALID)
	})
}

func stageTypes(id int64) (crmaccess.StageType, bool) { return 0, id == 30 || id == 31 }

func oppIDs(os []crmaccess.OpportunityResult) []int64 {
	var ids []int64
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	return ids
}

// pageCountingStore counts the rows the store's page reads return.
type pageCountingStore struct {
	crmaccess.Store
	rows, otherReads int
}

func (c *pageCountingStore) ReadableOpportunities(ctx context.Context, f *crmaccess.OpportunityFilter, user string, offset, limit int) ([]crmaccess.Opportunity, int, error) {
	out, total, err := c.Store.ReadableOpportunities(ctx, f, user, offset, limit)
	c.rows += len(out)
	return out, total, err
}

func (c *pageCountingStore) FindOpportunities(ctx context.Context, f *crmaccess.OpportunityFilter) ([]crmaccess.Opportunity, error) {
	c.otherReads++
	return c.Store.FindOpportunities(ctx, f)
}

func (c *pageCountingStore) Opportunities(ctx context.Context, ids []int64) ([]crmaccess.Opportunity, error) {
	c.otherReads++
	return c.Store.Opportunities(ctx, ids)
}

// TestFirstPageReadsOnlyItsRows: the first page of a user's list over many
// opportunities reads that page's rows from the store, not every record
// (30,000 opportunities; 300,000 with CRMACCESS_LONG=1).
func TestFirstPageReadsOnlyItsRows(t *testing.T) {
	t.Parallel() // a long test of its own: it overlaps the others of its kind on the second core
	n := 30_000
	if os.Getenv("CRMACCESS_LONG") != "" {
		n = 300_000
	}
	fx := &crmaccess.DataSet{Users: []crmaccess.User{{ID: admin}, {ID: alice}, {ID: bob}}, Admins: []string{admin}}
	for i := 1; i <= n; i++ {
		o := crmaccess.Opportunity{ID: int64(i), Title: fmt.Sprint("Deal ", i), CreateBy: alice, Responsible: alice,
			Created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
		if i%3 == 0 {
			o.IsPrivate, o.AccessList = true, []string{alice}
		}
		fx.Opportunities = append(fx.Opportunities, o)
	}
	p := openPortal(t, filepath.Join(t.TempDir(), "many.db"))
	if _, err := p.Import(t.Context(), fx); err != nil {
		t.Fatal(err)
	}
	counting := &pageCountingStore{Store: p.store}
	svc := serviceWith(t, counting, &crmaccess.Options{PollInterval: -1})
	page, err := svc.FindOpportunities(t.Context(), bob, crmaccess.OpportunityFilter{}, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Opportunities) != 50 || page.Total != n-n/3 {
		t.Fatalf("page of %d, total %d; want 50 of %d", len(page.Opportunities), page.Total, n-n/3)
	}
	if counting.rows != 50 || counting.otherReads != 0 {
		t.Errorf("the first page read %d rows and %d other record reads, want 50 and none", counting.rows, counting.otherReads)
	}
}
