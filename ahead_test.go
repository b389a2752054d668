package crmaccess_test

import (
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// TestWritesDecidedAheadOfTheLock covers, on PostgreSQL, the writes of one
// record decided on memory before the writer lock and sent in one round
// trip (ahead.go): they are made that way when memory holds the committed
// state, and when it does not (another instance wrote meanwhile, a record
// memory cannot know of), they are made the usual way, with the answer a
// write decided under the lock gives, and memory catches up.
func TestWritesDecidedAheadOfTheLock(t *testing.T) {
	postgresDSN(t)
	ctx := t.Context()
	p := newPortalOn(t, testportal.PostgreSQL)
	// An instance that does not follow the log: it learns of the other's
	// writes only when a write of its own catches up.
	behind := serviceWith(t, p.place.OpenOn(t, p.place.Gorm(t)), &crmaccess.Options{PollInterval: -1})
	counts := func(s *crmaccess.Service) [2]int64 {
		made, missed := crmaccess.AheadWrites(s)
		return [2]int64{made, missed}
	}
	expect := func(what string, s *crmaccess.Service, before [2]int64, made, missed int64) {
		t.Helper()
		if got := counts(s); got != [2]int64{before[0] + made, before[1] + missed} {
			t.Errorf("%s: %d made ahead and %d made the usual way after trying, want %d and %d", what,
				got[0]-before[0], got[1]-before[1], made, missed)
		}
	}
	opportunity := func(id, contact int64) crmaccess.Opportunity {
		return crmaccess.Opportunity{ID: id, Title: "deal", ContactID: contact, StageID: 30, Members: []int64{2}, Tags: []string{"t"}}
	}

	// Memory holds the committed state: made ahead, and followed.
	c := counts(p.Service)
	if _, err := p.CreateOpportunity(ctx, alice, opportunity(10, 1), true, []string{bob}); err != nil {
		t.Fatal(err)
	}
	ref := crmaccess.OpportunityRef(10)
	if !mustCheck(t, p.Service, bob, ref, read).Allowed || mustCheck(t, p.Service, carol, ref, read).Allowed {
		t.Error("after the create made ahead: bob (listed) may not read it, or carol (not listed) may")
	}
	// An access change shows the record's row in its answer: the
	// directory, emptied by the create, does not hold it, and it comes
	// back with the write.
	res, err := p.SetOpportunityAccess(ctx, alice, 10, true, []string{carol})
	if err != nil {
		t.Fatal(err)
	}
	if res.Title != "deal" || res.ContactID != 1 || res.StageID != 30 || !slices.Equal(res.Members, []int64{2}) ||
		!slices.Equal(res.Tags, []string{"t"}) || res.CreateBy != alice || !res.IsPrivate ||
		!slices.Equal(res.AccessList, []string{alice, carol}) || !res.Changed || !res.CanEdit {
		t.Errorf("the access change made ahead answers %+v", res)
	}
	if mustCheck(t, p.Service, bob, ref, read).Allowed || !mustCheck(t, p.Service, carol, ref, read).Allowed {
		t.Error("after the access change made ahead: bob may still read it, or carol may not")
	}
	expect("a create and an access change on the committed state", p.Service, c, 2, 0)

	// The other instance is behind: each write of its own finds the head
	// moved, and is made the usual way.
	c = counts(behind)
	_, err = behind.CreateOpportunity(ctx, alice, opportunity(10, 1), false, nil)
	wantCode(t, err, crmaccess.ECONFLICT)
	expect("a create of an id taken meanwhile", behind, c, 0, 1)
	if !mustCheck(t, behind, carol, ref, read).Allowed {
		t.Error("the instance behind has not caught up with the access change")
	}
	if _, err := p.DeleteContact(ctx, admin, 6); err != nil {
		t.Fatal(err)
	}
	c = counts(behind)
	_, err = behind.CreateOpportunity(ctx, alice, opportunity(11, 6), false, nil)
	wantCode(t, err, crmaccess.EINVALID)
	expect("a create naming a contact deleted meanwhile", behind, c, 0, 1)
	c = counts(behind)
	if _, err := behind.DeleteOpportunity(ctx, alice, 10); err != nil {
		t.Fatal(err)
	}
	expect("a delete once caught up", behind, c, 1, 0)

	// A record memory cannot know of: the guess is wrong, the database
	// says so, and the write is refused as under the lock.
	c = counts(p.Service)
	_, err = p.CreateOpportunity(ctx, alice, opportunity(12, 99), false, nil)
	wantCode(t, err, crmaccess.EINVALID)
	expect("a create naming a contact that does not exist", p.Service, c, 0, 1)
	db := p.place.Gorm(t)
	if err := db.Exec(`INSERT INTO ` + p.place.Tables.TablePrefix + `opportunities (id, title, description, create_by, responsible,
		contact_id, stage_id, success_probability, expected_close_sec, expected_close_nsec, created_sec, created_nsec, is_private)
		VALUES (13, 'stored without rules', '', '', '', 0, 0, 0, 0, 0, 0, 0, true)`).Error; err != nil {
		t.Fatal(err)
	}
	c = counts(p.Service)
	_, err = p.CreateOpportunity(ctx, alice, opportunity(13, 1), false, nil)
	wantCode(t, err, crmaccess.ECONFLICT)
	expect("a create of an id stored without rules", p.Service, c, 0, 1)

	// Both instances, and a fresh one, decide alike.
	users := []string{admin, alice, bob, carol, dave}
	refs := []crmaccess.Ref{crmaccess.OpportunityRef(1), ref, crmaccess.OpportunityRef(11), crmaccess.OpportunityRef(12)}
	want := decisionsOf(t, p.reopen(t).Service, users, refs, "unauthorized")
	sameMemory(t, "the writer", serviceState{Decisions: want}, serviceState{Decisions: decisionsOf(t, p.Service, users, refs, "unauthorized")})
	sameMemory(t, "the instance behind", serviceState{Decisions: want}, serviceState{Decisions: decisionsOf(t, behind, users, refs, "unauthorized")})
}
