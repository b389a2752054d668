package crmaccess_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// TestPipelinedWriteFailuresLeaveNoTrace fails, on PostgreSQL, each table
// a write of one statement touches (a trigger raising an error before the
// statement's INSERT, UPDATE or DELETE), and then its COMMIT (a deferred
// trigger): the write goes with its COMMIT in one round trip, and the
// COMMIT must not commit what the failed statement left. Each failed write
// leaves memory and the database as they were (a service opened afresh
// agrees); the write then succeeds. Each write is tried first as decided
// ahead of the writer lock (ahead.go), then the usual way: the faults fail
// both.
func TestPipelinedWriteFailuresLeaveNoTrace(t *testing.T) {
	if testportal.Databases()[len(testportal.Databases())-1] != testportal.PostgreSQL {
		t.Skip("CRMACCESS_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	p := newPortalOn(t, testportal.PostgreSQL)
	db := testdb.Postgres(t)
	tables := p.place.Tables
	prefix := tables.TablePrefix
	fail := prefix + "fail"
	if err := db.Exec(`CREATE FUNCTION ` + fail + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$`).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(`DROP FUNCTION IF EXISTS ` + fail + `() CASCADE`) })
	refs := []crmaccess.Ref{crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(3), crmaccess.OpportunityRef(10)}
	users := []string{admin, alice, bob, carol, dave}
	// commitFails fails the COMMIT: a deferred trigger on the log entry.
	const commitFails = "COMMIT"
	writes := []struct {
		name  string
		write func() error
		fails []string // "OPERATION table" the write's statement runs, or commitFails
	}{
		{"create an opportunity", func() error {
			_, err := p.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Title: "new", ContactID: 1, StageID: 30,
				Members: []int64{2}, Tags: []string{"a"}}, true, []string{bob})
			return err
		}, []string{"INSERT " + prefix + "opportunities", "INSERT " + prefix + "opportunity_members",
			"INSERT " + prefix + "opportunity_tags", "INSERT " + tables.RuleTable, "UPDATE " + prefix + "record_counts",
			"INSERT " + prefix + "log", "INSERT " + prefix + "changes", commitFails}},
		{"edit it", func() error {
			_, err := p.UpdateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Title: "edited", Responsible: bob, ContactID: 1,
				StageID: 30, Members: []int64{3}, Tags: []string{"b"}})
			return err
		}, []string{"UPDATE " + prefix + "opportunities", "DELETE " + prefix + "opportunity_members", "INSERT " + prefix + "opportunity_members",
			"INSERT " + prefix + "opportunity_tags", "DELETE " + prefix + "opportunity_tags", "DELETE " + tables.RuleTable,
			"INSERT " + tables.RuleTable, "INSERT " + prefix + "log", "INSERT " + prefix + "changes", commitFails}},
		{"change an opportunity's access", func() error {
			_, err := p.SetOpportunityAccess(ctx, alice, 1, true, []string{carol})
			return err
		}, []string{"UPDATE " + prefix + "opportunities", "INSERT " + tables.RuleTable, "INSERT " + prefix + "log",
			"INSERT " + prefix + "changes", commitFails}},
		{"delete an opportunity", func() error {
			_, err := p.DeleteOpportunity(ctx, alice, 10)
			return err
		}, []string{"DELETE " + prefix + "opportunity_members", "DELETE " + prefix + "opportunity_tags",
			"DELETE " + prefix + "opportunities", "DELETE " + tables.RuleTable, "UPDATE " + prefix + "record_counts",
			"INSERT " + prefix + "log", "INSERT " + prefix + "changes", commitFails}},
	}
	for _, w := range writes {
		made, missed := crmaccess.AheadWrites(p.Service)
		for _, op := range w.fails {
			what := w.name + " with " + op + " failing"
			before := memoryState(t, p.Service)
			decided := decisionsOf(t, p.Service, users, refs, "unauthorized")
			head := logHead(t, db, tables)
			verb, table, _ := strings.Cut(op, " ")
			trigger := `CREATE TRIGGER ` + fail + ` BEFORE ` + verb + ` ON ` + table + ` FOR EACH STATEMENT EXECUTE FUNCTION ` + fail + `()`
			if op == commitFails {
				table = prefix + "log"
				trigger = `CREATE CONSTRAINT TRIGGER ` + fail + ` AFTER INSERT ON ` + table +
					` DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ` + fail + `()`
			}
			if err := db.Exec(trigger).Error; err != nil {
				t.Fatal(err)
			}
			err := w.write()
			if err := db.Exec(`DROP TRIGGER ` + fail + ` ON ` + table).Error; err != nil {
				t.Fatal(err)
			}
			if err == nil {
				t.Fatalf("%s: the write succeeded", what)
			}
			if got := logHead(t, db, tables); got != head {
				t.Fatalf("%s: the log went from %d to %d", what, head, got)
			}
			sameMemory(t, what+": memory", before, memoryState(t, p.Service))
			sameMemory(t, what+": decisions", serviceState{Decisions: decided}, serviceState{Decisions: decisionsOf(t, p.Service, users, refs, "unauthorized")})
			fresh := p.reopen(t)
			sameMemory(t, what+": a fresh service", serviceState{Decisions: decided},
				serviceState{Decisions: decisionsOf(t, fresh.Service, users, refs, "unauthorized")})
		}
		// The write is first decided ahead of the writer lock and sent in
		// one round trip (ahead.go): the faults failed that path too.
		if m, n := crmaccess.AheadWrites(p.Service); m != made || n == missed {
			t.Errorf("%s: %d writes made ahead of the lock and %d tried so under the faults, want 0 and some", w.name, m-made, n-missed)
		}
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
	}
}
