package crmaccess_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/dbdump"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// The users a preview test adds to the test portal.
const (
	dryErin   = "aaaaaaaa-0000-0000-0000-000000000006"
	dryFrank  = "aaaaaaaa-0000-0000-0000-000000000007" // made inactive
	dryGus    = "aaaaaaaa-0000-0000-0000-000000000008" // removed
	dryHal    = "aaaaaaaa-0000-0000-0000-000000000009" // a second admin
	dryNobody = "aaaaaaaa-0000-0000-0000-0000000000ff" // never added
)

// previewDB is a database under test: a Service over a fresh store loaded
// with the test portal, the store, and a dump of every table of it.
type previewDB struct {
	svc   *crmaccess.Service
	store crmaccess.Store
	dump  func(t *testing.T) dbdump.State
}

// onEachDatabase runs test on SQLite and, when one is configured, on
// PostgreSQL, both at once.
func onEachDatabase(t *testing.T, test func(t *testing.T, db *previewDB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		p := newPortal(t)
		test(t, &previewDB{svc: p.Service, store: p.store, dump: func(t *testing.T) dbdump.State {
			t.Helper()
			st, err := dbdump.File(context.Background(), p.path)
			if err != nil {
				t.Fatalf("dump: %v", err)
			}
			return st
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		p := newPortalOn(t, testportal.PostgreSQL)
		sqlDB, err := p.place.Gorm(t).DB()
		if err != nil {
			t.Fatal(err)
		}
		test(t, &previewDB{svc: p.Service, store: p.store, dump: func(t *testing.T) dbdump.State {
			t.Helper()
			d, err := dbdump.Postgres(ctx, sqlDB, p.place.Tables.TablePrefix)
			if err != nil {
				t.Fatalf("dump: %v", err)
			}
			return d
		}})
	})
}

// previewWorld is a random data set grown on the test portal through the
// Service, and what the test knows of it.
type previewWorld struct {
	users         []string // every user ever added, removed and inactive ones too
	contacts      []int64
	opportunities []int64
	tags          []string
}

var previewTags = []string{"vip", "Lead", "partner", "cold"}

// growPreviewWorld adds users (one inactive, one removed, a second admin), contacts
// and opportunities with random access, each created by a random user.
func growPreviewWorld(t *testing.T, svc *crmaccess.Service, rng *rand.Rand, contacts, opportunities int) *previewWorld {
	t.Helper()
	ctx := context.Background()
	w := &previewWorld{users: []string{admin, alice, bob, carol, dave, dryErin, dryFrank, dryGus, dryHal}, tags: previewTags}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range []string{dryErin, dryFrank, dryGus, dryHal} {
		must(svc.PutUser(ctx, admin, crmaccess.User{ID: u, DisplayName: fmt.Sprint("User ", i)}))
	}
	must(svc.GrantAdmin(ctx, admin, dryHal))
	actors := []string{admin, alice, bob, carol, dave, dryErin, dryFrank, dryGus}
	subset := func(from []string) []string { return someOf(rng, from) }
	tagsOf := func() []string {
		var out []string
		for _, tg := range previewTags {
			if rng.IntN(3) == 0 {
				out = append(out, tg)
			}
		}
		return out
	}
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	w.contacts = []int64{1, 2, 3, 4, 5, 6}
	for i := range contacts {
		id := int64(101 + i)
		c := crmaccess.Contact{ID: id, IsCompany: rng.IntN(4) == 0, FirstName: fmt.Sprint("P", id), LastName: "Doe",
			CompanyName: fmt.Sprint("Co", id), Tags: tagsOf(), ContactStage: int64(rng.IntN(3)), ContactType: int64(rng.IntN(3)),
			Created: day.Add(time.Duration(rng.IntN(20*24)) * time.Hour), ShareType: crmaccess.ShareType(rng.IntN(3)),
			ManagerList: subset(w.users[1:8])}
		must(svc.CreateContact(ctx, actors[rng.IntN(len(actors))], c))
		w.contacts = append(w.contacts, id)
	}
	w.opportunities = []int64{1, 2, 3}
	for i := range opportunities {
		id := int64(101 + i)
		o := crmaccess.Opportunity{ID: id, Title: fmt.Sprint("Deal ", id), Responsible: actors[rng.IntN(len(actors))],
			StageID: []int64{0, 30, 31}[rng.IntN(3)], Tags: tagsOf(), ExpectedCloseDate: day.Add(time.Duration(rng.IntN(20)) * 24 * time.Hour)}
		if rng.IntN(3) > 0 {
			o.ContactID = w.contacts[rng.IntN(len(w.contacts))]
		}
		if rng.IntN(3) == 0 {
			o.Members = []int64{w.contacts[rng.IntN(len(w.contacts))]}
			if o.Members[0] == o.ContactID {
				o.Members = nil
			}
		}
		must(svc.CreateOpportunity(ctx, actors[rng.IntN(len(actors))], o, rng.IntN(2) == 0, subset(w.users[1:8])))
		w.opportunities = append(w.opportunities, id)
	}
	must(svc.SetUserActive(ctx, admin, dryFrank, false))
	must(svc.RemoveUser(ctx, admin, dryGus))
	return w
}

// bulkCall is one random call of the four bulk changes of access.
type bulkCall struct {
	op        int // 0 contacts by filter, 1 contacts by id, 2 opportunities by id, 3 opportunities by filter
	actor     string
	isPrivate bool
	list      []string
	ids       []int64
	contacts  crmaccess.ContactFilter
	opps      crmaccess.OpportunityFilter
}

func (c *bulkCall) String() string {
	return fmt.Sprintf("op %d by %s private=%v list=%v ids=%v contacts=%+v opportunities=%+v",
		c.op, c.actor, c.isPrivate, c.list, c.ids, c.contacts, c.opps)
}

// randomCall draws a call: mostly valid, sometimes with an actor who may
// not act, a list entry that is not a known user or not a GUID, a bad id
// or a bad filter, which both the call and its preview must refuse alike.
func (w *previewWorld) randomCall(rng *rand.Rand) *bulkCall {
	c := &bulkCall{op: rng.IntN(4), isPrivate: rng.IntN(2) == 0}
	active := []string{admin, alice, bob, carol, dave, dryErin, dryHal}
	switch r := rng.IntN(40); {
	case r == 0:
		c.actor = dryFrank // inactive
	case r == 1:
		c.actor = dryGus // removed
	case r == 2:
		c.actor = dryNobody
	case r == 3:
		c.actor = "not-a-user"
	default:
		c.actor = active[rng.IntN(len(active))]
		if rng.IntN(4) == 0 {
			c.actor = "{" + strings.ToUpper(c.actor) + "}"
		}
	}
	for _, u := range []string{alice, bob, carol, dave, dryErin, dryFrank, dryHal} {
		if rng.IntN(3) == 0 {
			c.list = append(c.list, u)
		}
	}
	switch rng.IntN(30) {
	case 0:
		c.list = append(c.list, dryGus) // removed: not a known user
	case 1:
		c.list = append(c.list, "zz")
	case 2:
		c.list = append(c.list, c.list...) // duplicates
	}
	recordIDs := w.contacts
	if c.op == 2 {
		recordIDs = w.opportunities
	}
	for _, id := range recordIDs {
		if rng.IntN(3) == 0 {
			c.ids = append(c.ids, id)
		}
	}
	switch rng.IntN(25) {
	case 0:
		c.ids = append(c.ids, 0)
	case 1, 2:
		c.ids = append(c.ids, 9999) // missing
	}
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	tag := func() []string {
		if rng.IntN(2) == 0 {
			return nil
		}
		return []string{strings.ToUpper(w.tags[rng.IntN(len(w.tags))])}
	}
	id := func(n int) *int64 {
		if rng.IntN(2) == 0 {
			return nil
		}
		return int64p(int64(rng.IntN(n)) - 1)
	}
	date := func() time.Time {
		if rng.IntN(3) > 0 {
			return time.Time{}
		}
		return day.Add(time.Duration(rng.IntN(20)) * 24 * time.Hour)
	}
	c.contacts = crmaccess.ContactFilter{Tags: tag(), Stage: id(4), Type: id(4), ListView: crmaccess.ListView(rng.IntN(4)),
		FromDate: date(), ToDate: date()}
	if rng.IntN(30) == 0 {
		c.contacts.ListView = 9 // invalid
	}
	if rng.IntN(5) == 0 {
		c.contacts.Search = "p1"
	}
	c.opps = crmaccess.OpportunityFilter{Tags: tag(), Stage: id(33), FromDate: date(), ToDate: date()}
	if rng.IntN(4) == 0 {
		c.opps.Responsible = w.users[rng.IntN(len(w.users))]
	}
	if rng.IntN(4) == 0 {
		c.opps.Contact = int64p(w.contacts[rng.IntN(len(w.contacts))])
		c.opps.ContactAlsoIsParticipant = rng.IntN(2) == 0
	}
	if rng.IntN(5) == 0 {
		st := crmaccess.StageType(rng.IntN(3))
		c.opps.StageType = &st
	}
	return c
}

// bulkOutcome is an answer of a bulk call in comparable form: each record
// as the result renders it (its Token, the write's, left out), the skipped
// count, the records it changed, and the answer's token.
type bulkOutcome struct {
	records []string
	skipped int
	changed []crmaccess.Ref
	after   map[crmaccess.Ref]string // the new access of each changed record
	token   crmaccess.Token
}

// run makes the call, or its preview.
func (c *bulkCall) run(ctx context.Context, svc *crmaccess.Service, preview bool) (*bulkOutcome, error) {
	out := &bulkOutcome{after: map[crmaccess.Ref]string{}}
	if c.op <= 1 {
		var res *crmaccess.ContactsAccessResult
		var err error
		switch {
		case c.op == 0 && preview:
			res, err = svc.PreviewContactsAccess(ctx, c.actor, c.contacts, c.isPrivate, c.list)
		case c.op == 0:
			res, err = svc.SetContactsAccess(ctx, c.actor, c.contacts, c.isPrivate, c.list)
		case preview:
			res, err = svc.PreviewContactsAccessByID(ctx, c.actor, c.ids, c.isPrivate, c.list)
		default:
			res, err = svc.SetContactsAccessByID(ctx, c.actor, c.ids, c.isPrivate, c.list)
		}
		if err != nil {
			return nil, err
		}
		for _, r := range res.Contacts {
			if r.Token != "" {
				return nil, fmt.Errorf("contact %d of a list answer carries a token", r.ID)
			}
			out.records = append(out.records, fmt.Sprintf("%+v", r))
			if r.Changed {
				ref := crmaccess.ContactRef(r.ID)
				out.changed = append(out.changed, ref)
				out.after[ref] = fmt.Sprint(r.ShareType, r.ManagerList)
			}
		}
		out.skipped, out.token = res.Skipped, res.Token
		return out, nil
	}
	var res *crmaccess.OpportunitiesAccessResult
	var err error
	switch {
	case c.op == 2 && preview:
		res, err = svc.PreviewOpportunitiesAccess(ctx, c.actor, c.ids, c.isPrivate, c.list)
	case c.op == 2:
		res, err = svc.SetOpportunitiesAccess(ctx, c.actor, c.ids, c.isPrivate, c.list)
	case preview:
		res, err = svc.PreviewOpportunitiesAccessByFilter(ctx, c.actor, c.opps, c.isPrivate, c.list)
	default:
		res, err = svc.SetOpportunitiesAccessByFilter(ctx, c.actor, c.opps, c.isPrivate, c.list)
	}
	if err != nil {
		return nil, err
	}
	for _, r := range res.Opportunities {
		if r.Token != "" {
			return nil, fmt.Errorf("opportunity %d of a list answer carries a token", r.ID)
		}
		out.records = append(out.records, fmt.Sprintf("%+v", r))
		if r.Changed {
			ref := crmaccess.OpportunityRef(r.ID)
			out.changed = append(out.changed, ref)
			out.after[ref] = fmt.Sprint(r.IsPrivate, r.AccessList)
		}
	}
	out.skipped, out.token = res.Skipped, res.Token
	return out, nil
}

// checkEverything checks every user of w (and one never added) against every
// record of w (and a missing one of each kind), for every action.
func checkEverything(t *testing.T, svc *crmaccess.Service, w *previewWorld) map[string]crmaccess.Decision {
	t.Helper()
	refs := []crmaccess.Ref{crmaccess.ContactRef(9999), crmaccess.OpportunityRef(9999)}
	for _, id := range w.contacts {
		refs = append(refs, crmaccess.ContactRef(id))
	}
	for _, id := range w.opportunities {
		refs = append(refs, crmaccess.OpportunityRef(id))
	}
	return decisionsOf(t, svc, append(slices.Clone(w.users), dryNobody), refs, "unauthorized")
}

// entriesAfter returns the log entries after the position of token tok.
func entriesAfter(t *testing.T, st crmaccess.Store, tok crmaccess.Token) []crmaccess.LogEntry {
	t.Helper()
	var pos int64
	if _, err := fmt.Sscanf(string(tok), "p%d", &pos); err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	var out []crmaccess.LogEntry
	err := st.Log(context.Background(), pos, func(e *crmaccess.LogEntry) error {
		out = append(out, *e)
		return nil
	})
	if err != nil {
		t.Fatalf("Log: %v", err)
	}
	return out
}

// TestPreviewIsWhatTheCallThenDoes is the dry run's property, on SQLite
// and PostgreSQL: over a random data set, a random call of the four bulk
// changes of access (random actor, filter or ids, list, privacy) is first
// previewed, then made. The preview writes nothing (every table of the
// database, the log and memory are as they were) and answers exactly what
// the call then does: the same records with the same new values and
// rights, the same skipped count, the same error for a call that is
// refused; and the records it marks Changed are exactly those the call's
// log entry changes, to the values it shows. 80 calls a database by
// default, 500 in the long tier; CRMACCESS_PREVIEW_CASES sets the number.
func TestPreviewIsWhatTheCallThenDoes(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *previewDB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(12, 3))
		w := growPreviewWorld(t, db.svc, rng, sized(30, 80), sized(25, 60))
		cases := size(t, "CRMACCESS_PREVIEW_CASES", 80, 500)
		var previewed, changed, skipping, refused int
		for i := range cases {
			call := w.randomCall(rng)
			before, tok := db.dump(t), db.svc.Token()
			memory := checkEverything(t, db.svc, w)

			preview, perr := call.run(ctx, db.svc, true)

			if d := dbdump.Diff(before, db.dump(t), 10); d != "" {
				t.Fatalf("case %d, %v: the preview wrote:\n%s", i, call, d)
			}
			if got := db.svc.Token(); got != tok {
				t.Fatalf("case %d, %v: memory moved from %s to %s", i, call, tok, got)
			}
			if e := entriesAfter(t, db.store, tok); len(e) > 0 {
				t.Fatalf("case %d, %v: the preview appended to the log: %+v", i, call, e)
			}
			if m := checkEverything(t, db.svc, w); !maps.Equal(m, memory) {
				t.Fatalf("case %d, %v: the preview changed what Check answers", i, call)
			}

			done, rerr := call.run(ctx, db.svc, false)

			if crmaccess.ErrorCode(perr) != crmaccess.ErrorCode(rerr) {
				t.Fatalf("case %d, %v: preview error %v, call error %v", i, call, perr, rerr)
			}
			if rerr != nil {
				refused++
				continue
			}
			previewed++
			if preview.skipped > 0 {
				skipping++
			}
			if preview.token != tok {
				t.Errorf("case %d: the preview's token is %s, want the state it was decided on, %s", i, preview.token, tok)
			}
			if !slices.Equal(preview.records, done.records) {
				t.Fatalf("case %d, %v: records differ\npreview: %v\ncall:    %v", i, call, preview.records, done.records)
			}
			if preview.skipped != done.skipped {
				t.Fatalf("case %d, %v: skipped %d in the preview, %d in the call", i, call, preview.skipped, done.skipped)
			}
			entries := entriesAfter(t, db.store, tok)
			if len(preview.changed) == 0 {
				if len(entries) != 0 || done.token != tok {
					t.Fatalf("case %d, %v: the preview changes nothing, the call wrote %+v (token %s)", i, call, entries, done.token)
				}
				continue
			}
			changed++
			if len(entries) != 1 {
				t.Fatalf("case %d, %v: the call wrote %d log entries, want 1", i, call, len(entries))
			}
			var logged []crmaccess.Ref
			for _, ch := range entries[0].Changes {
				logged = append(logged, ch.Entity)
				var after string
				if ch.Entity.Kind == crmaccess.KindContact {
					after = fmt.Sprint(ch.After.ShareType, ch.After.List)
				} else {
					after = fmt.Sprint(ch.After.IsPrivate, ch.After.List)
				}
				if after != preview.after[ch.Entity] {
					t.Fatalf("case %d, %v: %v changed to %s, the preview showed %s", i, call, ch.Entity, after, preview.after[ch.Entity])
				}
			}
			if !slices.Equal(logged, preview.changed) {
				t.Fatalf("case %d, %v: the call changed %v, the preview marked %v", i, call, logged, preview.changed)
			}
		}
		t.Logf("%d cases: %d answered (%d with changes, %d with skipped records), %d refused alike", cases, previewed, changed, skipping, refused)
		if previewed == 0 || changed == 0 || skipping == 0 || refused == 0 {
			t.Errorf("the random calls do not cover answers, changes, skipped records and refusals")
		}
	})
}

// interruptingStore is a store whose FindContacts, outside a write's
// transaction (a preview reads through it; a write reads through the
// transaction's reader), first runs interrupt, until it returns false.
type interruptingStore struct {
	crmaccess.Store
	interrupt func() bool
	calls     int
}

func (s *interruptingStore) FindContacts(ctx context.Context, f *crmaccess.ContactFilter) ([]crmaccess.Contact, error) {
	s.calls++
	if s.interrupt != nil && !s.interrupt() {
		s.interrupt = nil
	}
	return s.Store.FindContacts(ctx, f)
}

// TestPreviewDecidesOnOneStateWhileOthersWrite: another instance commits a
// change of access while a preview reads its candidates. The preview does
// not hold the writer lock (the other write commits meanwhile, within a
// deadline), notices the commit and decides again, on the newer state; a
// store that keeps changing makes it decide inside the writer lock after
// three tries. Either way its answer is the state its token names, and
// what the call then does.
func TestPreviewDecidesOnOneStateWhileOthersWrite(t *testing.T) {
	for _, tc := range []struct {
		name          string
		interruptions int
		wantReads     int // the preview's reads of candidates outside the lock
	}{
		{"one commit meanwhile: decides again", 1, 2},
		{"commits at every try: decides under the writer lock", 10, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := testportal.NewStore(t, testportal.SQLite).Open(t)
			wrapped := &interruptingStore{Store: st}
			svc := serviceOver(t, wrapped)
			if _, err := svc.Import(ctx, portalFixture(t)); err != nil {
				t.Fatal(err)
			}
			other := serviceOver(t, st)
			var (
				lastWrite crmaccess.Token
				failure   error
				done      int
			)
			wrapped.interrupt = func() bool {
				// Contact 5 flips between private to bob and shared.
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				res, err := other.SetContactAccess(wctx, admin, 5, done%2 == 0, []string{bob})
				if err != nil {
					failure = err
					return false
				}
				lastWrite, done = res.Token, done+1
				return done < tc.interruptions
			}
			wrapped.calls = 0
			preview, err := svc.PreviewContactsAccess(ctx, admin, crmaccess.ContactFilter{}, true, []string{bob})
			if failure != nil {
				t.Fatalf("a write of another instance failed while the preview ran: %v", failure)
			}
			if err != nil {
				t.Fatal(err)
			}
			if wrapped.calls != tc.wantReads {
				t.Errorf("the preview read its candidates %d times outside the lock, want %d", wrapped.calls, tc.wantReads)
			}
			if preview.Token != lastWrite {
				t.Errorf("the preview was decided at %s, want the state after the last commit, %s", preview.Token, lastWrite)
			}
			wrapped.interrupt = nil
			res, err := svc.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{}, true, []string{bob})
			if err != nil {
				t.Fatal(err)
			}
			for i := range res.Contacts {
				res.Contacts[i].Token = ""
			}
			if fmt.Sprintf("%+v", preview.Contacts) != fmt.Sprintf("%+v", res.Contacts) || preview.Skipped != res.Skipped {
				t.Errorf("preview:\n%+v\ncall:\n%+v", preview.Contacts, res.Contacts)
			}
			for _, c := range preview.Contacts {
				if c.ID == 5 && c.Changed != (done%2 == 0) {
					t.Errorf("contact 5 is private to bob after %d flips, yet the preview marks it Changed=%v", done, c.Changed)
				}
			}
		})
	}
}

// TestPreviewHonoursTokens: a preview is decided on a state at least as
// fresh as the token its context carries; one it cannot reach in time is
// EUNAVAILABLE, and a malformed one EINVALID, as for a read.
func TestPreviewHonoursTokens(t *testing.T) {
	p := newPortal(t)
	ctx := context.Background()
	res, err := p.SetContactsAccessByID(ctx, admin, []int64{5}, true, []string{bob})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.PreviewContactsAccessByID(crmaccess.WithToken(ctx, res.Token), admin, []int64{5}, true, []string{bob})
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != res.Token || len(got.Contacts) != 1 || got.Contacts[0].Changed {
		t.Errorf("after the write, a preview of the same change answers %+v, want contact 5 unchanged at %s", got, res.Token)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, err = p.PreviewOpportunitiesAccess(crmaccess.WithToken(short, "p999999"), admin, []int64{1}, false, nil)
	wantCode(t, err, crmaccess.EUNAVAILABLE)
	_, err = p.PreviewOpportunitiesAccessByFilter(crmaccess.WithToken(ctx, "x"), admin, crmaccess.OpportunityFilter{}, false, nil)
	wantCode(t, err, crmaccess.EINVALID)
}

// TestPreviewInAHostTransaction: a view over a host's transaction previews
// on the committed state, without waiting for the writer lock that its
// own write holds: the transaction's uncommitted change is not in the
// answer until the host commits.
func TestPreviewInAHostTransaction(t *testing.T) {
	eachDatabase(t, func(t *testing.T, on database) {
		ctx := t.Context()
		place := testportal.NewStore(t, on)
		db := place.Gorm(t)
		st := place.OpenOn(t, db)
		svc := serviceOver(t, st)
		if _, err := svc.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		committed := svc.Token()
		changedIn := func(res *crmaccess.ContactsAccessResult) bool {
			return len(res.Contacts) == 1 && res.Contacts[0].Changed
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			inTx, err := st.InTx(tx)
			if err != nil {
				return err
			}
			view := svc.InTransaction(inTx)
			if _, err := view.SetContactsAccessByID(ctx, admin, []int64{5}, true, []string{bob}); err != nil {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			res, err := view.PreviewContactsAccessByID(pctx, admin, []int64{5}, true, []string{bob})
			if err != nil {
				return err
			}
			if !changedIn(res) || res.Token != committed {
				t.Errorf("inside the transaction, the preview answers %+v; want the committed state %s, where contact 5 would change", res, committed)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.PreviewContactsAccessByID(ctx, admin, []int64{5}, true, []string{bob})
		if err != nil {
			t.Fatal(err)
		}
		if changedIn(res) || res.Token == committed {
			t.Errorf("after the commit, the preview answers %+v; want contact 5 unchanged, at a later state than %s", res, committed)
		}
	})
}
