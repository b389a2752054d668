package crmaccess_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// Several Services over one database (SPEC §8), each with its own
// connections, as separate processes would have: on one SQLite file, and on
// PostgreSQL when CRMACCESS_POSTGRES_DSN is set.

// sharedDB is one database several instances open, each over its own
// connections, as processes would.
type sharedDB struct {
	place *testportal.Store
}

// instance starts a Service over its own store; poll < 0 makes it follow
// the log only when it writes or is asked for a token.
func instance(t *testing.T, db sharedDB, poll time.Duration) *crmaccess.Service {
	t.Helper()
	return serviceWith(t, db.place.Open(t), &crmaccess.Options{Now: func() time.Time { return testNow }, PollInterval: poll})
}

// twoInstances imports the test portal through a first instance and
// starts a second that does not follow in the background: whatever it
// knows of the first one's writes, it learns by writing or by a token.
func twoInstances(t *testing.T, db sharedDB) (first, second *crmaccess.Service) {
	t.Helper()
	first = instance(t, db, 0)
	if _, err := first.Import(t.Context(), portalFixture(t)); err != nil {
		t.Fatalf("Import: %v", err)
	}
	return first, instance(t, db, -1)
}

// eachSharedDatabase runs run on a fresh database of each kind the tests
// run on.
func eachSharedDatabase(t *testing.T, run func(t *testing.T, db sharedDB)) {
	eachDatabase(t, func(t *testing.T, on database) { run(t, sharedDB{place: testportal.NewStore(t, on)}) })
}

// A write decides on the committed state, not on the writing instance's
// memory: an admin revoked through one instance cannot use the role
// through another that has not heard of it.
func TestRevokedAdminCannotWriteThroughAStaleInstance(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		first, stale := twoInstances(t, db)
		// The second instance saw the import only; make it learn that
		// bob is an admin, then revoke him through the first.
		tok, err := first.GrantAdmin(ctx, admin, bob)
		if err != nil {
			t.Fatal(err)
		}
		if err := stale.WaitFor(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := first.RevokeAdmin(ctx, admin, bob); err != nil {
			t.Fatal(err)
		}
		if !mustCheck(t, stale, bob, crmaccess.OpportunityRef(3), read).Allowed {
			t.Fatal("the stale instance already knows of the revocation: this test needs it stale")
		}
		// Opportunity 3 is private to others: as an admin bob could open it.
		_, err = stale.SetOpportunityAccess(ctx, bob, 3, true, []string{bob})
		wantCode(t, err, crmaccess.ENOTFOUND)
		// And the write caught the stale instance up.
		if mustCheck(t, stale, bob, crmaccess.OpportunityRef(3), read).Allowed {
			t.Error("after its write, the instance still lets the revoked admin read")
		}
	})
}

// "Set the list" sets it: two instances writing one after the other end
// with the second list, not a merge, and the change records chain.
func TestListsAreSetNotMergedAcrossInstances(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		first, stale := twoInstances(t, db)
		if _, err := first.SetOpportunityAccess(ctx, alice, 1, true, []string{bob, dave}); err != nil {
			t.Fatal(err)
		}
		res, err := stale.SetOpportunityAccess(ctx, alice, 1, true, []string{carol})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{alice, carol}; !slices.Equal(res.AccessList, want) {
			t.Errorf("answered list %v, want %v", res.AccessList, want)
		}
		fresh := instance(t, db, -1)
		o, err := fresh.Opportunity(ctx, admin, 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{alice, carol}; !slices.Equal(o.AccessList, want) {
			t.Errorf("stored list %v, want %v", o.AccessList, want)
		}
		ch, err := fresh.Changes(ctx, crmaccess.OpportunityRef(1))
		if err != nil {
			t.Fatal(err)
		}
		last := ch[len(ch)-1]
		if !slices.Equal(last.Before.List, []string{alice, bob, dave}) || !slices.Equal(last.After.List, []string{alice, carol}) {
			t.Errorf("the last change goes from %v to %v, want from the first instance's list to the second's", last.Before.List, last.After.List)
		}
		// "Make public" through the instance that has not seen the list
		// writes, and is what the database then holds.
		if _, err := first.SetOpportunityAccess(ctx, alice, 2, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := stale.SetOpportunityAccess(ctx, alice, 2, true, []string{dave}); err != nil {
			t.Fatal(err)
		}
		if o, err := instance(t, db, -1).Opportunity(ctx, admin, 2); err != nil || !o.IsPrivate {
			t.Errorf("opportunity 2 after the stale instance made it private: %+v, %v", o, err)
		}
	})
}

// A check given a write's token is decided on a state at least that fresh,
// on an instance that does not follow in the background; without one, that
// instance answers from what it has seen.
func TestTokensGiveReadYourWrites(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		first, other := twoInstances(t, db)
		res, err := first.SetOpportunityAccess(ctx, alice, 1, true, []string{bob})
		if err != nil {
			t.Fatal(err)
		}
		ref := crmaccess.OpportunityRef(1)
		if !mustCheck(t, other, dave, ref, read).Allowed {
			t.Fatal("the other instance already knows of the write: this test needs it behind")
		}
		d, err := other.Check(crmaccess.WithToken(ctx, res.Token), dave, ref, read)
		if err != nil || d.Allowed {
			t.Errorf("with the write's token: %+v, %v; want denied", d, err)
		}
		// A token from the future: the wait ends with ctx, as EUNAVAILABLE.
		future := crmaccess.Token("p1000000")
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err = other.Check(crmaccess.WithToken(short, future), dave, ref, read)
		wantCode(t, err, crmaccess.EUNAVAILABLE)
		_, err = other.Check(crmaccess.WithToken(ctx, "not a token"), dave, ref, read)
		wantCode(t, err, crmaccess.EINVALID)
	})
}

// Every instance follows the log in the background: a write through one
// is soon decided on by the other without a token.
func TestInstancesFollowEachOthersWrites(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		first := instance(t, db, 0)
		if _, err := first.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		follower := instance(t, db, 0)
		if _, err := first.GrantAdmin(ctx, admin, dave); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !mustCheck(t, follower, dave, crmaccess.OpportunityRef(3), read).Allowed {
			if time.Now().After(deadline) {
				t.Fatal("the follower did not see the grant within 5 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if d := mustCheck(t, follower, dave, crmaccess.OpportunityRef(3), read); d.Reason != crmaccess.ReasonAdmin {
			t.Errorf("reason %q", d.Reason)
		}
	})
}

// Concurrent writers on two instances: every write succeeds (conflicts are
// resolved inside the library), and both instances and a fresh one end
// deciding alike.
func TestConcurrentWritersOnTwoInstances(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		a := instance(t, db, 0)
		if _, err := a.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		b := instance(t, db, 0)
		lists := [][]string{{bob}, {dave}, {bob, carol}, {carol, dave}, nil}
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for w, svc := range []*crmaccess.Service{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					list := lists[(w+i)%len(lists)]
					var err error
					switch i % 3 {
					case 0:
						_, err = svc.SetOpportunityAccess(ctx, alice, int64(1+i%2), list != nil, list)
					case 1:
						_, err = svc.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{Tags: []string{"vip"}}, list != nil, list)
					default:
						if w%2 == 0 {
							_, err = svc.GrantAdmin(ctx, admin, carol)
						} else {
							_, err = svc.RevokeAdmin(ctx, admin, carol)
						}
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d, write %d: %w", w, i, err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		fresh := instance(t, db, -1)
		for _, tok := range []crmaccess.Token{a.Token(), b.Token()} {
			for _, svc := range []*crmaccess.Service{a, b} {
				if err := svc.WaitFor(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := decisions(t, fresh)
		if !mapsEqual(want, decisions(t, a)) || !mapsEqual(want, decisions(t, b)) {
			t.Error("the instances decide otherwise than a fresh one")
		}
	})
}

// The lifecycle on every database: records and users created, edited and
// deleted through one instance are what another, following, decides on,
// and what a fresh one loads.
func TestLifecycleAcrossInstances(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		a := instance(t, db, 0)
		if _, err := a.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		b := instance(t, db, 0)
		steps := []func() (crmaccess.Token, error){
			func() (crmaccess.Token, error) {
				o, err := a.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "new", Members: []int64{1}, Tags: []string{"t"}}, true, []string{bob})
				return resultToken(o, err)
			},
			func() (crmaccess.Token, error) {
				o, err := a.UpdateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "edited", Responsible: carol})
				return resultToken(o, err)
			},
			func() (crmaccess.Token, error) {
				c, err := a.CreateContact(ctx, alice, crmaccess.Contact{ID: 10, FirstName: "New", ShareType: crmaccess.ShareNone, ManagerList: []string{dave}})
				if err != nil {
					return "", err
				}
				return c.Token, nil
			},
			func() (crmaccess.Token, error) { return a.DeleteOpportunity(ctx, alice, 1) },
			func() (crmaccess.Token, error) { return a.DeleteContact(ctx, admin, 5) },
			func() (crmaccess.Token, error) { return a.RemoveUser(ctx, admin, dave) },
			func() (crmaccess.Token, error) {
				return a.PutUser(ctx, admin, crmaccess.User{ID: erin, DisplayName: "Erin"})
			},
			func() (crmaccess.Token, error) { return a.Upsert(ctx, portalFixture(t)) },
		}
		for i, step := range steps {
			tok, err := step()
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = b.WaitFor(wctx, tok)
			cancel()
			if err != nil {
				t.Fatalf("step %d: the other instance: %v", i, err)
			}
			if !mapsEqual(decisions(t, a), decisions(t, b)) {
				t.Fatalf("step %d: the instances decide otherwise", i)
			}
		}
		if !mapsEqual(decisions(t, a), decisions(t, instance(t, db, -1))) {
			t.Error("a fresh instance decides otherwise")
		}
		if o, err := b.Opportunity(ctx, carol, 10); err != nil || o.Title != "edited" || o.Responsible != carol {
			t.Errorf("opportunity 10 through the other instance: %+v, %v", o, err)
		}
	})
}

func resultToken(o *crmaccess.OpportunityResult, err error) (crmaccess.Token, error) {
	if err != nil {
		return "", err
	}
	return o.Token, nil
}
