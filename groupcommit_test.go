package crmaccess_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/faultdb"
)

// groupWrite is one write of a group: SetOpportunityAccess by admin, or
// any other write (do) that answers with a text.
type groupWrite struct {
	id      int64
	private bool
	list    []string
	do      func(ctx context.Context, s *crmaccess.Service) (string, error)
}

// groupOutcome is what one write of a group answered.
type groupOutcome struct {
	res  *crmaccess.OpportunityResult
	text string
	err  error
}

// writeTogether queues writes on s in order while its writes are held,
// then lets them go: the ones that do not share a record are committed
// together. It returns each write's outcome.
func writeTogether(t *testing.T, s *crmaccess.Service, writes []groupWrite) []groupOutcome {
	t.Helper()
	ctx := context.Background()
	out := make([]groupOutcome, len(writes))
	release := crmaccess.HoldWrites(s)
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w.do != nil {
				text, err := w.do(ctx, s)
				out[i] = groupOutcome{text: text, err: err}
				return
			}
			res, err := s.SetOpportunityAccess(ctx, admin, w.id, w.private, w.list)
			out[i] = groupOutcome{res: res, err: err}
		}()
		// The queue's order is the order of the writes.
		for deadline := time.Now().Add(10 * time.Second); crmaccess.QueuedWrites(s) < i+1; {
			if time.Now().After(deadline) {
				release()
				t.Fatalf("write %d was not queued", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	release()
	wg.Wait()
	return out
}

// groupOfFour: three writes on different opportunities (one refused: its
// list names a user nobody knows) committed together, and a fourth on the
// first one's opportunity, which waits for the next group and decides on
// what the first wrote.
var groupOfFour = []groupWrite{
	{id: 1, private: true, list: []string{bob}},
	{id: 2, private: true, list: []string{"ffffffff-0000-0000-0000-000000000009"}},
	{id: 3, private: true, list: []string{carol}},
	{id: 1},
}

// TestConcurrentWritesCommitTogether: writes of one instance on different
// records, waiting for each other, are committed in one transaction, each
// with its own log entry and token, each decided on the state the ones
// before it left; a refused one refuses alone; a write on a record of an
// earlier write of the group decides on what that one wrote. Memory, a
// fresh instance and the change records agree.
func TestConcurrentWritesCommitTogether(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		p := newPortalOn(t, db)
		out := writeTogether(t, p.Service, groupOfFour)

		if got := crmaccess.GroupedWrites(p.Service); got != 2 {
			t.Errorf("%d writes committed in a group, want 2 (opportunities 1 and 3)", got)
		}
		wantCode(t, out[1].err, crmaccess.EINVALID)
		var positions []int64
		for _, i := range []int{0, 2, 3} {
			if out[i].err != nil {
				t.Fatalf("write %d: %v", i, out[i].err)
			}
			m, err := crmaccess.MomentOf(out[i].res.Token)
			if err != nil {
				t.Fatal(err)
			}
			positions = append(positions, m.Position)
		}
		if want := []int64{positions[0], positions[0] + 1, positions[0] + 2}; !slices.Equal(positions, want) {
			t.Fatalf("positions %v, want %v (one entry a write, in queue order)", positions, want)
		}
		if !out[3].res.Changed || out[3].res.IsPrivate {
			t.Fatalf("the write after the group: %+v, want opportunity 1 made public", out[3].res)
		}

		// Each change record starts where the write before it on its
		// record ended.
		changes, err := p.Changes(ctx, crmaccess.OpportunityRef(1))
		if err != nil {
			t.Fatal(err)
		}
		last := changes[len(changes)-2:]
		if !last[0].After.IsPrivate || !slices.Equal(last[0].After.List, []string{bob, admin}) && !slices.Equal(last[0].After.List, []string{admin, bob}) {
			t.Fatalf("first write's change: %+v", last[0].After)
		}
		if fmt.Sprint(last[1].Before) != fmt.Sprint(last[0].After) || last[1].After.IsPrivate {
			t.Fatalf("second write on opportunity 1: before %+v after %+v; the first ended at %+v", last[1].Before, last[1].After, last[0].After)
		}

		fresh := p.reopen(t)
		sameMemory(t, "a fresh instance", memoryState(t, p.Service), memoryState(t, fresh.Service))
		if o, err := fresh.Opportunity(ctx, admin, 3); err != nil || !o.IsPrivate || !slices.Contains(o.AccessList, carol) {
			t.Fatalf("opportunity 3 in a fresh instance: %+v, %v", o, err)
		}
		if o, err := fresh.Opportunity(ctx, admin, 2); err != nil || !o.IsPrivate || !slices.Equal(o.AccessList, []string{dave}) {
			t.Fatalf("opportunity 2 after the refused write (private to dave before it): %+v, %v", o, err)
		}
	})
}

// TestGroupCommitFaultsLeaveNoTrace fails each database call of a group
// commit in turn (SQLite through faultdb): the group leaves no trace, its
// writes are then made one at a time, and each ends as in a run without
// a fault: the same answers, the same database, the same memory.
func TestGroupCommitFaultsLeaveNoTrace(t *testing.T) {
	groupFaults(t, groupOfFour, 2)
}

// groupFaults fails each call of the group of writes in turn (grouped:
// how many the clean run commits in a group) and checks that each run
// ends as the clean one.
func groupFaults(t *testing.T, writes []groupWrite, grouped int64) {
	fresh := faultTemplate(t, false, nil)
	answers := func(out []groupOutcome) string {
		var s []string
		for _, o := range out {
			switch {
			case o.err != nil:
				s = append(s, crmaccess.ErrorCode(o.err))
			case o.res == nil:
				s = append(s, o.text)
			default:
				s = append(s, fmt.Sprint(o.res.IsPrivate, o.res.AccessList, o.res.Changed, o.res.Token))
			}
		}
		return strings.Join(s, "; ")
	}

	clean := fresh("clean.db")
	clean.in.Count()
	wantAnswers := answers(writeTogether(t, clean.Service, writes))
	report := clean.in.Stop()
	if got := crmaccess.GroupedWrites(clean.Service); got != grouped {
		t.Fatalf("the clean run committed %d writes in a group, want %d", got, grouped)
	}
	want := faultStates{memoryState(t, clean.Service), dbState(t, clean.path)}
	// The calls of the group, up to its COMMIT (the fourth write, alone,
	// follows it).
	commit := slices.IndexFunc(report.Log, func(c faultdb.Call) bool { return c.Op == faultdb.OpCommit })
	if commit < 1 {
		t.Fatalf("the clean run made no COMMIT: %v", report.Log)
	}
	for k := 1; k <= commit+1; k++ {
		p := fresh(fmt.Sprintf("fault-%d.db", k))
		p.in.FailAt(k)
		got := answers(writeTogether(t, p.Service, writes))
		r := p.in.Stop()
		what := fmt.Sprintf("fault at call %d of %d (%s %s)", k, report.Calls, report.Log[k-1].Op, report.Log[k-1].Query)
		if r.Fired == nil || r.Fired.Call != report.Log[k-1] {
			t.Fatalf("%s: fired %v", what, r.Fired)
		}
		if got != wantAnswers {
			t.Fatalf("%s: answers\n%s\nwant\n%s", what, got, wantAnswers)
		}
		sameMemory(t, what+": memory", want.memory, memoryState(t, p.Service))
		sameStored(t, what, want.stored, dbState(t, p.path))
		p.close(t)
	}
	t.Logf("%d faults, each in the group's transaction up to its COMMIT", commit+1)
}

// lifecycleGroup: an opportunity created (private), one edited (a new
// responsible user), one deleted and one's access set, committed
// together; then the created one's access set, after the group.
var lifecycleGroup = []groupWrite{
	{do: func(ctx context.Context, s *crmaccess.Service) (string, error) {
		r, err := s.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "new", ContactID: 1, Members: []int64{2},
			StageID: 30, Tags: []string{"a"}}, true, []string{bob})
		if err != nil {
			return "", err
		}
		return fmt.Sprint("created ", r.IsPrivate, r.AccessList, r.Token), nil
	}},
	{do: func(ctx context.Context, s *crmaccess.Service) (string, error) {
		r, err := s.UpdateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 2, Title: "edited", Responsible: bob})
		if err != nil {
			return "", err
		}
		return fmt.Sprint("edited ", r.Responsible, r.Token), nil
	}},
	{do: func(ctx context.Context, s *crmaccess.Service) (string, error) {
		tok, err := s.DeleteOpportunity(ctx, alice, 1)
		return fmt.Sprint("deleted ", tok), err
	}},
	{id: 3, private: true, list: []string{carol}},
	{id: 10, private: false},
}

// TestLifecycleWritesCommitTogether: creations, edits, deletions and
// changes of access of different opportunities commit together, each its
// own entry; the database, a fresh instance and the instance agree.
func TestLifecycleWritesCommitTogether(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		p := newPortalOn(t, db)
		out := writeTogether(t, p.Service, lifecycleGroup)
		for i, o := range out {
			if o.err != nil {
				t.Fatalf("write %d: %v", i, o.err)
			}
		}
		if got := crmaccess.GroupedWrites(p.Service); got != 4 {
			t.Errorf("%d writes committed in a group, want 4", got)
		}
		if !out[4].res.Changed || out[4].res.IsPrivate {
			t.Errorf("the created opportunity's access set after the group: %+v", out[4].res)
		}
		if _, err := p.Opportunity(ctx, admin, 1); crmaccess.ErrorCode(err) != crmaccess.ENOTFOUND {
			t.Errorf("opportunity 1 after its deletion: %v", err)
		}
		if o, err := p.Opportunity(ctx, bob, 2); err != nil || o.Responsible != bob || o.Title != "edited" {
			t.Errorf("opportunity 2 as its new responsible user reads it: %+v, %v", o, err)
		}
		fresh := p.reopen(t)
		sameMemory(t, "a fresh instance", memoryState(t, p.Service), memoryState(t, fresh.Service))
		for _, u := range []string{admin, alice, bob, carol, dave} {
			for _, id := range []int64{1, 2, 3, 10} {
				for _, a := range allActions {
					ref := crmaccess.OpportunityRef(id)
					if got, want := mustCheck(t, p.Service, u, ref, a), mustCheck(t, fresh.Service, u, ref, a); got != want {
						t.Errorf("%s %s %v: %+v, a fresh instance %+v", u, a, ref, got, want)
					}
				}
			}
		}
	})
}

// TestLifecycleGroupFaultsLeaveNoTrace is TestGroupCommitFaultsLeaveNoTrace
// for the lifecycle group.
func TestLifecycleGroupFaultsLeaveNoTrace(t *testing.T) {
	groupFaults(t, lifecycleGroup, 4)
}

// TestGroupCommitUnderLoad: many writers at once, on the same records and
// on records of their own, grouped writes mixed with writes that are never
// grouped (admin roles): every write ends (none waits for a leader that
// went), none fails, and memory is what a fresh instance loads.
func TestGroupCommitUnderLoad(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		p := newPortalOn(t, db)
		const writers, each = 12, 15
		errs := make(chan error, writers*each+each)
		var wg sync.WaitGroup
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					var err error
					switch id := int64(100 + g); i % 3 {
					case 0:
						_, err = p.SetOpportunityAccess(ctx, admin, int64(1+(g+i)%3), i%2 == 0, [][]string{{bob}, {carol, dave}}[g%2])
					case 1:
						_, err = p.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: id, Title: "load", StageID: 30}, true, []string{bob})
					case 2:
						_, err = p.DeleteOpportunity(ctx, alice, id)
					}
					errs <- err
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				if i%2 == 0 {
					_, err = p.GrantAdmin(ctx, admin, carol)
				} else {
					_, err = p.RevokeAdmin(ctx, admin, carol)
				}
				errs <- err
			}
		}()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the writers did not all end within 30 s")
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		fresh := p.reopen(t)
		sameMemory(t, "a fresh instance", memoryState(t, p.Service), memoryState(t, fresh.Service))
		t.Logf("%d of %d writes committed in groups", crmaccess.GroupedWrites(p.Service), writers*each+each)
	})
}

// setContact is a groupWrite's do: SetContactAccess by admin, answered
// with the contact's access and token.
func setContact(id int64, private bool, list ...string) func(ctx context.Context, s *crmaccess.Service) (string, error) {
	return func(ctx context.Context, s *crmaccess.Service) (string, error) {
		r, err := s.SetContactAccess(ctx, admin, id, private, list)
		if err != nil {
			return "", err
		}
		return fmt.Sprint("contact ", r.ID, r.ShareType, r.ManagerList, r.Token), nil
	}
}

// contactGroup: changes of access of two contacts and of an opportunity
// committed together, one of a contact refused (its list names a user
// nobody knows); then the first contact's again, after the group.
var contactGroup = []groupWrite{
	{do: setContact(1, true, bob)},
	{do: setContact(2, true, "ffffffff-0000-0000-0000-000000000009")},
	{do: setContact(3, true, carol, dave)},
	{id: 2, private: true, list: []string{dave}},
	{do: setContact(1, false)},
}

// TestContactWritesCommitTogether: a change of one contact's access joins
// the group of the writes waiting with it, as an opportunity's does; the
// refused one refuses alone, the one on a contact of an earlier write
// decides on what that one wrote, and the change records chain.
func TestContactWritesCommitTogether(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		p := newPortalOn(t, db)
		out := writeTogether(t, p.Service, contactGroup)
		if got := crmaccess.GroupedWrites(p.Service); got != 3 {
			t.Errorf("%d writes committed in a group, want 3 (contacts 1 and 3, opportunity 2)", got)
		}
		wantCode(t, out[1].err, crmaccess.EINVALID)
		for _, i := range []int{0, 2, 3, 4} {
			if out[i].err != nil {
				t.Fatalf("write %d: %v", i, out[i].err)
			}
		}
		changes, err := p.Changes(ctx, crmaccess.ContactRef(1))
		if err != nil {
			t.Fatal(err)
		}
		last := changes[len(changes)-2:]
		if last[0].After.ShareType != crmaccess.ShareNone || !slices.Contains(last[0].After.List, bob) {
			t.Fatalf("first write's change of contact 1: %+v", last[0].After)
		}
		if fmt.Sprint(last[1].Before) != fmt.Sprint(last[0].After) || last[1].After.ShareType != crmaccess.ShareReadWrite {
			t.Fatalf("second write on contact 1: before %+v after %+v; the first ended at %+v", last[1].Before, last[1].After, last[0].After)
		}
		fresh := p.reopen(t)
		sameMemory(t, "a fresh instance", memoryState(t, p.Service), memoryState(t, fresh.Service))
		cs, err := fresh.Contacts(ctx, admin, []int64{2, 3})
		if err != nil || len(cs) != 2 {
			t.Fatalf("contacts 2 and 3 in a fresh instance: %+v, %v", cs, err)
		}
		if !slices.Equal(cs[0].ManagerList, []string{alice}) || cs[1].ShareType != crmaccess.ShareNone ||
			!slices.Equal(cs[1].ManagerList, sortedGUIDs(carol, dave)) {
			t.Fatalf("contacts 2 (refused: as imported) and 3 in a fresh instance: %+v", cs)
		}
	})
}

// TestContactGroupFaultsLeaveNoTrace is TestGroupCommitFaultsLeaveNoTrace
// for the group with contacts.
func TestContactGroupFaultsLeaveNoTrace(t *testing.T) {
	groupFaults(t, contactGroup, 3)
}
