package crmaccess_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// TestFilterNeverTouchesWhatTheCallerMayNotEdit runs random filter calls by
// users who are not admins over contacts with random sharing: a call
// changes and returns only contacts its caller could edit when it began
// (and so could read), skips and counts exactly the other matches, and
// leaves every other contact as it was.
func TestFilterNeverTouchesWhatTheCallerMayNotEdit(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	users := []string{alice, bob, carol, dave}
	fx := &crmaccess.DataSet{Users: []crmaccess.User{{ID: admin}}, Admins: []string{admin}}
	for _, u := range users {
		fx.Users = append(fx.Users, crmaccess.User{ID: u})
	}
	tags := []string{"a", "b", "c"}
	created := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 150
	for i := 1; i <= n; i++ {
		st := crmaccess.ShareType(rng.IntN(3))
		c := crmaccess.Contact{ID: int64(i), IsCompany: rng.IntN(4) == 0, FirstName: fmt.Sprint("P", i), CompanyName: fmt.Sprint("C", i),
			ContactStage: int64(rng.IntN(3)), Created: created.Add(time.Duration(i) * time.Hour),
			CreateBy: users[rng.IntN(len(users))], ShareType: st}
		for _, tg := range tags {
			if rng.IntN(2) == 0 {
				c.Tags = append(c.Tags, tg)
			}
		}
		for _, u := range users {
			if rng.IntN(3) == 0 && st != crmaccess.ShareReadWrite { // everyone edits a shared one
				c.ManagerList = append(c.ManagerList, u)
			}
		}
		fx.Contacts = append(fx.Contacts, c)
	}
	p := openPortal(t, filepath.Join(t.TempDir(), "random.db"))
	if _, err := p.Import(ctx, fx); err != nil {
		t.Fatal(err)
	}
	allIDs := make([]int64, n)
	for i := range allIDs {
		allIDs[i] = int64(i + 1)
	}
	access := func() map[int64]string {
		cs, err := p.Contacts(ctx, admin, allIDs)
		if err != nil || len(cs) != n {
			t.Fatalf("Contacts: %d %v", len(cs), err)
		}
		out := map[int64]string{}
		for _, c := range cs {
			out[c.ID] = fmt.Sprint(c.ShareType, c.ManagerList)
		}
		return out
	}
	calls := sized(100, 300)
	returned, skipped, changed := 0, 0, 0
	for range calls {
		u := users[rng.IntN(len(users))]
		f := crmaccess.ContactFilter{ListView: crmaccess.ListView(rng.IntN(3))}
		if rng.IntN(2) == 0 {
			f.Tags = []string{tags[rng.IntN(len(tags))]}
		}
		if rng.IntN(3) == 0 {
			f.Stage = int64p(int64(rng.IntN(3)))
		}
		var list []string
		for _, m := range users {
			if rng.IntN(3) == 0 {
				list = append(list, m)
			}
		}
		private := rng.IntN(2) == 0

		before := access()
		editable, readable := map[int64]bool{}, map[int64]bool{}
		for _, id := range allIDs {
			editable[id] = mustCheck(t, p.Service, u, crmaccess.ContactRef(id), crmaccess.ActionEdit).Allowed
			readable[id] = mustCheck(t, p.Service, u, crmaccess.ContactRef(id), crmaccess.ActionRead).Allowed
		}
		matched, err := p.store.FindContacts(ctx, &f)
		if err != nil {
			t.Fatal(err)
		}
		wantReturned, wantSkipped := []int64{}, 0
		for _, c := range matched {
			if editable[c.ID] {
				wantReturned = append(wantReturned, c.ID)
			} else if readable[c.ID] {
				wantSkipped++ // a contact the caller may not even read is not counted
			}
		}

		res, err := p.SetContactsAccess(ctx, u, f, private, list)
		if err != nil {
			t.Fatal(err)
		}
		got := []int64{}
		for _, c := range res.Contacts {
			if !editable[c.ID] || !readable[c.ID] {
				t.Fatalf("%s's call returned contact %d, which %s could not edit (%v) or read (%v)", u, c.ID, u, editable[c.ID], readable[c.ID])
			}
			got = append(got, c.ID)
		}
		if !slices.Equal(got, wantReturned) || res.Skipped != wantSkipped {
			t.Fatalf("%s %+v: returned %v skipped %d, want %v and %d", u, f, got, res.Skipped, wantReturned, wantSkipped)
		}
		after := access()
		for _, id := range allIDs {
			if after[id] != before[id] {
				changed++
				if !slices.Contains(got, id) {
					t.Fatalf("%s's call changed contact %d, which it did not return (editable %v): %s → %s", u, id, editable[id], before[id], after[id])
				}
			}
		}
		returned += len(got)
		skipped += res.Skipped
	}
	t.Logf("filter property: %d calls by non-admins over %d contacts: %d returned, %d changed, %d skipped; none outside the caller's rights",
		calls, n, returned, changed, skipped)
}

// TestCancelledContextWritesNothing: every write path called with a
// cancelled context fails at once and leaves the database and memory as
// they were.
func TestCancelledContextWritesNothing(t *testing.T) {
	for _, wp := range writePaths {
		t.Run(wp.name, func(t *testing.T) {
			p := openFaultPortal(t, filepath.Join(t.TempDir(), "crm.db"), nil)
			fx := portalFixture(t)
			if !wp.empty {
				if _, err := p.Import(context.Background(), portalFixture(t)); err != nil {
					t.Fatal(err)
				}
			}
			memory, stored := memoryState(t, p.Service), dbState(t, p.path)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			p.in.Count()
			start := time.Now()
			err := wp.run(ctx, p.Service, fx)
			took := time.Since(start)
			calls := p.in.Stop().Calls
			if err == nil {
				t.Fatal("the write succeeded on a cancelled context")
			}
			wantCode(t, err, crmaccess.EINTERNAL)
			if calls != 0 || took > time.Second {
				t.Errorf("on a cancelled context: %d database calls, %v", calls, took)
			}
			sameMemory(t, "memory", memory, memoryState(t, p.Service))
			sameStored(t, "database", stored, dbState(t, p.path))
		})
	}
}

// cancelAtCommit is a store that cancels the caller's context once the
// service has decided its batch (inside Update, with a live context) and
// before the store writes it: the write certainly sees the cancellation.
type cancelAtCommit struct {
	crmaccess.Store
	cancel  context.CancelFunc
	commits int // batches handed to the store after the cancel
}

func (s *cancelAtCommit) Update(ctx context.Context, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, error) {
	return s.Store.Update(ctx, func(ctx context.Context, tx crmaccess.Reader, head int64) (*crmaccess.Batch, error) {
		b, err := build(ctx, tx, head)
		if err == nil && b != nil {
			s.commits++
			s.cancel()
		}
		return b, err
	})
}

// TestCancelDuringALargeFilterUpdate cancels a filter update over many
// contacts. Cancelled as the service commits, the call fails with the
// cancellation and leaves no trace in the database or in memory. Cancelled
// at random moments, it returns soon after the cancel, and the database and
// memory both hold the whole change or none of it.
func TestCancelDuringALargeFilterUpdate(t *testing.T) {
	n := sized(1_000, 10_000)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "big.db")
	p := openPortal(t, path)
	if _, err := p.Import(ctx, crashFixture(n)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", storage.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// share returns how many contacts have share type st, in the memory of
	// svc (as the outsider's read decisions tell) and in the database.
	share := func(svc *crmaccess.Service, st crmaccess.ShareType) (memory, stored int) {
		t.Helper()
		for id := 1; id <= n; id++ {
			d := mustCheck(t, svc, crashOutsider, crmaccess.ContactRef(int64(id)), crmaccess.ActionRead)
			if d.Allowed == (st != crmaccess.ShareNone) {
				memory++
			}
		}
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM crm_contacts WHERE share_type = ?`, int64(st)).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		return memory, stored
	}

	// Cancelled as it commits: the call fails and nothing changed.
	changesBefore, err := p.Changes(ctx, crmaccess.ContactRef(1))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cancelling := &cancelAtCommit{Store: p.store, cancel: cancel}
	svc := serviceOver(t, cancelling)
	_, err = svc.SetContactsAccess(cctx, crashAdmin, crmaccess.ContactFilter{}, true, crashManagers)
	if cancelling.commits != 1 {
		t.Fatalf("the service handed the store %d batches, want 1 (error %v)", cancelling.commits, err)
	}
	wantCode(t, err, crmaccess.EINTERNAL)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a call cancelled as it commits: %v, want an error wrapping context.Canceled", err)
	}
	for _, s := range []*crmaccess.Service{svc, p.Service} {
		if memory, stored := share(s, crmaccess.ShareNone); memory != 0 || stored != 0 {
			t.Fatalf("a call cancelled as it commits made %d contacts private in memory, %d in the database", memory, stored)
		}
	}
	if ch, err := p.Changes(ctx, crmaccess.ContactRef(1)); err != nil || len(ch) != len(changesBefore) {
		t.Fatalf("change records after a call cancelled as it commits: %v %v, want %v", ch, err, changesBefore)
	}

	// How long an uncancelled update takes.
	start := time.Now()
	if _, err := p.SetContactsAccess(ctx, crashAdmin, crmaccess.ContactFilter{}, true, crashManagers); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	rng := rand.New(rand.NewPCG(3, 4))
	var worst time.Duration
	outcomes := map[string]int{}
	private := true
	for i := range 8 {
		private = !private // each call changes every contact
		want := crmaccess.ShareReadWrite
		if private {
			want = crmaccess.ShareNone
		}
		cctx, cancel := context.WithCancel(ctx)
		var cancelled time.Time
		fired := make(chan struct{})
		timer := time.AfterFunc(time.Duration(rng.Int64N(int64(full+full/4))), func() {
			cancelled = time.Now()
			cancel()
			close(fired)
		})
		_, err := p.SetContactsAccess(cctx, crashAdmin, crmaccess.ContactFilter{}, private, crashManagers)
		returned := time.Now()
		if timer.Stop() {
			cancel()
		} else {
			<-fired
			worst = max(worst, returned.Sub(cancelled))
		}
		memory, stored := share(p.Service, want)
		switch {
		case err == nil && memory == n && stored == n:
			outcomes["completed"]++
		case err != nil && memory == 0 && stored == 0:
			wantCode(t, err, crmaccess.EINTERNAL)
			outcomes["cancelled"]++
			// Finish the change, so that the next call changes every contact.
			if _, err := p.SetContactsAccess(ctx, crashAdmin, crmaccess.ContactFilter{}, private, crashManagers); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("call %d: error %v; %d of %d contacts changed in memory, %d in the database", i, err, memory, n, stored)
		}
	}
	if worst > time.Second {
		t.Errorf("a cancelled update returned %v after the cancel", worst)
	}
	t.Logf("cancel: %d contacts, an update takes %v; %v; the slowest return after a cancel: %v", n,
		full.Round(time.Millisecond), outcomes, worst.Round(time.Microsecond))
}
