package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The history reads (crmaccess.HistoryReader): states at a log position,
// where a time falls in the log, change queries. The entries are written
// with change records alone: the history is the log's, whatever the rules.

var historyT0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// historyLog writes four entries, at historyT0 + 1s, 2s, 2s and 4s:
//
//  1. Ann imports: opportunity 4 private to Cy (creator Ann, responsible
//     Ben), contact 5 shared read-only, Ann an active admin, Ben and Cy
//     active users.
//  2. Ann makes Ben an admin and opportunity 4 public.
//  3. Ben makes contact 5 private with Cy as manager and opportunity 6
//     private to nobody (creator Cy).
//  4. Ann revokes Ben's admin role and deletes opportunity 4.
func historyLog(t *testing.T, s crmaccess.Store) {
	t.Helper()
	at := func(sec int) time.Time { return historyT0.Add(time.Duration(sec) * time.Second) }
	o4, o6, c5 := crmaccess.OpportunityRef(4), crmaccess.OpportunityRef(6), crmaccess.ContactRef(5)
	priv := crmaccess.AccessState{IsPrivate: true, List: []string{userCy}, Creator: userAnn, Responsible: userBen}
	pub := crmaccess.AccessState{Creator: userAnn, Responsible: userBen}
	active := func(admin bool) crmaccess.AccessState {
		return crmaccess.AccessState{Admin: admin, Status: crmaccess.UserActive}
	}
	noAccess := crmaccess.AccessState{IsPrivate: true}
	entries := []*crmaccess.Batch{
		{Kind: crmaccess.EntryImport, At: at(1), Changes: []crmaccess.Change{
			{At: at(1), User: userAnn, After: active(true)},
			{At: at(1), User: userBen, After: active(false)},
			{At: at(1), User: userCy, After: active(false)},
			{At: at(1), Entity: o4, Before: noAccess, After: priv},
			{At: at(1), Entity: c5, Before: noAccess, After: crmaccess.AccessState{ShareType: crmaccess.ShareRead}},
		}},
		{Kind: crmaccess.EntryAdmin, At: at(2), Changes: []crmaccess.Change{
			{At: at(2), Actor: userAnn, User: userBen, Before: active(false), After: active(true)},
			{At: at(2), Actor: userAnn, Entity: o4, Before: priv, After: pub},
		}},
		{Kind: crmaccess.EntryAccess, At: at(2), Changes: []crmaccess.Change{
			{At: at(2), Actor: userBen, Entity: c5, Before: crmaccess.AccessState{ShareType: crmaccess.ShareRead},
				After: crmaccess.AccessState{IsPrivate: true, List: []string{userCy}}},
			{At: at(2), Actor: userBen, Entity: o6, Before: noAccess, After: crmaccess.AccessState{IsPrivate: true, Creator: userCy}},
		}},
		{Kind: crmaccess.EntryRecord, At: at(4), Changes: []crmaccess.Change{
			{At: at(4), Actor: userAnn, User: userBen, Before: active(true), After: active(false)},
			{At: at(4), Actor: userAnn, Entity: o4, Before: pub, After: noAccess},
		}},
	}
	for _, b := range entries {
		commit(t, s, b)
	}
}

// PositionAt finds the entry stamped latest at or before a time (ties:
// the highest position); EntryTime reads an entry's time back.
func testHistoryPositionAt(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	if pos, at, err := s.PositionAt(ctx, historyT0); err != nil || pos != 0 || !at.IsZero() {
		t.Fatalf("PositionAt of an empty log = %d, %v, %v; want 0", pos, at, err)
	}
	historyLog(t, s)
	for _, c := range []struct {
		after time.Duration
		want  int64
	}{
		{0, 0}, {time.Second - 1, 0}, {time.Second, 1}, {time.Second + 1, 1},
		{2 * time.Second, 3}, {3 * time.Second, 3}, {4 * time.Second, 4}, {time.Hour, 4},
	} {
		pos, at, err := s.PositionAt(ctx, historyT0.Add(c.after))
		if err != nil || pos != c.want {
			t.Errorf("PositionAt(t0+%v) = %d, %v; want %d", c.after, pos, err, c.want)
			continue
		}
		if pos > 0 {
			want, err := s.EntryTime(ctx, pos)
			if err != nil || !at.Equal(want) || at.After(historyT0.Add(c.after)) {
				t.Errorf("PositionAt(t0+%v) time %v, EntryTime(%d) = %v, %v", c.after, at, pos, want, err)
			}
		}
	}
	_, err := s.EntryTime(ctx, 5)
	wantCode(t, err, crmaccess.ENOTFOUND, "EntryTime after the head")
	if start, err := s.HistoryStart(ctx); err != nil || start != 0 {
		t.Fatalf("HistoryStart without a baseline = %d, %v; want 0", start, err)
	}
	commit(t, s, &crmaccess.Batch{Kind: crmaccess.EntryBaseline, Changes: []crmaccess.Change{
		{At: historyT0, User: userCy, Before: crmaccess.AccessState{Status: crmaccess.UserActive}, After: crmaccess.AccessState{Status: crmaccess.UserActive}}}})
	if start, err := s.HistoryStart(ctx); err != nil || start != 5 {
		t.Fatalf("HistoryStart after a baseline entry = %d, %v; want 5", start, err)
	}
}

// RecordsAt and UsersAt answer with the After of the last change record
// at or before the position, Seq 0 when there is none.
func testHistoryStatesAt(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	historyLog(t, s)
	refs := []crmaccess.Ref{crmaccess.OpportunityRef(4), crmaccess.ContactRef(5), crmaccess.OpportunityRef(6), crmaccess.OpportunityRef(7)}
	wantRecords := map[int64][]crmaccess.AccessState{
		0: {{}, {}, {}, {}},
		1: {{IsPrivate: true, List: []string{userCy}, Creator: userAnn, Responsible: userBen}, {ShareType: crmaccess.ShareRead}, {}, {}},
		2: {{Creator: userAnn, Responsible: userBen}, {ShareType: crmaccess.ShareRead}, {}, {}},
		3: {{Creator: userAnn, Responsible: userBen}, {IsPrivate: true, List: []string{userCy}}, {IsPrivate: true, Creator: userCy}, {}},
		4: {{IsPrivate: true}, {IsPrivate: true, List: []string{userCy}}, {IsPrivate: true, Creator: userCy}, {}},
	}
	for pos := int64(0); pos <= 4; pos++ {
		got, err := s.RecordsAt(ctx, pos, refs)
		if err != nil || len(got) != len(refs) {
			t.Fatalf("RecordsAt(%d) = %v, %v", pos, got, err)
		}
		for i, st := range got {
			want := wantRecords[pos][i]
			known := !reflect0(want)
			if st.Ref != refs[i] || !sameAccess(st.State, want) || (st.Seq != 0) != known {
				t.Errorf("RecordsAt(%d)[%v] = %+v, want state %+v (known %v)", pos, refs[i], st, want, known)
			}
		}
	}
	admins := func(pos int64) []string {
		got, err := s.UsersAt(ctx, pos, nil, true)
		if err != nil {
			t.Fatalf("UsersAt(%d, admins): %v", pos, err)
		}
		var ids []string
		for _, u := range got {
			if !u.State.Admin || u.State.Status != crmaccess.UserActive || u.Seq == 0 {
				t.Errorf("UsersAt(%d, admins) holds %+v", pos, u)
			}
			ids = append(ids, u.User)
		}
		return ids
	}
	for pos, want := range map[int64][]string{0: nil, 1: {userAnn}, 2: {userAnn, userBen}, 3: {userAnn, userBen}, 4: {userAnn}} {
		if got := admins(pos); !slices.Equal(got, want) {
			t.Errorf("admins at %d = %v, want %v", pos, got, want)
		}
	}
	const nobody = "44444444-4444-4444-4444-444444444444"
	got, err := s.UsersAt(ctx, 2, []string{nobody, userCy, userBen}, false)
	if err != nil || len(got) != 3 {
		t.Fatalf("UsersAt(2, [nobody cy ben]) = %v, %v", got, err)
	}
	if got[0].User != userBen || !got[0].State.Admin || got[1].User != userCy || got[1].State.Admin ||
		got[1].State.Status != crmaccess.UserActive || got[2].User != nobody || got[2].Seq != 0 || got[2].State.Status != "" {
		t.Errorf("UsersAt(2, [nobody cy ben]) = %+v", got)
	}
	var all []string
	if err := s.AllUsersAt(ctx, 4, func(u crmaccess.StateAt) error {
		all = append(all, u.User)
		if u.User == userBen && u.State.Admin {
			t.Errorf("AllUsersAt(4): Ben still an admin")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, []string{userAnn, userBen, userCy}) {
		t.Errorf("AllUsersAt(4) = %v", all)
	}
}

// ReadableAt lists what a user who is not an admin could read at a
// position: public records and those whose access names the user.
func testHistoryReadableAt(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	historyLog(t, s)
	for _, c := range []struct {
		pos  int64
		kind crmaccess.Kind
		user string
		want []int64
	}{
		{0, crmaccess.KindOpportunity, userCy, nil},
		{1, crmaccess.KindOpportunity, userCy, []int64{4}},                                 // on its list
		{1, crmaccess.KindOpportunity, userBen, []int64{4}},                                // responsible
		{1, crmaccess.KindOpportunity, userAnn, []int64{4}},                                // creator
		{2, crmaccess.KindOpportunity, "44444444-4444-4444-4444-444444444444", []int64{4}}, // public
		{3, crmaccess.KindOpportunity, userCy, []int64{4, 6}},
		{4, crmaccess.KindOpportunity, userCy, []int64{6}}, // 4 deleted
		{4, crmaccess.KindOpportunity, userBen, nil},
		{1, crmaccess.KindContact, userBen, []int64{5}}, // shared read-only
		{3, crmaccess.KindContact, userBen, nil},
		{3, crmaccess.KindContact, userCy, []int64{5}}, // manager
	} {
		got, err := s.ReadableAt(ctx, c.pos, c.kind, c.user)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ReadableAt(%d, %s, %s) = %v, %v; want %v", c.pos, c.kind, c.user, got, err, c.want)
		}
	}
	// ChangedSince turns what could be read at a later position into what
	// could be read at an earlier one, from the change records between.
	for _, kind := range []crmaccess.Kind{crmaccess.KindOpportunity, crmaccess.KindContact} {
		for _, u := range []string{userAnn, userBen, userCy, "44444444-4444-4444-4444-444444444444"} {
			for head := int64(0); head <= 4; head++ {
				later, err := s.ReadableAt(ctx, head, kind, u)
				if err != nil {
					t.Fatal(err)
				}
				for pos := int64(0); pos <= head; pos++ {
					want, err := s.ReadableAt(ctx, pos, kind, u)
					if err != nil {
						t.Fatal(err)
					}
					changed, readable, err := s.ChangedSince(ctx, pos, head, kind, u)
					if err != nil {
						t.Fatal(err)
					}
					got := slices.DeleteFunc(slices.Clone(later), func(id int64) bool { return slices.Contains(changed, id) })
					got = append(got, readable...)
					slices.Sort(got)
					if !slices.Equal(got, want) || !slices.IsSorted(changed) || (pos == head && len(changed) > 0) {
						t.Errorf("%s %s: ReadableAt(%d) = %v; from ReadableAt(%d) = %v and ChangedSince = %v, %v: %v",
							kind, u, pos, want, head, later, changed, readable, got)
					}
				}
			}
		}
	}
	changed, _, err := s.ChangedSince(ctx, 1, 4, crmaccess.KindOpportunity, userCy)
	if err != nil || !slices.Equal(changed, []int64{4, 6}) {
		t.Errorf("ChangedSince(1, 4) changed %v, %v; want [4 6]", changed, err)
	}
	// SeqAt grows with the position, and names the last change record.
	all, err := s.FindChanges(ctx, crmaccess.ChangeFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for pos, last := range map[int64]int{0: -1, 1: 4, 2: 6, 3: 8, 4: 10, 9: 10} {
		want := int64(0)
		if last >= 0 {
			want = all[last].Seq
		}
		if got, err := s.SeqAt(ctx, pos); err != nil || got != want {
			t.Errorf("SeqAt(%d) = %d, %v; want %d", pos, got, err, want)
		}
	}
}

// FindChanges filters by record, user, actor and time range, combined,
// and pages by Seq.
func testHistoryFindChanges(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	ctx := t.Context()
	historyLog(t, s)
	all, err := s.FindChanges(ctx, crmaccess.ChangeFilter{Limit: 100})
	if err != nil || len(all) != 11 {
		t.Fatalf("FindChanges(all) = %d changes, %v; want 11", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq || all[i].Position < all[i-1].Position {
			t.Fatalf("FindChanges not in Seq order: %+v then %+v", all[i-1], all[i])
		}
	}
	seqs := func(f crmaccess.ChangeFilter) []int {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 100
		}
		got, err := s.FindChanges(ctx, f)
		if err != nil {
			t.Fatalf("FindChanges(%+v): %v", f, err)
		}
		var out []int
		for _, c := range got {
			out = append(out, slices.IndexFunc(all, func(a crmaccess.Change) bool { return a.Seq == c.Seq }))
		}
		return out
	}
	t2 := historyT0.Add(2 * time.Second)
	for _, c := range []struct {
		name string
		f    crmaccess.ChangeFilter
		want []int // indexes into all
	}{
		{"record", crmaccess.ChangeFilter{Entity: crmaccess.OpportunityRef(4)}, []int{3, 6, 10}},
		{"user", crmaccess.ChangeFilter{User: userBen}, []int{1, 5, 9}},
		{"actor", crmaccess.ChangeFilter{Actor: userBen}, []int{7, 8}},
		{"from", crmaccess.ChangeFilter{From: t2}, []int{5, 6, 7, 8, 9, 10}},
		{"to", crmaccess.ChangeFilter{To: t2}, []int{0, 1, 2, 3, 4}},
		{"range", crmaccess.ChangeFilter{From: t2, To: t2.Add(time.Second)}, []int{5, 6, 7, 8}},
		{"actor and record", crmaccess.ChangeFilter{Actor: userAnn, Entity: crmaccess.OpportunityRef(4)}, []int{6, 10}},
		{"record and range", crmaccess.ChangeFilter{Entity: crmaccess.OpportunityRef(4), To: t2}, []int{3}},
		{"page", crmaccess.ChangeFilter{After: all[4].Seq, Limit: 3}, []int{5, 6, 7}},
		{"actor page", crmaccess.ChangeFilter{Actor: userAnn, After: all[5].Seq, Limit: 1}, []int{6}},
	} {
		if got := seqs(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: FindChanges(%+v) = %v, want %v", c.name, c.f, got, c.want)
		}
	}
	// Pages of 4 read everything once, in order.
	var paged []int64
	for after := int64(0); ; {
		got, err := s.FindChanges(ctx, crmaccess.ChangeFilter{After: after, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			paged = append(paged, c.Seq)
		}
		if len(got) < 4 {
			break
		}
		after = got[len(got)-1].Seq
	}
	if len(paged) != len(all) || paged[0] != all[0].Seq || paged[len(paged)-1] != all[len(all)-1].Seq {
		t.Errorf("paged Seqs %v, want those of all %d changes", paged, len(all))
	}
	if c := all[6]; c.Actor != userAnn || c.Entity != crmaccess.OpportunityRef(4) || c.Position != 2 ||
		!c.At.Equal(t2) || !c.Before.IsPrivate || c.After.IsPrivate || c.After.Creator != userAnn {
		t.Errorf("change read back = %+v", c)
	}
}

func reflect0(st crmaccess.AccessState) bool {
	return !st.IsPrivate && st.ShareType == 0 && len(st.List) == 0 && st.Creator == "" && st.Responsible == "" && !st.Admin && st.Status == ""
}

func sameAccess(a, b crmaccess.AccessState) bool {
	return a.IsPrivate == b.IsPrivate && a.ShareType == b.ShareType && slices.Equal(a.List, b.List) &&
		a.Creator == b.Creator && a.Responsible == b.Responsible && a.Admin == b.Admin && a.Status == b.Status
}
