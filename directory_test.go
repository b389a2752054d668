package crmaccess_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The users, stages and contacts an instance answers with follow every
// instance's writes: an instance that read a user, a stage and a contact
// sees another instance's change of them once it has applied it (at once
// with the change's token), and writes of access after them do not hide
// it; a contact's access is always memory's.
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
		if cs, err := reader.Contacts(ctx, admin, []int64{2}); err != nil || len(cs) != 1 || cs[0].FirstName == "Edited" {
			t.Fatalf("Contacts: %+v, %v", cs, err)
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
		if _, err := first.UpdateContact(ctx, admin, crmaccess.Contact{ID: 2, FirstName: "Edited", Tags: []string{"q"}}); err != nil {
			t.Fatal(err)
		}
		// Writes of access after them: they must not keep what those
		// changed hidden, and a contact's new access shows at once.
		if _, err := first.SetOpportunityAccess(ctx, alice, 1, true, []string{bob}); err != nil {
			t.Fatal(err)
		}
		shared, err := first.SetContactAccess(ctx, admin, 2, true, []string{bob})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := reader.Contacts(crmaccess.WithToken(ctx, shared.Token), admin, []int64{2})
		if err != nil || len(cs) != 1 || cs[0].FirstName != "Edited" || !slices.Equal(cs[0].Tags, []string{"q"}) ||
			cs[0].ShareType != crmaccess.ShareNone || !slices.Contains(cs[0].ManagerList, bob) {
			t.Fatalf("Contacts with the last write's token: %+v, %v", cs, err)
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

// An instance that follows the log reads a user, a stage or a contact from
// the database once; again, it answers from memory.
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
		if _, err := svc.Contacts(ctx, admin, []int64{1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	if r := p.in.Stop(); r.Calls != 0 {
		t.Fatalf("the second read made %d database calls: %v", r.Calls, r.Log)
	}
}
