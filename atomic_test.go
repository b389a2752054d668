package crmaccess_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// failingStore fails every commit, as a database that went away would.
type failingStore struct{ crmaccess.Store }

func (s failingStore) Update(ctx context.Context, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, error) {
	return s.Store.Update(ctx, func(ctx context.Context, tx crmaccess.Reader, head int64) (*crmaccess.Batch, error) {
		if _, err := build(ctx, tx, head); err != nil {
			return nil, err
		}
		return nil, errors.New("disk I/O error")
	})
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
	_, err = broken.GrantAdmin(ctx, admin, dave)
	wantCode(t, err, crmaccess.EINTERNAL)
	if !mapsEqual(before, decisions(t, broken)) {
		t.Error("the failed writes changed the failing service's memory")
	}
	// The database is unchanged: a service opened on it now decides as before.
	if !mapsEqual(before, decisions(t, openPortal(t, p.path).Service)) {
		t.Error("the failed writes reached the database")
	}
}

// When a write's diff does not fit the database (a rule changed behind
// the log's back), the refused commit leaves no trace; the service reloads
// the whole state and decides again, so memory and database agree and the
// change record starts from what the database held.
func TestConflictingCommitReloadsAndDecidesAgain(t *testing.T) {
	p := newPortal(t)
	ctx := t.Context()
	// Another writer removed dave from opportunity 2 without a change record.
	gone := crmaccess.Rule{Type: "g", From: "opportunity:2", To: dave}
	if err := p.store.Commit(ctx, &crmaccess.Batch{RemoveRules: []crmaccess.Rule{gone}}); err != nil {
		t.Fatal(err)
	}
	if !mustCheck(t, p.Service, dave, crmaccess.OpportunityRef(2), read).Allowed {
		t.Fatal("the write behind the log's back reached memory: this test needs memory to be stale")
	}
	res, err := p.SetOpportunityAccess(ctx, alice, 2, true, []string{bob})
	if err != nil {
		t.Fatalf("SetOpportunityAccess: %v", err)
	}
	if !slices.Equal(res.AccessList, []string{alice, bob}) {
		t.Errorf("access list %v, want [alice bob]", res.AccessList)
	}
	if !mapsEqual(decisions(t, p.Service), decisions(t, openPortal(t, p.path).Service)) {
		t.Error("memory and the database disagree after the reload")
	}
	ch, err := p.Changes(ctx, crmaccess.OpportunityRef(2))
	if err != nil || len(ch) != 2 {
		t.Fatalf("change records: %+v %v, want the import's and the write's", ch, err)
	}
	if len(ch[1].Before.List) != 0 {
		t.Errorf("the write's change starts from %v, want the database's empty list", ch[1].Before.List)
	}
}
