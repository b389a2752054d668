package storagetest

import (
	"slices"
	"testing"
	"time"

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

// An opportunity edited alone (as UpdateOpportunity writes it, with the
// rule and the change record of a new responsible user): its fields,
// members and tags replaced whole, whichever of its members and tags stay,
// go or come, and in their new order; an edit of a missing opportunity
// writes nothing, its rules and change records neither.
func testOpportunityEditedAlone(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	commit(t, s, &crmaccess.Batch{
		Stages:   []crmaccess.Stage{{ID: 30, Title: "Open"}, {ID: 31, Title: "Won"}},
		Contacts: []crmaccess.Contact{{ID: 1, FirstName: "A"}, {ID: 2, FirstName: "B"}, {ID: 3, FirstName: "C"}, {ID: 4, FirstName: "D"}},
		Opportunities: []crmaccess.Opportunity{{ID: 1, Title: "Deal", CreateBy: userAnn, Responsible: userAnn, ContactID: 1,
			Members: []int64{2, 3}, StageID: 30, Tags: []string{"x", "y", "z"}}},
		AddRules: []crmaccess.Rule{{Type: "g3", From: "opportunity:1", To: userAnn}},
	})
	head := logHead(t, s)
	edit := func(o crmaccess.Opportunity, rules bool) *crmaccess.Batch {
		b := &crmaccess.Batch{Kind: crmaccess.EntryRecord, UpdateOpportunities: []crmaccess.Opportunity{o}}
		if rules {
			b.RemoveRules = []crmaccess.Rule{{Type: "g3", From: "opportunity:1", To: userAnn}}
			b.AddRules = []crmaccess.Rule{{Type: "g3", From: "opportunity:1", To: userBen}}
			b.Changes = []crmaccess.Change{{At: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Actor: userAnn,
				Entity: crmaccess.OpportunityRef(1), Before: crmaccess.AccessState{Responsible: userAnn}, After: crmaccess.AccessState{Responsible: userBen}}}
		}
		return b
	}
	closing := time.Date(2027, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, step := range []struct {
		o     crmaccess.Opportunity
		rules bool
	}{
		// Member 3 stays, 2 goes, 4 comes; the tags shrink, change and reorder.
		{crmaccess.Opportunity{ID: 1, Title: "Renamed", Description: "d", Responsible: userBen, ContactID: 2, Members: []int64{4, 3, 4},
			StageID: 31, SuccessProbability: 40, ExpectedCloseDate: closing, Tags: []string{"z", "w"}}, true},
		// Everything goes, then comes back longer.
		{crmaccess.Opportunity{ID: 1, Title: "Bare", Responsible: userBen}, false},
		{crmaccess.Opportunity{ID: 1, Title: "Full", Responsible: userBen, Members: []int64{1, 2, 3, 4}, Tags: []string{"a", "b", "c", "d"}}, false},
	} {
		commit(t, s, edit(step.o, step.rules))
		o, err := s.Opportunity(ctx, 1)
		members := slices.Compact(slices.Sorted(slices.Values(step.o.Members)))
		if err != nil || o.Title != step.o.Title || o.Description != step.o.Description || o.Responsible != step.o.Responsible ||
			o.CreateBy != userAnn || o.ContactID != step.o.ContactID || o.StageID != step.o.StageID ||
			o.SuccessProbability != step.o.SuccessProbability || !o.ExpectedCloseDate.Equal(step.o.ExpectedCloseDate) ||
			!sameIDs(o.Members, members) || !sameList(o.Tags, step.o.Tags) {
			t.Errorf("opportunity after the edit to %+v: %+v, %v", step.o, o, err)
		}
	}
	wantRules(t, s, []crmaccess.Rule{{Type: "g3", From: "opportunity:1", To: userBen}})
	if got := logHead(t, s); got != head+3 {
		t.Errorf("the log went from %d to %d, want 3 entries", head, got)
	}
	if cs := changes(t, s, crmaccess.ChangeQuery{Entity: crmaccess.OpportunityRef(1)}); len(cs) != 1 || cs[0].After.Responsible != userBen {
		t.Errorf("the change records of the edits: %+v", cs)
	}
	// An edit and a privacy change of the same opportunity in one batch:
	// both hold.
	both := edit(crmaccess.Opportunity{ID: 1, Title: "Both", Responsible: userBen}, false)
	both.OpportunityPrivacy = []crmaccess.OpportunityPrivacy{{ID: 1, IsPrivate: true}}
	commit(t, s, both)
	if o, err := s.Opportunity(ctx, 1); err != nil || o.Title != "Both" || !o.IsPrivate {
		t.Errorf("opportunity after an edit and a privacy change in one batch: %+v, %v", o, err)
	}
	head++
	// An edit of a missing opportunity, with a rule and a change record:
	// nothing of it is written.
	missing := edit(crmaccess.Opportunity{ID: 9, Title: "nowhere", Tags: []string{"t"}, Members: []int64{1}}, false)
	missing.AddRules = []crmaccess.Rule{{Type: "g3", From: "opportunity:9", To: userBen}}
	wantCode(t, tryCommit(ctx, s, missing), crmaccess.ECONFLICT, "an edit of a missing opportunity")
	wantRules(t, s, []crmaccess.Rule{{Type: "g3", From: "opportunity:1", To: userBen}})
	if got := logHead(t, s); got != head+3 {
		t.Errorf("the refused edit moved the log to %d, want %d", got, head+3)
	}
}

func sameIDs(a, b []int64) bool { return len(a) == 0 && len(b) == 0 || slices.Equal(a, b) }
