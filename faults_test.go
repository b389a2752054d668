package crmaccess_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/dbdump"
	"github.com/crmaccess/crmaccess/internal/faultdb"
	"github.com/crmaccess/crmaccess/storage"
)

// faultPortal is a service whose database calls pass through faultdb.
type faultPortal struct {
	*crmaccess.Service
	in   *faultdb.Injector
	path string
}

// openFaultPortal opens a service over the SQLite file at path through a
// new faultdb driver, with the connection parameters of storage.Open.
func openFaultPortal(t *testing.T, path string, opts *storage.Options) *faultPortal {
	t.Helper()
	ctx := context.Background()
	in := faultdb.New()
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: in.DriverName(), DSN: storage.SQLiteDSN(path)}),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	st, err := storage.New(ctx, db, opts)
	if err != nil {
		t.Fatalf("storage.New: %v", err)
	}
	// No following in the background: its reads of the log would take the
	// faults meant for the write (the write still catches up itself).
	svc := serviceWith(t, st, &crmaccess.Options{Now: func() time.Time { return testNow }, PollInterval: -1})
	return &faultPortal{Service: svc, in: in, path: path}
}

// serviceState is what a service holds in memory: every decision of the
// test portal's users on its records, and each record's access as an admin
// reads it (when the service has an admin).
type serviceState struct {
	Decisions map[string]crmaccess.Decision
	Access    map[string]string
}

func memoryState(t *testing.T, s *crmaccess.Service) serviceState {
	t.Helper()
	ctx := context.Background()
	st := serviceState{Decisions: decisions(t, s), Access: map[string]string{}}
	for _, id := range []int64{1, 2, 3} {
		if o, err := s.Opportunity(ctx, admin, id); err == nil {
			st.Access[fmt.Sprint("opportunity ", id)] = fmt.Sprint(o.IsPrivate, o.AccessList, o.CanEdit)
		} else {
			st.Access[fmt.Sprint("opportunity ", id)] = crmaccess.ErrorCode(err)
		}
	}
	cs, err := s.Contacts(ctx, admin, []int64{1, 2, 3, 4, 5, 6})
	if code := crmaccess.ErrorCode(err); code == crmaccess.EUNAUTHORIZED {
		st.Access["contacts"] = code // an empty store: admin is no user yet
	} else if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		st.Access[fmt.Sprint("contact ", c.ID)] = fmt.Sprint(c.ShareType, c.ManagerList, c.CanEdit, c.CanDelete)
	}
	for _, u := range []string{admin, alice, bob, carol, dave} {
		ok, err := s.IsAdmin(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		st.Access["admin "+u] = fmt.Sprint(ok)
	}
	return st
}

var appliedSec = regexp.MustCompile(`applied_sec=\d+`)

// storedState is what the database file holds: every row of every table,
// and the memory of a service opened afresh on it.
type storedState struct {
	Tables dbdump.State
	Fresh  serviceState
}

func dbState(t *testing.T, path string) storedState {
	t.Helper()
	tables, err := dbdump.File(context.Background(), path)
	if err != nil {
		t.Fatalf("dump %s: %v", path, err)
	}
	// When a migration ran differs between two files made a second apart.
	for i, l := range tables["crm_schema_migrations"] {
		tables["crm_schema_migrations"][i] = appliedSec.ReplaceAllString(l, "applied_sec=…")
	}
	st, err := storage.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("reopen %s: %v", path, err)
	}
	defer st.Close()
	svc := serviceOver(t, st)
	return storedState{Tables: tables, Fresh: memoryState(t, svc)}
}

func diffMaps[V comparable](a, b map[string]V) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if bv, ok := b[k]; !ok || bv != a[k] {
			out = append(out, fmt.Sprintf("%s: %v → %v", k, a[k], bv))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%s: (none) → %v", k, v))
		}
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("… %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

func sameMemory(t *testing.T, what string, want, got serviceState) {
	t.Helper()
	if d := diffMaps(want.Decisions, got.Decisions) + diffMaps(want.Access, got.Access); d != "" {
		t.Fatalf("%s differs:\n%s", what, d)
	}
}

func sameStored(t *testing.T, what string, want, got storedState) {
	t.Helper()
	if d := dbdump.Diff(want.Tables, got.Tables, 10); d != "" {
		t.Fatalf("%s: the database differs:\n%s", what, d)
	}
	sameMemory(t, what+": a service opened on the database", want.Fresh, got.Fresh)
}

// writePath is one write of the service, run on the test portal (or, with
// empty, on an empty store).
type writePath struct {
	name  string
	empty bool
	run   func(ctx context.Context, s *crmaccess.Service, fx *crmaccess.DataSet) error
}

var writePaths = []writePath{
	{name: "SetOpportunityAccess private", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetOpportunityAccess(ctx, alice, 1, true, []string{carol, dave})
		return err
	}},
	{name: "SetOpportunityAccess public", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetOpportunityAccess(ctx, alice, 2, false, nil)
		return err
	}},
	{name: "SetOpportunityAccess new list", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetOpportunityAccess(ctx, admin, 2, true, []string{bob, carol})
		return err
	}},
	{name: "SetContactsAccess private", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{}, true, []string{bob, dave, carol})
		return err
	}},
	{name: "SetContactsAccess shared", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{}, false, nil)
		return err
	}},
	{name: "SetContactsAccess private, some skipped", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetContactsAccess(ctx, bob, crmaccess.ContactFilter{ListView: crmaccess.ListPerson}, true, []string{bob, dave})
		return err
	}},
	{name: "GrantAdmin", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.GrantAdmin(ctx, admin, dave)
		return err
	}},
	{name: "RevokeAdmin", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.RevokeAdmin(ctx, admin, admin)
		return err
	}},
	{name: "Import", empty: true, run: func(ctx context.Context, s *crmaccess.Service, fx *crmaccess.DataSet) error {
		_, err := s.Import(ctx, fx)
		return err
	}},
	{name: "SetOpportunitiesAccess", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetOpportunitiesAccess(ctx, alice, []int64{1, 2, 3}, true, []string{bob})
		return err
	}},
	{name: "SetOpportunitiesAccessByFilter", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetOpportunitiesAccessByFilter(ctx, admin, crmaccess.OpportunityFilter{}, false, nil)
		return err
	}},
	{name: "SetContactsAccessByID", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetContactsAccessByID(ctx, dave, []int64{1, 3, 5}, true, []string{bob})
		return err
	}},
	{name: "CreateOpportunity", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "new", ContactID: 1, Members: []int64{2, 3},
			StageID: 30, Tags: []string{"a", "b"}}, true, []string{bob})
		return err
	}},
	{name: "UpdateOpportunity", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.UpdateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 2, Title: "edited", Responsible: bob, Members: []int64{1}, Tags: []string{"x"}})
		return err
	}},
	{name: "DeleteOpportunity", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.DeleteOpportunity(ctx, alice, 1)
		return err
	}},
	{name: "CreateContact", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.CreateContact(ctx, bob, crmaccess.Contact{ID: 10, FirstName: "New", CompanyID: 1, Tags: []string{"t"},
			ShareType: crmaccess.ShareNone, ManagerList: []string{bob, dave}})
		return err
	}},
	{name: "UpdateContact", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.UpdateContact(ctx, admin, crmaccess.Contact{ID: 2, FirstName: "Edited", Tags: []string{"q"}})
		return err
	}},
	{name: "DeleteContact", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.DeleteContact(ctx, admin, 1) // a company with a person, main contact of nothing
		return err
	}},
	{name: "DeleteContact of an opportunity", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.DeleteContact(ctx, admin, 3) // a member of opportunity 1
		return err
	}},
	{name: "AddStage", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.AddStage(ctx, admin, crmaccess.Stage{ID: 40, Title: "new"})
		return err
	}},
	{name: "PutUser", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.PutUser(ctx, admin, crmaccess.User{ID: "aaaaaaaa-0000-0000-0000-000000000006", DisplayName: "Erin"})
		return err
	}},
	{name: "SetUserActive", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.SetUserActive(ctx, admin, dave, false)
		return err
	}},
	{name: "RemoveUser", run: func(ctx context.Context, s *crmaccess.Service, _ *crmaccess.DataSet) error {
		_, err := s.RemoveUser(ctx, admin, dave)
		return err
	}},
	{name: "Upsert", run: func(ctx context.Context, s *crmaccess.Service, fx *crmaccess.DataSet) error {
		changed := *fx
		changed.Opportunities = slices.Clone(fx.Opportunities)
		changed.Opportunities[0].Title, changed.Opportunities[0].IsPrivate, changed.Opportunities[0].AccessList = "upserted", true, []string{carol}
		changed.Contacts = append(slices.Clone(fx.Contacts), crmaccess.Contact{ID: 9, FirstName: "Up", ShareType: crmaccess.ShareReadWrite})
		_, err := s.Upsert(ctx, &changed)
		return err
	}},
}

// TestEveryFaultLeavesNoTrace runs every write path once for every database
// call it makes, failing that call: the write returns EINTERNAL, and the
// database and the memory of the failed service are as before the call.
// Then the same write, without faults, succeeds and gives the state of a
// clean run. The long tier runs every path again with every statement split
// into two-row chunks (storage.Options.BatchSize 2).
func TestEveryFaultLeavesNoTrace(t *testing.T) {
	total, runs := 0, 0
	batches := []int{0}
	if longTier() {
		batches = append(batches, 2) // every statement split into chunks of two rows
	}
	for _, batch := range batches {
		for _, wp := range writePaths {
			t.Run(fmt.Sprintf("%s/batch=%d", wp.name, batch), func(t *testing.T) {
				total += testFaults(t, wp, &storage.Options{BatchSize: batch})
				runs++
			})
		}
	}
	t.Logf("faults: %d runs of %d write paths, %d faults injected, each an EINTERNAL error with no trace in the database or memory",
		runs, len(writePaths), total)
}

// testFaults fails each call of the write path in turn and returns how many
// faults it injected.
func testFaults(t *testing.T, wp writePath, opts *storage.Options) int {
	ctx := context.Background()
	fx := portalFixture(t)
	fresh := func(name string) *faultPortal {
		p := openFaultPortal(t, filepath.Join(t.TempDir(), name), opts)
		if !wp.empty {
			if _, err := p.Import(ctx, portalFixture(t)); err != nil {
				t.Fatalf("Import: %v", err)
			}
		}
		return p
	}

	// A clean run counts the calls and gives the state after.
	clean := fresh("clean.db")
	clean.in.Count()
	if err := wp.run(ctx, clean.Service, fx); err != nil {
		t.Fatalf("clean run: %v", err)
	}
	report := clean.in.Stop()
	if report.Calls == 0 {
		t.Fatal("the clean run made no database call")
	}
	wantAfterMemory := memoryState(t, clean.Service)
	wantAfterStored := dbState(t, clean.path)

	p := fresh("faults.db")
	beforeMemory := memoryState(t, p.Service)
	beforeStored := dbState(t, p.path)
	for k := 1; k <= report.Calls; k++ {
		p.in.FailAt(k)
		err := wp.run(ctx, p.Service, fx)
		r := p.in.Stop()
		what := fmt.Sprintf("fault at call %d of %d (%s %s)", k, report.Calls, report.Log[k-1].Op, report.Log[k-1].Query)
		if r.Fired == nil {
			t.Fatalf("%s: not injected; the call made %d calls", what, r.Calls)
		}
		if r.Fired.Call.Op == faultdb.OpCommit {
			// A failed COMMIT leaves the outcome unknown to the library: it
			// catches up from the log and tries again, so the write lands
			// whole, in the database and in memory.
			if err != nil {
				t.Fatalf("%s: error %v, want the write retried", what, err)
			}
			sameMemory(t, what+": memory after the retried commit", wantAfterMemory, memoryState(t, p.Service))
			sameStored(t, what+": the retried commit", wantAfterStored, dbState(t, p.path))
			p = fresh(fmt.Sprintf("faults-%d.db", k))
			beforeMemory, beforeStored = memoryState(t, p.Service), dbState(t, p.path)
			continue
		}
		if code := crmaccess.ErrorCode(err); code != crmaccess.EINTERNAL {
			t.Fatalf("%s: error %v (code %q), want EINTERNAL", what, err, code)
		}
		if msg := crmaccess.ErrorMessage(err); msg != "internal error" {
			t.Fatalf("%s: message %q shows detail", what, msg)
		}
		sameMemory(t, what+": memory of the failed service", beforeMemory, memoryState(t, p.Service))
		sameStored(t, what, beforeStored, dbState(t, p.path))
	}
	// Nothing is poisoned: the same write now succeeds, as the clean run did.
	if err := wp.run(ctx, p.Service, fx); err != nil {
		t.Fatalf("after %d faults, the write without a fault: %v", report.Calls, err)
	}
	sameMemory(t, "after the faults, memory of the retried write", wantAfterMemory, memoryState(t, p.Service))
	sameStored(t, "after the faults, the retried write", wantAfterStored, dbState(t, p.path))
	var ops []string
	for _, c := range report.Log {
		ops = append(ops, string(c.Op))
	}
	t.Logf("%s, batch size %d: %d faults injected (%s)", wp.name, opts.BatchSize, report.Calls, strings.Join(ops, " "))
	return report.Calls
}
