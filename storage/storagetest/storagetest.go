package storagetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// Run runs one named subtest per behaviour of crmaccess.Store, each on a
// fresh, empty store made by newStore (which registers its own cleanup with
// t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) crmaccess.Store) {
	RunWithOptions(t, newStore, nil)
}

// Options tune the suite; a nil *Options means the defaults.
type Options struct {
	// LargeBatch is the number of contacts, each with two tags and three
	// rules, in the batch of LargeBatchCommits; 0 means 40,000, more ids
	// than SQLite binds in one statement. CancelDuringCommitIsAllOrNothing
	// commits a tenth as many, several times. A store set to write a few
	// rows a statement splits a few hundred into many statements already.
	LargeBatch int
}

// RunWithOptions is Run with the suite tuned by opts.
func RunWithOptions(t *testing.T, newStore func(t *testing.T) crmaccess.Store, opts *Options) {
	large := defaultLargeBatch
	if opts != nil && opts.LargeBatch > 0 {
		large = opts.LargeBatch
	}
	runLarge := func(t *testing.T, ns func(*testing.T) crmaccess.Store) { testLargeBatch(t, ns, large) }
	runCancelDuring := func(t *testing.T, ns func(*testing.T) crmaccess.Store) {
		testCancelDuringCommit(t, ns, max(1, large/10))
	}
	tests := []struct {
		name string
		run  func(*testing.T, func(*testing.T) crmaccess.Store)
	}{
		{"RecordsRoundTrip", testRecordsRoundTrip},
		{"MissingOpportunityIsNotFound", testMissingOpportunity},
		{"ReadsSkipMissingIDsAndSortAscending", testReadsSkipMissing},
		{"FindContactsAgreesWithFilterMatch", testFindContacts},
		{"FindOpportunitiesAgreesWithFilterMatch", testFindOpportunities},
		{"RulesAddRemoveStream", testRules},
		{"RulesStreamStopsAtFirstError", testRulesStop},
		{"RemovingMissingRuleConflictsAndWritesNothing", testRemoveMissingRule},
		{"AddingDuplicateRuleConflictsAndWritesNothing", testAddDuplicateRule},
		{"DuplicateRecordConflictsAndWritesNothing", testDuplicateRecord},
		{"RequireEmpty", testRequireEmpty},
		{"PrivacyUpdates", testPrivacyUpdates},
		{"PrivacyUpdateOfUnknownIDConflicts", testPrivacyUnknownID},
		{"ChangesAppendedInOrder", testChanges},
		{"LargeBatchCommits", runLarge},
		{"CancelledContextWritesNothing", testCancelledContext},
		{"CancelDuringCommitIsAllOrNothing", runCancelDuring},
		{"LogPositionsAreConsecutiveAndEntriesWhole", testLogPositions},
		{"UpdateBuildReadsCommittedStateAndItsErrorRollsBack", testUpdateBuild},
		{"UpdatesSerializeOnTheWriterLock", testUpdatesSerialize},
		{"UpdateGroupWritesAnEntryPerBuild", testUpdateGroup},
		{"UpdateGroupFailsWhole", testUpdateGroupFailsWhole},
		{"UpdateAheadWritesOnlyAsExpected", testUpdateAhead},
		{"MissedCountsFailWhole", testMissedCountsFailWhole},
		{"ScanContactsKeepsWhatFindContactsFinds", testScanContacts},
		{"UpdateInPartsWritesOneEntry", testUpdateInParts},
		{"SnapshotReturnsThePositionOfItsRules", testSnapshotPosition},
		{"RecordsReplacedAndDeleted", testRecordsReplacedAndDeleted},
		{"OpportunityEditedAlone", testOpportunityEditedAlone},
		{"RecordIDsPageInIDOrderWithTheTotal", testRecordIDs},
		{"HistoryPositionAtTime", testHistoryPositionAt},
		{"HistoryStatesAtPosition", testHistoryStatesAt},
		{"HistoryReadableAtPosition", testHistoryReadableAt},
		{"HistoryFindChanges", testHistoryFindChanges},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore) })
	}
}

// Helpers.

func commit(t *testing.T, s crmaccess.Store, b *crmaccess.Batch) {
	t.Helper()
	if err := tryCommit(t.Context(), s, b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// tryCommit writes b as one log entry, decided in advance.
func tryCommit(ctx context.Context, s crmaccess.Store, b *crmaccess.Batch) error {
	_, err := s.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
		return b, nil
	})
	return err
}

// streamRules calls fn for every rule of a snapshot.
func streamRules(ctx context.Context, s crmaccess.Store, fn func(crmaccess.Rule) error) error {
	_, err := s.Snapshot(ctx, fn)
	return err
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := crmaccess.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// rules returns every stored rule, sorted.
func rules(t *testing.T, s crmaccess.Store) []crmaccess.Rule {
	t.Helper()
	var out []crmaccess.Rule
	if err := streamRules(t.Context(), s, func(r crmaccess.Rule) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("Rules: %v", err)
	}
	sortRules(out)
	return out
}

// countRules streams the stored rules and counts them.
func countRules(t *testing.T, s crmaccess.Store) int {
	t.Helper()
	n := 0
	if err := streamRules(t.Context(), s, func(crmaccess.Rule) error { n++; return nil }); err != nil {
		t.Fatalf("Rules: %v", err)
	}
	return n
}

func sortRules(rs []crmaccess.Rule) {
	slices.SortFunc(rs, func(a, b crmaccess.Rule) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
	})
}

func wantRules(t *testing.T, s crmaccess.Store, want []crmaccess.Rule) {
	t.Helper()
	want = slices.Clone(want)
	sortRules(want)
	if got := rules(t, s); !slices.Equal(got, want) {
		t.Fatalf("rules = %v, want %v", got, want)
	}
}

func allContacts(t *testing.T, s crmaccess.Store) []crmaccess.Contact {
	t.Helper()
	cs, err := s.FindContacts(t.Context(), &crmaccess.ContactFilter{})
	if err != nil {
		t.Fatalf("FindContacts: %v", err)
	}
	return cs
}

func changes(t *testing.T, s crmaccess.Store, q crmaccess.ChangeQuery) []crmaccess.Change {
	t.Helper()
	cs, err := s.Changes(t.Context(), q)
	if err != nil {
		t.Fatalf("Changes(%+v): %v", q, err)
	}
	return cs
}

// wantTime checks that got is want's instant, in UTC.
func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || got.Location() != time.UTC || got.IsZero() != want.IsZero() {
		t.Errorf("%s = %v, want %v in UTC", what, got, want.UTC())
	}
}

// sameContact compares a contact read back with the one written.
func sameContact(t *testing.T, got, written crmaccess.Contact) {
	t.Helper()
	want := normalized(written)
	wantTime(t, fmt.Sprintf("contact %d Created", want.ID), got.Created, written.Created)
	got.Created = want.Created
	if len(got.ManagerList) != 0 {
		t.Errorf("contact %d ManagerList = %v, want empty (lists are rules)", got.ID, got.ManagerList)
	}
	got.ManagerList = nil
	if len(got.Tags) == 0 {
		got.Tags = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("contact read back\n got %+v\nwant %+v", got, want)
	}
}

// sameList compares two lists of user ids, nil and empty alike.
func sameList(a, b []string) bool { return len(a) == 0 && len(b) == 0 || slices.Equal(a, b) }

// Behaviours.

func testRecordsRoundTrip(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	users := []crmaccess.User{
		{ID: userAnn, DisplayName: "Ann Smith", Title: "Sales", AvatarSmall: "/a/ann.png", ProfileURL: "/p/ann"},
		{ID: userBen, DisplayName: "Ben"},
	}
	stages := []crmaccess.Stage{
		{ID: 30, Title: "Discussion", Description: "talking", Color: "#B9AFD3", SortOrder: 2, SuccessProbability: 20, StageType: 0},
		{ID: 31, Title: "Won", Color: "#00FF00", SortOrder: 3, SuccessProbability: 100, StageType: 1},
	}
	contacts := []crmaccess.Contact{
		{ID: 10, IsCompany: true, CompanyName: "Food and Culture Project", About: "a company",
			Tags: []string{"Partner", " VIP ", "Ärzte"}, ContactStage: 2, ContactType: 1,
			Created:  time.Date(2021, 4, 23, 5, 12, 39, 961443300, time.FixedZone("+03:00", 3*60*60)),
			CreateBy: userAnn, ShareType: crmaccess.ShareRead, ManagerList: []string{userBen}},
		{ID: 11, FirstName: "Tadjeddine", LastName: "Bachir", Title: "CEO", CompanyID: 10,
			ShareType: crmaccess.ShareNone, ManagerList: []string{userAnn, userBen}},
		{ID: 12, FirstName: "Émile", LastName: "O'Neil", Tags: []string{"a", "A", "a "},
			Created: time.Date(1999, 12, 31, 23, 59, 59, 1, time.UTC), ShareType: crmaccess.ShareReadWrite},
	}
	opportunities := []crmaccess.Opportunity{
		{ID: 5, Title: "Hotel catalogue", Description: "print run", CreateBy: userAnn, Responsible: userBen,
			ContactID: 10, Members: []int64{12, 11, 12}, Tags: []string{"Print", " vip", "print"}, StageID: 30, SuccessProbability: 65,
			ExpectedCloseDate: time.Date(2022, 1, 31, 18, 0, 0, 0, time.FixedZone("-07:00", -7*60*60)),
			Created:           time.Date(2021, 5, 1, 8, 30, 0, 123456789, time.UTC),
			IsPrivate:         true, AccessList: []string{userBen}},
		{ID: 6, Title: "Empty"},
	}
	commit(t, s, &crmaccess.Batch{Users: users, Stages: stages, Contacts: contacts, Opportunities: opportunities})

	gotUsers, err := s.Users(ctx, []string{userBen, userAnn})
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if !reflect.DeepEqual(gotUsers, users) {
		t.Errorf("Users = %+v, want %+v", gotUsers, users)
	}
	gotStages, err := s.Stages(ctx, []int64{31, 30})
	if err != nil {
		t.Fatalf("Stages: %v", err)
	}
	if !reflect.DeepEqual(gotStages, stages) {
		t.Errorf("Stages = %+v, want %+v", gotStages, stages)
	}
	gotContacts, err := s.Contacts(ctx, []int64{12, 11, 10})
	if err != nil {
		t.Fatalf("Contacts: %v", err)
	}
	if len(gotContacts) != len(contacts) {
		t.Fatalf("Contacts returned %d contacts, want %d", len(gotContacts), len(contacts))
	}
	for i := range contacts {
		sameContact(t, gotContacts[i], contacts[i])
	}
	if !gotContacts[1].Created.IsZero() {
		t.Errorf("the zero Created read back as %v", gotContacts[1].Created)
	}
	found := allContacts(t, s)
	if len(found) != len(contacts) {
		t.Fatalf("FindContacts returned %d contacts, want %d", len(found), len(contacts))
	}
	for i := range contacts {
		sameContact(t, found[i], contacts[i])
	}

	o, err := s.Opportunity(ctx, 5)
	if err != nil {
		t.Fatalf("Opportunity(5): %v", err)
	}
	want := opportunities[0]
	wantTime(t, "ExpectedCloseDate", o.ExpectedCloseDate, want.ExpectedCloseDate)
	wantTime(t, "Created", o.Created, want.Created)
	if len(o.AccessList) != 0 {
		t.Errorf("AccessList = %v, want empty (lists are rules)", o.AccessList)
	}
	want.Members = []int64{11, 12}
	want.AccessList = nil
	o.AccessList = nil
	o.ExpectedCloseDate, o.Created = want.ExpectedCloseDate, want.Created
	if !reflect.DeepEqual(*o, want) {
		t.Errorf("Opportunity(5)\n got %+v\nwant %+v", *o, want)
	}
	o, err = s.Opportunity(ctx, 6)
	if err != nil {
		t.Fatalf("Opportunity(6): %v", err)
	}
	if !o.Created.IsZero() || !o.ExpectedCloseDate.IsZero() || len(o.Members) != 0 || len(o.Tags) != 0 || o.Title != "Empty" {
		t.Errorf("Opportunity(6) = %+v, want zero times, no members, no tags", *o)
	}
	both, err := s.Opportunities(ctx, []int64{6, 99, 5, 6})
	if err != nil || len(both) != 2 || both[0].ID != 5 || both[1].ID != 6 || !slices.Equal(both[0].Tags, want.Tags) {
		t.Errorf("Opportunities(6, 99, 5, 6) = %+v, %v; want 5 then 6, each once", both, err)
	}
}

func testMissingOpportunity(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	_, err := s.Opportunity(t.Context(), 1)
	wantCode(t, err, crmaccess.ENOTFOUND, "Opportunity on an empty store")
	commit(t, s, &crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1}}})
	_, err = s.Opportunity(t.Context(), 2)
	wantCode(t, err, crmaccess.ENOTFOUND, "Opportunity(2)")
}

func testReadsSkipMissing(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	commit(t, s, &crmaccess.Batch{
		Users:    []crmaccess.User{{ID: userCy}, {ID: userAnn}, {ID: userBen}},
		Stages:   []crmaccess.Stage{{ID: 3}, {ID: 1}, {ID: 2}},
		Contacts: []crmaccess.Contact{{ID: 5}, {ID: 3}, {ID: 1}, {ID: 2}},
	})
	cs, err := s.Contacts(ctx, []int64{5, 1, 99, 3, 1, -4, 0})
	if err != nil {
		t.Fatalf("Contacts: %v", err)
	}
	if got := contactIDs(cs); !slices.Equal(got, []int64{1, 3, 5}) {
		t.Errorf("Contacts ids = %v, want [1 3 5]", got)
	}
	us, err := s.Users(ctx, []string{userCy, "no-such-user", userAnn, userCy})
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(us) != 2 || us[0].ID != userAnn || us[1].ID != userCy {
		t.Errorf("Users = %+v, want Ann then Cy", us)
	}
	ss, err := s.Stages(ctx, []int64{3, 7, 1, 3})
	if err != nil {
		t.Fatalf("Stages: %v", err)
	}
	if got := ids(ss, func(s *crmaccess.Stage) int64 { return s.ID }); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("Stages ids = %v, want [1 3]", got)
	}
	for name, read := range map[string]func() (int, error){
		"Contacts": func() (int, error) { r, err := s.Contacts(ctx, nil); return len(r), err },
		"Users":    func() (int, error) { r, err := s.Users(ctx, nil); return len(r), err },
		"Stages":   func() (int, error) { r, err := s.Stages(ctx, nil); return len(r), err },
	} {
		if n, err := read(); n != 0 || err != nil {
			t.Errorf("%s(no ids) = %d records, %v; want none", name, n, err)
		}
	}
}

func testFindContacts(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ds := generate(300)
	commit(t, s, ds.batch())
	written := make(map[int64]crmaccess.Contact, len(ds.contacts))
	for _, c := range ds.contacts {
		written[c.ID] = c
	}
	// The data set must exercise the list view and the day bounds.
	if !ds.hasOpportunity[idOnlyMain] || !ds.hasOpportunity[idOnlyMember] || ds.hasOpportunity[idNoOpp] {
		t.Fatal("data set lacks the list-view contacts")
	}
	for _, tc := range filterCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if err := f.Validate(); err != nil {
				t.Fatalf("the case's filter is invalid: %v", err)
			}
			want := ds.want(&f)
			got, err := s.FindContacts(t.Context(), &f)
			if err != nil {
				t.Fatalf("FindContacts: %v", err)
			}
			if gotIDs := contactIDs(got); !slices.Equal(gotIDs, want) {
				t.Fatalf("FindContacts(%+v)\n got ids %v\nwant ids %v", f, gotIDs, want)
			}
			for _, c := range got {
				sameContact(t, c, written[c.ID])
			}
		})
	}
	t.Run("list view with opportunity by main contact and by membership", func(t *testing.T) {
		got, err := s.FindContacts(t.Context(), &crmaccess.ContactFilter{ListView: crmaccess.ListWithOpportunity})
		if err != nil {
			t.Fatalf("FindContacts: %v", err)
		}
		ids := contactIDs(got)
		if !slices.Contains(ids, idOnlyMain) || !slices.Contains(ids, idOnlyMember) || slices.Contains(ids, idNoOpp) {
			t.Errorf("with opportunity = %v: want %d (main contact) and %d (member), not %d",
				ids, idOnlyMain, idOnlyMember, idNoOpp)
		}
	})
	t.Run("toDate covers its day to the last nanosecond", func(t *testing.T) {
		day := time.Date(2021, 4, 24, 0, 0, 0, 0, zonePlus5)
		got, err := s.FindContacts(t.Context(), &crmaccess.ContactFilter{FromDate: day, ToDate: day})
		if err != nil {
			t.Fatalf("FindContacts: %v", err)
		}
		ids := contactIDs(got)
		if !slices.Contains(ids, idDayStart) || !slices.Contains(ids, idDayEnd) || slices.Contains(ids, idNextDay) {
			t.Errorf("one day = %v: want %d and %d, not %d", ids, idDayStart, idDayEnd, idNextDay)
		}
	})
}

func testRules(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	r := func(p, v0, v1 string) crmaccess.Rule { return crmaccess.Rule{Type: p, From: v0, To: v1} }
	initial := []crmaccess.Rule{
		r("g", "opportunity:1", userAnn),
		r("g", "opportunity:1", userBen),
		r("g", "contact:7", userAnn),
		r("g2", userCy, "admin"),
		r("g", "odd 'value', with \"quotes\" and ü", "?"),
	}
	wantRules(t, s, nil)
	commit(t, s, &crmaccess.Batch{AddRules: initial})
	wantRules(t, s, initial)

	// Remove two, add one, and remove and re-add one in the same batch.
	commit(t, s, &crmaccess.Batch{
		RemoveRules: []crmaccess.Rule{initial[1], initial[2], initial[4]},
		AddRules:    []crmaccess.Rule{r("g", "contact:8", userBen), initial[4]},
	})
	wantRules(t, s, []crmaccess.Rule{initial[0], initial[3], initial[4], r("g", "contact:8", userBen)})

	// A rule equal to a removed one in two of its values is another rule.
	commit(t, s, &crmaccess.Batch{AddRules: []crmaccess.Rule{initial[1]}})
	wantRules(t, s, []crmaccess.Rule{initial[0], initial[1], initial[3], initial[4], r("g", "contact:8", userBen)})
}

func testRulesStop(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	commit(t, s, &crmaccess.Batch{AddRules: []crmaccess.Rule{
		{Type: "g", From: "contact:1", To: userAnn}, {Type: "g", From: "contact:2", To: userAnn}, {Type: "g", From: "contact:3", To: userAnn},
	}})
	stop := errors.New("stop here")
	calls := 0
	err := streamRules(t.Context(), s, func(crmaccess.Rule) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Rules returned %v after %d calls, want fn's error after 1", err, calls)
	}
}

// state is what a store holds, for "nothing written" checks.
type state struct {
	contacts []crmaccess.Contact
	rules    []crmaccess.Rule
	changes  []crmaccess.Change
}

func snapshot(t *testing.T, s crmaccess.Store, changesOf crmaccess.Ref) state {
	t.Helper()
	return state{contacts: allContacts(t, s), rules: rules(t, s), changes: changes(t, s, crmaccess.ChangeQuery{Entity: changesOf})}
}

func wantUnchanged(t *testing.T, s crmaccess.Store, before state, changesOf crmaccess.Ref) {
	t.Helper()
	after := snapshot(t, s, changesOf)
	if !reflect.DeepEqual(contactIDs(after.contacts), contactIDs(before.contacts)) {
		t.Errorf("contacts after the failed commit = %v, want %v", contactIDs(after.contacts), contactIDs(before.contacts))
	}
	for i := range min(len(after.contacts), len(before.contacts)) {
		if after.contacts[i].ShareType != before.contacts[i].ShareType {
			t.Errorf("contact %d share type changed by a failed commit", after.contacts[i].ID)
		}
	}
	if !slices.Equal(after.rules, before.rules) {
		t.Errorf("rules after the failed commit = %v, want %v", after.rules, before.rules)
	}
	if len(after.changes) != len(before.changes) {
		t.Errorf("%d change records after the failed commit, want %d", len(after.changes), len(before.changes))
	}
}

// seed writes a contact and a rule, and returns a batch that touches every
// part of the store, to be failed by one bad part.
func seed(t *testing.T, s crmaccess.Store) *crmaccess.Batch {
	t.Helper()
	commit(t, s, &crmaccess.Batch{
		Contacts:      []crmaccess.Contact{{ID: 1, ShareType: crmaccess.ShareReadWrite}},
		Opportunities: []crmaccess.Opportunity{{ID: 1}},
		AddRules:      []crmaccess.Rule{{Type: "g", From: "contact:1", To: userAnn}},
	})
	return &crmaccess.Batch{
		Users:              []crmaccess.User{{ID: userBen}},
		Stages:             []crmaccess.Stage{{ID: 9}},
		Contacts:           []crmaccess.Contact{{ID: 2, Tags: []string{"new"}}},
		Opportunities:      []crmaccess.Opportunity{{ID: 2, Members: []int64{1, 2}}},
		OpportunityPrivacy: []crmaccess.OpportunityPrivacy{{ID: 1, IsPrivate: true}},
		ContactShares:      []crmaccess.ContactShare{{ID: 1, ShareType: crmaccess.ShareNone}},
		AddRules:           []crmaccess.Rule{{Type: "g", From: "contact:2", To: userBen}},
		Changes:            []crmaccess.Change{{At: time.Now(), Actor: userAnn, Entity: crmaccess.ContactRef(1)}},
	}
}

// wantNothingFrom checks that none of seed's batch was written.
func wantNothingFrom(t *testing.T, s crmaccess.Store, before state) {
	t.Helper()
	ctx := t.Context()
	wantUnchanged(t, s, before, crmaccess.ContactRef(1))
	if us, _ := s.Users(ctx, []string{userBen}); len(us) != 0 {
		t.Error("a user of the failed batch was written")
	}
	if ss, _ := s.Stages(ctx, []int64{9}); len(ss) != 0 {
		t.Error("a stage of the failed batch was written")
	}
	if _, err := s.Opportunity(ctx, 2); crmaccess.ErrorCode(err) != crmaccess.ENOTFOUND {
		t.Errorf("an opportunity of the failed batch was written (%v)", err)
	}
	if o, err := s.Opportunity(ctx, 1); err != nil || o.IsPrivate {
		t.Errorf("the failed batch's privacy update was written (%+v, %v)", o, err)
	}
}

func testRemoveMissingRule(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	b := seed(t, s)
	before := snapshot(t, s, crmaccess.ContactRef(1))
	b.RemoveRules = []crmaccess.Rule{{Type: "g", From: "contact:1", To: userAnn}, {Type: "g", From: "contact:1", To: userCy}}
	wantCode(t, tryCommit(t.Context(), s, b), crmaccess.ECONFLICT, "removing a rule that is not stored")
	wantNothingFrom(t, s, before)

	// Removing the same stored rule twice in one batch removes one that is
	// no longer there.
	twice := &crmaccess.Batch{RemoveRules: []crmaccess.Rule{before.rules[0], before.rules[0]}}
	wantCode(t, tryCommit(t.Context(), s, twice), crmaccess.ECONFLICT, "removing a rule twice")
	wantRules(t, s, before.rules)
}

func testAddDuplicateRule(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	b := seed(t, s)
	before := snapshot(t, s, crmaccess.ContactRef(1))
	b.AddRules = append(b.AddRules, crmaccess.Rule{Type: "g", From: "contact:1", To: userAnn})
	wantCode(t, tryCommit(t.Context(), s, b), crmaccess.ECONFLICT, "adding a stored rule")
	wantNothingFrom(t, s, before)

	twice := crmaccess.Rule{Type: "g", From: "contact:9", To: userCy}
	wantCode(t, tryCommit(t.Context(), s, &crmaccess.Batch{AddRules: []crmaccess.Rule{twice, twice}}),
		crmaccess.ECONFLICT, "adding a rule twice in one batch")
	wantRules(t, s, before.rules)
}

func testDuplicateRecord(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	for _, tc := range []struct {
		name  string
		batch crmaccess.Batch
	}{
		{"contact", crmaccess.Batch{Contacts: []crmaccess.Contact{{ID: 1}}}},
		{"opportunity", crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1}}}},
		{"user", crmaccess.Batch{Users: []crmaccess.User{{ID: userAnn}}}},
		{"stage", crmaccess.Batch{Stages: []crmaccess.Stage{{ID: 1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			b := seed(t, s)
			commit(t, s, &crmaccess.Batch{Users: []crmaccess.User{{ID: userAnn}}, Stages: []crmaccess.Stage{{ID: 1}}})
			before := snapshot(t, s, crmaccess.ContactRef(1))
			dup := tc.batch
			dup.Contacts = append(dup.Contacts, b.Contacts...)
			dup.AddRules = b.AddRules
			dup.Changes = b.Changes
			wantCode(t, tryCommit(t.Context(), s, &dup), crmaccess.ECONFLICT, "inserting a stored "+tc.name)
			wantUnchanged(t, s, before, crmaccess.ContactRef(1))
		})
	}
}

func testRequireEmpty(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	t.Run("empty store accepts", func(t *testing.T) {
		s := newStore(t)
		commit(t, s, &crmaccess.Batch{RequireEmpty: true, Contacts: []crmaccess.Contact{{ID: 1}},
			AddRules: []crmaccess.Rule{{Type: "g", From: "contact:1", To: userAnn}}})
		if len(allContacts(t, s)) != 1 {
			t.Fatal("the batch was not written")
		}
	})
	for _, tc := range []struct {
		name string
		held crmaccess.Batch
	}{
		{"a user", crmaccess.Batch{Users: []crmaccess.User{{ID: userAnn}}}},
		{"a stage", crmaccess.Batch{Stages: []crmaccess.Stage{{ID: 1}}}},
		{"a contact", crmaccess.Batch{Contacts: []crmaccess.Contact{{ID: 1}}}},
		{"an opportunity", crmaccess.Batch{Opportunities: []crmaccess.Opportunity{{ID: 1}}}},
		{"a rule", crmaccess.Batch{AddRules: []crmaccess.Rule{{Type: "g2", From: userAnn, To: "admin"}}}},
	} {
		t.Run("store holding "+tc.name+" conflicts", func(t *testing.T) {
			s := newStore(t)
			commit(t, s, &tc.held)
			before := snapshot(t, s, crmaccess.ContactRef(2))
			err := tryCommit(t.Context(), s, &crmaccess.Batch{RequireEmpty: true,
				Contacts: []crmaccess.Contact{{ID: 2}},
				AddRules: []crmaccess.Rule{{Type: "g", From: "contact:2", To: userAnn}},
				Changes:  []crmaccess.Change{{Actor: userAnn, Entity: crmaccess.ContactRef(2)}}})
			wantCode(t, err, crmaccess.ECONFLICT, "RequireEmpty on a store holding "+tc.name)
			wantUnchanged(t, s, before, crmaccess.ContactRef(2))
		})
	}
}

func testPrivacyUpdates(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	var cs []crmaccess.Contact
	for id := int64(1); id <= 6; id++ {
		cs = append(cs, crmaccess.Contact{ID: id, ShareType: crmaccess.ShareReadWrite})
	}
	commit(t, s, &crmaccess.Batch{Contacts: cs,
		Opportunities: []crmaccess.Opportunity{{ID: 1}, {ID: 2}, {ID: 3, IsPrivate: true}}})
	commit(t, s, &crmaccess.Batch{
		OpportunityPrivacy: []crmaccess.OpportunityPrivacy{{ID: 1, IsPrivate: true}, {ID: 3, IsPrivate: false}},
		ContactShares: []crmaccess.ContactShare{
			{ID: 1, ShareType: crmaccess.ShareNone}, {ID: 2, ShareType: crmaccess.ShareRead},
			{ID: 4, ShareType: crmaccess.ShareNone}, {ID: 5, ShareType: crmaccess.ShareReadWrite}, // unchanged value
		},
	})
	for id, want := range map[int64]bool{1: true, 2: false, 3: false} {
		o, err := s.Opportunity(ctx, id)
		if err != nil {
			t.Fatalf("Opportunity(%d): %v", id, err)
		}
		if o.IsPrivate != want {
			t.Errorf("opportunity %d IsPrivate = %v, want %v", id, o.IsPrivate, want)
		}
	}
	want := map[int64]crmaccess.ShareType{1: crmaccess.ShareNone, 2: crmaccess.ShareRead, 3: crmaccess.ShareReadWrite,
		4: crmaccess.ShareNone, 5: crmaccess.ShareReadWrite, 6: crmaccess.ShareReadWrite}
	for _, c := range allContacts(t, s) {
		if c.ShareType != want[c.ID] {
			t.Errorf("contact %d ShareType = %v, want %v", c.ID, c.ShareType, want[c.ID])
		}
	}
}

func testPrivacyUnknownID(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	commit(t, s, &crmaccess.Batch{
		Contacts:      []crmaccess.Contact{{ID: 1, ShareType: crmaccess.ShareReadWrite}, {ID: 2, ShareType: crmaccess.ShareReadWrite}},
		Opportunities: []crmaccess.Opportunity{{ID: 1}},
	})
	before := snapshot(t, s, crmaccess.ContactRef(1))
	err := tryCommit(t.Context(), s, &crmaccess.Batch{
		ContactShares: []crmaccess.ContactShare{{ID: 1, ShareType: crmaccess.ShareNone}, {ID: 99, ShareType: crmaccess.ShareNone}},
		Changes:       []crmaccess.Change{{Actor: userAnn, Entity: crmaccess.ContactRef(1)}},
	})
	wantCode(t, err, crmaccess.ECONFLICT, "share update of an unknown contact")
	wantUnchanged(t, s, before, crmaccess.ContactRef(1))

	err = tryCommit(t.Context(), s, &crmaccess.Batch{
		ContactShares:      []crmaccess.ContactShare{{ID: 2, ShareType: crmaccess.ShareRead}},
		OpportunityPrivacy: []crmaccess.OpportunityPrivacy{{ID: 1, IsPrivate: true}, {ID: 404, IsPrivate: true}},
	})
	wantCode(t, err, crmaccess.ECONFLICT, "privacy update of an unknown opportunity")
	wantUnchanged(t, s, before, crmaccess.ContactRef(1))
	if o, err := s.Opportunity(t.Context(), 1); err != nil || o.IsPrivate {
		t.Errorf("opportunity 1 after the failed commit: %+v, %v; want public", o, err)
	}
}

func testChanges(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	at := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.FixedZone("+02:00", 2*60*60))
	opp, cnt := crmaccess.OpportunityRef(1), crmaccess.ContactRef(7)
	first := []crmaccess.Change{
		{At: at, Actor: userAnn, Entity: opp,
			Before: crmaccess.AccessState{IsPrivate: false},
			After:  crmaccess.AccessState{IsPrivate: true, List: []string{userAnn, userBen}}},
		{At: at, Actor: userAnn, Entity: cnt,
			Before: crmaccess.AccessState{ShareType: crmaccess.ShareReadWrite},
			After:  crmaccess.AccessState{ShareType: crmaccess.ShareNone, List: []string{userCy}}},
		{At: at.Add(time.Second), Actor: userAnn, User: userBen,
			Before: crmaccess.AccessState{Admin: false}, After: crmaccess.AccessState{Admin: true}},
	}
	second := []crmaccess.Change{
		{At: at.Add(time.Minute), Actor: userBen, Entity: opp,
			Before: crmaccess.AccessState{IsPrivate: true, List: []string{userAnn, userBen}},
			After:  crmaccess.AccessState{IsPrivate: false}},
		{At: at.Add(time.Hour), Actor: userAnn, User: userBen,
			Before: crmaccess.AccessState{Admin: true}, After: crmaccess.AccessState{Admin: false}},
	}
	commit(t, s, &crmaccess.Batch{Changes: first})
	commit(t, s, &crmaccess.Batch{Changes: second})

	check := func(q crmaccess.ChangeQuery, want []crmaccess.Change) []crmaccess.Change {
		t.Helper()
		got := changes(t, s, q)
		if len(got) != len(want) {
			t.Fatalf("Changes(%+v) returned %d records, want %d", q, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			wantTime(t, "At", g.At, w.At)
			if i > 0 && g.Seq <= got[i-1].Seq {
				t.Errorf("Changes(%+v): Seq %d after %d, want increasing", q, g.Seq, got[i-1].Seq)
			}
			if g.Actor != w.Actor || g.Entity != w.Entity || g.User != w.User ||
				g.Before.IsPrivate != w.Before.IsPrivate || g.Before.ShareType != w.Before.ShareType ||
				g.Before.Admin != w.Before.Admin || !sameList(g.Before.List, w.Before.List) ||
				g.After.IsPrivate != w.After.IsPrivate || g.After.ShareType != w.After.ShareType ||
				g.After.Admin != w.After.Admin || !sameList(g.After.List, w.After.List) {
				t.Errorf("Changes(%+v)[%d]\n got %+v\nwant %+v", q, i, g, w)
			}
		}
		return got
	}
	byOpp := check(crmaccess.ChangeQuery{Entity: opp}, []crmaccess.Change{first[0], second[0]})
	byContact := check(crmaccess.ChangeQuery{Entity: cnt}, []crmaccess.Change{first[1]})
	byUser := check(crmaccess.ChangeQuery{User: userBen}, []crmaccess.Change{first[2], second[1]})
	check(crmaccess.ChangeQuery{Entity: crmaccess.OpportunityRef(2)}, nil)
	check(crmaccess.ChangeQuery{User: userCy}, nil)
	// Seq follows the order of appending, within a batch and across batches.
	if !(byOpp[0].Seq < byContact[0].Seq && byContact[0].Seq < byUser[0].Seq &&
		byUser[0].Seq < byOpp[1].Seq && byOpp[1].Seq < byUser[1].Seq) {
		t.Errorf("Seq not in the order of appending: %d %d %d %d %d",
			byOpp[0].Seq, byContact[0].Seq, byUser[0].Seq, byOpp[1].Seq, byUser[1].Seq)
	}
}

// Large batch: more rows of each kind than SQLite binds in one statement.
const defaultLargeBatch = 40000

// largeBatch has n contacts, each with two tags and three rules.
func largeBatch(n int) *crmaccess.Batch {
	b := &crmaccess.Batch{RequireEmpty: true}
	users := []string{userAnn, userBen, userCy}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for id := int64(1); id <= int64(n); id++ {
		c := crmaccess.Contact{ID: id, FirstName: "Person", LastName: fmt.Sprint(id),
			Created: created.Add(time.Duration(id) * time.Minute), ShareType: crmaccess.ShareNone,
			Tags: []string{"bulk", fmt.Sprintf("group-%d", id%10)}}
		b.Contacts = append(b.Contacts, c)
		for _, u := range users {
			b.AddRules = append(b.AddRules, crmaccess.Rule{Type: "g", From: fmt.Sprintf("contact:%d", id), To: u})
		}
	}
	return b
}

func testLargeBatch(t *testing.T, newStore func(*testing.T) crmaccess.Store, n int) {
	s := newStore(t)
	ctx := t.Context()
	b := largeBatch(n)
	start := time.Now()
	commit(t, s, b)
	t.Logf("committed %d contacts, %d tags and %d rules in %v",
		len(b.Contacts), 2*len(b.Contacts), len(b.AddRules), time.Since(start).Round(time.Millisecond))

	if got := countRules(t, s); got != 3*n {
		t.Errorf("%d rules stored, want %d", got, 3*n)
	}
	all := allContacts(t, s)
	if len(all) != n || all[0].ID != 1 || all[len(all)-1].ID != int64(n) {
		t.Fatalf("FindContacts returned %d contacts, want %d in order", len(all), n)
	}
	if i := n / 3; !slices.Equal(all[i].Tags, b.Contacts[i].Tags) {
		t.Errorf("contact %d tags = %v, want %v", all[i].ID, all[i].Tags, b.Contacts[i].Tags)
	}
	group, err := s.FindContacts(ctx, &crmaccess.ContactFilter{Tags: []string{"BULK", "group-3"}})
	if err != nil {
		t.Fatalf("FindContacts: %v", err)
	}
	if want := (n + 7) / 10; len(group) != want { // ids 3, 13, 23, …
		t.Errorf("FindContacts(group-3) returned %d contacts, want %d", len(group), want)
	}

	// Every contact's share type in one batch, and a third of the rules
	// removed.
	shares := make([]crmaccess.ContactShare, n)
	for i := range shares {
		shares[i] = crmaccess.ContactShare{ID: int64(i + 1), ShareType: crmaccess.ShareType(1 + i%2)}
	}
	remove := make([]crmaccess.Rule, 0, n)
	for i := 0; i < len(b.AddRules); i += 3 {
		remove = append(remove, b.AddRules[i])
	}
	start = time.Now()
	commit(t, s, &crmaccess.Batch{ContactShares: shares, RemoveRules: remove})
	t.Logf("updated %d share types and removed %d rules in %v", len(shares), len(remove), time.Since(start).Round(time.Millisecond))
	if got := countRules(t, s); got != 3*n-len(remove) {
		t.Errorf("%d rules stored after removal, want %d", got, 3*n-len(remove))
	}
	cs, err := s.Contacts(ctx, []int64{1, 2, int64(n)})
	if err != nil {
		t.Fatalf("Contacts: %v", err)
	}
	if len(cs) != 3 || cs[0].ShareType != crmaccess.ShareReadWrite || cs[1].ShareType != crmaccess.ShareRead ||
		cs[2].ShareType != shares[n-1].ShareType {
		t.Errorf("share types after the bulk update: %+v", cs)
	}
}

func testCancelledContext(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := tryCommit(ctx, s, &crmaccess.Batch{
		Contacts: []crmaccess.Contact{{ID: 1}},
		AddRules: []crmaccess.Rule{{Type: "g", From: "contact:1", To: userAnn}},
		Changes:  []crmaccess.Change{{Actor: userAnn, Entity: crmaccess.ContactRef(1)}},
	})
	wantCode(t, err, crmaccess.EINTERNAL, "Commit with a cancelled context")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context: %v, want an error wrapping context.Canceled", err)
	}
	wantUnchanged(t, s, state{}, crmaccess.ContactRef(1))
}

// cancelAt is a context that cancels itself at its at-th look (a call of
// Done or Err; never when at is 0). Given to Update, it is cancelled
// part-way through the commit however fast the store is, where a timer
// may fire before the commit begins or after it ends.
type cancelAt struct {
	context.Context
	cancel context.CancelFunc
	at     int64
	looks  atomic.Int64
}

func newCancelAt(t *testing.T, at int64) *cancelAt {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return &cancelAt{Context: ctx, cancel: cancel, at: at}
}

func (c *cancelAt) look() {
	if c.looks.Add(1) == c.at {
		c.cancel()
	}
}

func (c *cancelAt) Done() <-chan struct{} { c.look(); return c.Context.Done() }
func (c *cancelAt) Err() error            { c.look(); return c.Context.Err() }

func testCancelDuringCommit(t *testing.T, newStore func(*testing.T) crmaccess.Store, n int) {
	batch := func() *crmaccess.Batch {
		b := largeBatch(n)
		b.Changes = []crmaccess.Change{{Actor: userAnn, Entity: crmaccess.ContactRef(1)}}
		return b
	}
	// How often a whole write looks at its context.
	counting := newCancelAt(t, 0)
	if err := tryCommit(counting, newStore(t), batch()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	looks := counting.looks.Load()
	if looks == 0 {
		t.Fatal("Commit never looked at its context")
	}
	// The same commit on fresh stores, cancelled a quarter, half and three
	// quarters of the way through.
	for _, at := range []int64{max(1, looks/4), max(1, looks/2), max(1, looks*3/4)} {
		s := newStore(t)
		ctx := newCancelAt(t, at)
		err := tryCommit(ctx, s, batch())
		contacts, rs := len(allContacts(t, s)), countRules(t, s)
		hist := len(changes(t, s, crmaccess.ChangeQuery{Entity: crmaccess.ContactRef(1)}))
		t.Logf("Commit cancelled at look %d of %d: %v; %d contacts, %d rules, %d changes", at, looks, err, contacts, rs, hist)
		if ctx.Context.Err() == nil {
			t.Fatalf("the commit looked at its context %d times, not the %d of a whole commit", ctx.looks.Load(), looks)
		}
		if err == nil {
			t.Fatalf("Commit succeeded although its context was cancelled at look %d of %d", at, looks)
		}
		wantCode(t, err, crmaccess.EINTERNAL, "Commit cancelled part-way")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Commit cancelled part-way: %v, want an error wrapping context.Canceled", err)
		}
		if contacts != 0 || rs != 0 || hist != 0 {
			t.Errorf("a commit cancelled at look %d of %d wrote %d contacts, %d rules, %d changes", at, looks, contacts, rs, hist)
		}
	}
}
