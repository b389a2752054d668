package crmaccess_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The users and stages an instance answers with follow every instance's
// writes: an instance that read a user and a stage sees another
// instance's change of them once it has applied it (at once with the
// change's token), and a write of access in between does not hide it.
func TestUsersAndStagesFollowOtherInstances(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		first := instance(t, db, 0)
		if _, err := first.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		reader := instance(t, db, 0)
		users, err := reader.Users(ctx, []string{dave, bob})
		if err != nil || len(users) != 2 || users[0].ID != bob || users[1].ID != dave {
			t.Fatalf("Users: %+v, %v", users, err)
		}
		stages, err := reader.Stages(ctx, []int64{30})
		if err != nil || len(stages) != 1 {
			t.Fatalf("Stages: %+v, %v", stages, err)
		}

		renamed := users[1]
		renamed.DisplayName = "Dave Renamed"
		tok, err := first.PutUser(ctx, admin, renamed)
		if err != nil {
			t.Fatal(err)
		}
		st := stages[0]
		st.Title = "Renamed stage"
		stageTok, err := first.UpdateStage(ctx, admin, st)
		if err != nil {
			t.Fatal(err)
		}
		// A write of access after them: it must not keep what they changed
		// hidden.
		if _, err := first.SetOpportunityAccess(ctx, alice, 1, true, []string{bob}); err != nil {
			t.Fatal(err)
		}
		users, err = reader.Users(crmaccess.WithToken(ctx, tok), []string{dave})
		if err != nil || len(users) != 1 || users[0].DisplayName != "Dave Renamed" {
			t.Fatalf("Users with the rename's token: %+v, %v", users, err)
		}
		stages, err = reader.Stages(crmaccess.WithToken(ctx, stageTok), []int64{30})
		if err != nil || len(stages) != 1 || stages[0].Title != "Renamed stage" {
			t.Fatalf("Stages with the change's token: %+v, %v", stages, err)
		}
		// Without a token: once the reader followed.
		deadline := time.Now().Add(5 * time.Second)
		for {
			users, err := reader.Users(ctx, []string{dave, alice})
			if err != nil {
				t.Fatal(err)
			}
			if len(users) == 2 && users[1].DisplayName == "Dave Renamed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the reader still answers %+v", users)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// An instance that follows the log reads a user or a stage from the
// database once; again, it answers from memory.
func TestUsersAndStagesAreReadOnce(t *testing.T) {
	ctx := t.Context()
	p := openFaultPortal(t, filepath.Join(t.TempDir(), "dir.db"), nil)
	if _, err := p.Import(ctx, portalFixture(t)); err != nil {
		t.Fatal(err)
	}
	svc := serviceWith(t, p.st, &crmaccess.Options{Now: func() time.Time { return testNow }, PollInterval: time.Hour})
	for i := range 2 {
		if i == 1 {
			p.in.Count()
		}
		if _, err := svc.Users(ctx, []string{alice, bob}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Stages(ctx, []int64{30, 31}); err != nil {
			t.Fatal(err)
		}
	}
	if r := p.in.Stop(); r.Calls != 0 {
		t.Fatalf("the second read made %d database calls: %v", r.Calls, r.Log)
	}
}
