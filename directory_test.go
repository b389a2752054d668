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

// An instance that follows the log reads a user, a stage, a contact or an
// opportunity from the database once; again, it answers from memory.
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
		if _, err := svc.Opportunity(ctx, alice, 1); err != nil {
			t.Fatal(err)
		}
	}
	if r := p.in.Stop(); r.Calls != 0 {
		t.Fatalf("the second read made %d database calls: %v", r.Calls, r.Log)
	}
}

// An opportunity an instance has read is answered again as the latest
// write left it: after another instance renames it, a write on the first
// instance (which decides under the writer lock, on the committed head)
// answers with the new title, and a read with the rename's token too; its
// access is always memory's.
func TestOpportunityRowsFollowOtherInstances(t *testing.T) {
	eachSharedDatabase(t, func(t *testing.T, db sharedDB) {
		ctx := t.Context()
		first := instance(t, db, 0)
		if _, err := first.Import(ctx, portalFixture(t)); err != nil {
			t.Fatal(err)
		}
		// The reader learns of others' writes by writing, by a token, or
		// at its next poll, an hour away.
		reader := instance(t, db, time.Hour)
		read, err := reader.Opportunity(ctx, alice, 1)
		if err != nil {
			t.Fatal(err)
		}
		if read.Title == "Renamed deal" {
			t.Fatal("the fixture's opportunity 1 is already renamed")
		}
		renamed := read.Opportunity
		renamed.Title, renamed.Tags = "Renamed deal", []string{"renamed"}
		if _, err := first.UpdateOpportunity(ctx, alice, renamed); err != nil {
			t.Fatal(err)
		}
		res, err := reader.SetOpportunityAccess(ctx, alice, 1, true, []string{bob})
		if err != nil {
			t.Fatal(err)
		}
		if res.Title != "Renamed deal" || !slices.Equal(res.Tags, []string{"renamed"}) || !res.IsPrivate {
			t.Fatalf("a write after another instance's rename answers %+v", res.Opportunity)
		}
		// Reads of the reader: once from the store, then from what it
		// keeps; the access comes from memory either way.
		for range 2 {
			got, err := reader.Opportunity(ctx, alice, 1)
			if err != nil || got.Title != "Renamed deal" || !got.IsPrivate || !slices.Contains(got.AccessList, bob) {
				t.Fatalf("Opportunity after the reader's own write: %+v, %v", got, err)
			}
		}
		again, err := first.UpdateOpportunity(ctx, alice, func() crmaccess.Opportunity { o := renamed; o.Title = "Twice renamed"; return o }())
		if err != nil {
			t.Fatal(err)
		}
		public, err := first.SetOpportunityAccess(ctx, alice, 1, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []crmaccess.Token{again.Token, public.Token} {
			got, err := reader.Opportunity(crmaccess.WithToken(ctx, tok), alice, 1)
			if err != nil || got.Title != "Twice renamed" {
				t.Fatalf("Opportunity with token %s: %+v, %v", tok, got, err)
			}
			if tok == public.Token && (got.IsPrivate || len(got.AccessList) != 0) {
				t.Fatalf("Opportunity with the last write's token is still private: %+v", got)
			}
		}
	})
}
