package storagetest

import (
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// The record lifecycle of a batch: records replaced and deleted, users
// updated, stages in use.

func testRecordsReplacedAndDeleted(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	commit(t, s, &crmaccess.Batch{
		Users:  []crmaccess.User{{ID: userAnn, DisplayName: "Ann", Status: crmaccess.UserActive}},
		Stages: []crmaccess.Stage{{ID: 30, Title: "Open"}, {ID: 31, Title: "Won", StageType: 1}},
		Contacts: []crmaccess.Contact{
			{ID: 1, IsCompany: true, CompanyName: "Acme", Tags: []string{"a"}, ShareType: crmaccess.ShareReadWrite},
			{ID: 2, FirstName: "Jo", CompanyID: 1, ShareType: crmaccess.ShareReadWrite},
			{ID: 3, FirstName: "Kim", ShareType: crmaccess.ShareReadWrite},
		},
		Opportunities: []crmaccess.Opportunity{
			{ID: 1, Title: "Deal", CreateBy: userAnn, Responsible: userAnn, ContactID: 2, Members: []int64{3}, StageID: 30, Tags: []string{"x"}},
			{ID: 2, Title: "Other", ContactID: 3, Members: []int64{2, 3}, StageID: 30},
		},
	})

	// Replaced: fields, members and tags; the creator and creation stay.
	commit(t, s, &crmaccess.Batch{
		UpdateUsers:         []crmaccess.User{{ID: userAnn, DisplayName: "Ann B.", Title: "Boss", Status: crmaccess.UserInactive}},
		UpdateStages:        []crmaccess.Stage{{ID: 30, Title: "Opened", Color: "#fff", SortOrder: 2}},
		UpdateContacts:      []crmaccess.Contact{{ID: 2, FirstName: "Joan", LastName: "Doe", Tags: []string{"b", "c"}, ContactStage: 4}},
		UpdateOpportunities: []crmaccess.Opportunity{{ID: 1, Title: "Renamed", Responsible: userBen, ContactID: 3, Members: []int64{2, 2}, StageID: 31, SuccessProbability: 40, Tags: []string{"y"}}},
	})
	if us, err := s.Users(ctx, []string{userAnn}); err != nil || len(us) != 1 || us[0].DisplayName != "Ann B." || us[0].Status != crmaccess.UserInactive {
		t.Errorf("user after the update: %+v, %v", us, err)
	}
	if st, err := s.Stages(ctx, []int64{30}); err != nil || len(st) != 1 || st[0].Title != "Opened" || st[0].SortOrder != 2 {
		t.Errorf("stage after the update: %+v, %v", st, err)
	}
	cs, err := s.Contacts(ctx, []int64{2})
	if err != nil || len(cs) != 1 || cs[0].FirstName != "Joan" || cs[0].CompanyID != 0 || !slices.Equal(cs[0].Tags, []string{"b", "c"}) ||
		cs[0].ContactStage != 4 || cs[0].ShareType != crmaccess.ShareReadWrite {
		t.Errorf("contact after the update: %+v, %v", cs, err)
	}
	o, err := s.Opportunity(ctx, 1)
	if err != nil || o.Title != "Renamed" || o.Responsible != userBen || o.CreateBy != userAnn || o.ContactID != 3 ||
		!slices.Equal(o.Members, []int64{2}) || o.StageID != 31 || o.SuccessProbability != 40 || !slices.Equal(o.Tags, []string{"y"}) {
		t.Errorf("opportunity after the update: %+v, %v", o, err)
	}
	for _, tc := range []struct {
		what string
		b    *crmaccess.Batch
	}{
		{"a missing user", &crmaccess.Batch{UpdateUsers: []crmaccess.User{{ID: userCy}}}},
		{"a missing stage", &crmaccess.Batch{UpdateStages: []crmaccess.Stage{{ID: 99}}}},
		{"a missing contact", &crmaccess.Batch{UpdateContacts: []crmaccess.Contact{{ID: 99}}}},
		{"a missing opportunity", &crmaccess.Batch{UpdateOpportunities: []crmaccess.Opportunity{{ID: 99}}}},
		{"deleting a missing opportunity", &crmaccess.Batch{DeleteOpportunities: []int64{2, 99}}},
		{"deleting a missing contact", &crmaccess.Batch{DeleteContacts: []int64{99}}},
		{"deleting a missing stage", &crmaccess.Batch{DeleteStages: []int64{99}}},
	} {
		wantCode(t, tryCommit(ctx, s, tc.b), crmaccess.ECONFLICT, tc.what)
	}
	if o, err := s.Opportunity(ctx, 2); err != nil || o.Title != "Other" {
		t.Errorf("a refused batch deleted opportunity 2: %+v, %v", o, err)
	}

	used, err := s.StageInUse(ctx, 31)
	if err != nil || !used {
		t.Errorf("StageInUse(31) = %v, %v; opportunity 1 is at it", used, err)
	}
	// Deleting contact 3 leaves opportunity 1 without its main contact and
	// opportunity 2 without it as main contact and member; deleting the
	// company leaves no person pointing at it.
	commit(t, s, &crmaccess.Batch{DeleteContacts: []int64{3, 1}, DeleteOpportunities: []int64{1}, DeleteStages: []int64{31}})
	if _, err := s.Opportunity(ctx, 1); crmaccess.ErrorCode(err) != crmaccess.ENOTFOUND {
		t.Errorf("the deleted opportunity: %v", err)
	}
	o, err = s.Opportunity(ctx, 2)
	if err != nil || o.ContactID != 0 || !slices.Equal(o.Members, []int64{2}) {
		t.Errorf("opportunity 2 after its contact's deletion: %+v, %v", o, err)
	}
	if cs := allContacts(t, s); len(cs) != 1 || cs[0].ID != 2 {
		t.Errorf("contacts left: %+v", cs)
	}
	if used, err := s.StageInUse(ctx, 30); err != nil || !used {
		t.Errorf("StageInUse(30) = %v, %v", used, err)
	}
	if st, _ := s.Stages(ctx, []int64{31}); len(st) != 0 {
		t.Errorf("the deleted stage: %+v", st)
	}
	// The ids are free again.
	commit(t, s, &crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1, Title: "Again"}},
		Contacts: []crmaccess.Contact{{ID: 3, FirstName: "Again", Tags: []string{"z"}}}})
	if ids := contactIDs(allContacts(t, s)); !slices.Equal(ids, []int64{2, 3}) {
		t.Errorf("contacts after recreating 3: %v", ids)
	}
	// The counts follow the insertions and deletions.
	for kind, want := range map[crmaccess.Kind]int{crmaccess.KindOpportunity: 2, crmaccess.KindContact: 2} {
		if ids, total, err := s.RecordIDs(ctx, kind, 0, 10); err != nil || total != want || len(ids) != want {
			t.Errorf("RecordIDs(%s) = %v, %d, %v; want %d records", kind, ids, total, err, want)
		}
	}
}
