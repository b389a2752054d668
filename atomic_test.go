package crmaccess_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// failingStore fails every commit, as a database that went away would.
type failingStore struct{ crmaccess.Store }

func (failingStore) Commit(context.Context, *crmaccess.Batch) error {
	return errors.New("disk I/O error")
}

func TestFailedCommitChangesNothingInMemoryOrDatabase(t *testing.T) {
	p := newPortal(t)
	ctx := t.Context()
	before := decisions(t, p.Service)
	broken := serviceOver(t, failingStore{p.store})
	_, err := broken.SetOpportunityAccess(ctx, alice, 1, true, []string{dave})
	wantCode(t, err, crmaccess.EINTERNAL)
	if msg := crmaccess.ErrorMessage(err); msg != "internal error" {
		t.Errorf("message %q shows detail", msg)
	}
	_, err = broken.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{}, true, []string{bob})
	wantCode(t, err, crmaccess.EINTERNAL)
	wantCode(t, broken.GrantAdmin(ctx, admin, dave), crmaccess.EINTERNAL)
	if !mapsEqual(before, decisions(t, broken)) {
		t.Error("the failed writes changed the failing service's memory")
	}
	// The database is unchanged: a service opened on it now decides as before.
	if !mapsEqual(before, decisions(t, openPortal(t, p.path).Service)) {
		t.Error("the failed writes reached the database")
	}
}

// When the database refuses part of a batch, none of it is written and memory
// stays as it was.
func TestConflictingCommitLeavesNoTrace(t *testing.T) {
	p := newPortal(t)
	ctx := t.Context()
	// Another writer removed dave from opportunity 2 behind this service's back.
	gone := crmaccess.Rule{PType: "g", V0: "opportunity:2", V1: dave}
	if err := p.store.Commit(ctx, &crmaccess.Batch{RemoveRules: []crmaccess.Rule{gone}}); err != nil {
		t.Fatal(err)
	}
	before := decisions(t, p.Service)
	_, err := p.SetOpportunityAccess(ctx, alice, 2, true, []string{bob})
	wantCode(t, err, crmaccess.ECONFLICT)
	if !mapsEqual(before, decisions(t, p.Service)) {
		t.Error("memory changed after a refused commit")
	}
	if ch, err := p.Changes(ctx, crmaccess.OpportunityRef(2)); err != nil || len(ch) != 0 {
		t.Errorf("change records after a refused commit: %v %v", ch, err)
	}
	reopened := decisions(t, openPortal(t, p.path).Service)
	if reopened[bob+" opportunity:2 read"].Allowed {
		t.Error("bob was added in the database by a refused commit")
	}
}
