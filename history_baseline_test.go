package crmaccess_test

import (
	"context"
	"path/filepath"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// TestBaselineOfAStoreWrittenBeforeTheLog builds a store that holds
// records and rules without their change records, as a store of schema 1
// (before the log) or 4 (users' status added without change records) did,
// and opens it: the first open writes one baseline entry, from which the
// point-in-time answers equal Check, and before which there is no history.
func TestBaselineOfAStoreWrittenBeforeTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	clock := newFakeClock(testNow)
	st, err := storage.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := serviceWith(t, st, &crmaccess.Options{Now: clock.now, PollInterval: -1})
	if _, err := s.Import(ctx, portalFixture(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetOpportunityAccess(ctx, alice, 2, true, []string{dave, bob}); err != nil {
		t.Fatal(err)
	}
	if start, err := st.HistoryStart(ctx); err != nil || start != 0 {
		t.Fatalf("HistoryStart of a store the log explains = %d, %v; want 0 (no baseline)", start, err)
	}
	want := liveDecisions(t, s)
	s.Close()
	st.Close()

	// Take the log away, as schema 1 had none, and the users' status out
	// of their change records, as schema 4 added it; schema 6 not yet run.
	db, err := gorm.Open(sqlite.Open(storage.SQLiteDSN(path)), quietGorm())
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DELETE FROM crm_log`,
		`UPDATE crm_changes SET log_seq = 0, before_status = '', after_status = ''`,
		`DELETE FROM crm_schema_migrations WHERE version >= 6`,
		`DROP INDEX crm_log_at_idx`, `DROP INDEX crm_log_kind_idx`, `DROP INDEX crm_changes_actor_idx`,
		`DROP INDEX crm_changes_at_idx`, `DROP INDEX crm_changes_admin_idx`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}

	p := openPortal(t, path) // the first open migrates and writes the baseline
	start, err := p.store.HistoryStart(ctx)
	if err != nil || start != 1 {
		t.Fatalf("HistoryStart = %d, %v; want 1 (the baseline entry)", start, err)
	}
	var entry *crmaccess.LogEntry
	if err := p.store.Log(ctx, 0, func(e *crmaccess.LogEntry) error { entry = e; return nil }); err != nil {
		t.Fatal(err)
	}
	// 5 users, 3 opportunities, the 5 contacts with rules (contact 4 is
	// private to nobody: no rules, nothing the log must explain).
	if entry == nil || entry.Kind != crmaccess.EntryBaseline || len(entry.Changes) != 13 {
		t.Fatalf("first entry = %+v, want the baseline with 13 change records", entry)
	}
	for _, c := range entry.Changes {
		if c.Actor != "" || !sameState(c.Before, c.After) {
			t.Errorf("baseline change %+v: want no actor, Before = After", c)
		}
	}
	diffDecisions(t, "now", liveDecisions(t, p.Service), want)
	diffDecisions(t, "at the baseline", pastDecisions(t, p.Service, crmaccess.Moment{Position: 1}), want)
	_, err = p.WhoCould(ctx, crmaccess.OpportunityRef(2), crmaccess.ActionRead, crmaccess.Moment{Time: testNow})
	wantCode(t, err, crmaccess.EINVALID) // before the baseline: no history

	// History goes on from the baseline, and a second open adds nothing.
	tok, err := p.SetOpportunityAccess(ctx, alice, 2, true, []string{dave})
	if err != nil {
		t.Fatal(err)
	}
	after := liveDecisions(t, p.Service)
	m, _ := crmaccess.MomentOf(tok.Token)
	diffDecisions(t, "after the baseline", pastDecisions(t, p.Service, m), after)
	diffDecisions(t, "at the baseline, again", pastDecisions(t, p.Service, crmaccess.Moment{Position: 1}), want)
	again := openPortal(t, path)
	if start, err := again.store.HistoryStart(ctx); err != nil || start != 1 {
		t.Fatalf("HistoryStart after a second open = %d, %v; want 1", start, err)
	}
	entries := 0
	if err := again.store.Log(ctx, 0, func(*crmaccess.LogEntry) error { entries++; return nil }); err != nil || entries != 2 {
		t.Fatalf("the log holds %d entries (%v), want 2: the second open wrote nothing", entries, err)
	}
}

func sameState(a, b crmaccess.AccessState) bool {
	return a.IsPrivate == b.IsPrivate && a.ShareType == b.ShareType && a.Creator == b.Creator &&
		a.Responsible == b.Responsible && a.Admin == b.Admin && a.Status == b.Status && len(a.List) == len(b.List)
}
