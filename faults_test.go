package crmaccess_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
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
	in    *faultdb.Injector
	st    *storage.Store
	path  string
	close func(*testing.T) // closes the service and its database
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
	return &faultPortal{Service: svc, in: in, st: st, path: path, close: func(t *testing.T) {
		t.Helper()
		svc.Close()
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := sqlDB.Close(); err != nil { // checkpoints the WAL into the file
			t.Fatal(err)
		}
	}}
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
	tables := dbTables(t, path)
	st, err := storage.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("reopen %s: %v", path, err)
	}
	defer st.Close()
	svc := serviceOver(t, st)
	return storedState{Tables: tables, Fresh: memoryState(t, svc)}
}

// dbTables is every row of every table of the database file. Two files
// with the same rows load the same memory, so a run that must leave the
// tables as another did compares these alone.
func dbTables(t *testing.T, path string) dbdump.State {
	t.Helper()
	tables, err := dbdump.File(context.Background(), path)
	if err != nil {
		t.Fatalf("dump %s: %v", path, err)
	}
	// When a migration ran differs between two files made a second apart.
	for i, l := range tables["crm_schema_migrations"] {
		tables["crm_schema_migrations"][i] = appliedSec.ReplaceAllString(l, "applied_sec=…")
	}
	return tables
}

func sameTables(t *testing.T, what string, want, got dbdump.State) {
	t.Helper()
	if d := dbdump.Diff(want, got, 10); d != "" {
		t.Fatalf("%s: the database differs:\n%s", what, d)
	}
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
// clean run.
//
// The store keeps prepared statements (SQLite's statement cache), so the
// calls a write makes depend on what ran before on the same store: every
// run is made on a store opened afresh and brought to the same point, so
// that call k of the run is call k of the clean run. Each path is run
// twice over: cold (the statements the write runs are not cached yet: it
// runs them plainly, and they are prepared after its transaction ends) and
// warm (a first try of the same write, failed at its last call before
// COMMIT, left its statements prepared: the write runs cached statements,
// prepared again on a connection that lacks them). A failure of a
// preparation after the transaction has ended leaves the write done: the
// statement is only left out of the cache (the default tier fails the
// first such preparation of a run, the long tier each). The long tier runs
// every path again with every statement split into two-row chunks
// (storage.Options.BatchSize 2).
func TestEveryFaultLeavesNoTrace(t *testing.T) {
	t.Parallel() // a long test of its own: it overlaps the others of its kind on the second core
	var mu sync.Mutex
	total, runs := 0, 0
	batches := []int{0}
	if longTier() {
		batches = append(batches, 2) // every statement split into chunks of two rows
	}
	// The paths run in parallel: each run waits mostly on opening and
	// syncing its own database file.
	t.Run("paths", func(t *testing.T) {
		for _, batch := range batches {
			for _, wp := range writePaths {
				t.Run(fmt.Sprintf("%s/batch=%d", wp.name, batch), func(t *testing.T) {
					t.Parallel()
					n := testFaults(t, wp, &storage.Options{BatchSize: batch})
					mu.Lock()
					total += n
					runs++
					mu.Unlock()
				})
			}
		}
	})
	t.Logf("faults: %d runs of %d write paths, cold and warm, %d faults injected: each an EINTERNAL error with no trace in the database or memory, or (a failed COMMIT, retried; a failed preparation after the COMMIT) the write done whole",
		runs, len(writePaths), total)
}

// faultTemplate returns a function opening a fault portal on a fresh copy
// of one file: the test portal imported (or, with empty, an empty store),
// the file closed. Every run of a fault test starts from such a copy.
func faultTemplate(t *testing.T, empty bool, opts *storage.Options) func(name string) *faultPortal {
	t.Helper()
	dir := t.TempDir()
	template := filepath.Join(dir, "template.db")
	tp := openFaultPortal(t, template, opts)
	if !empty {
		if _, err := tp.Import(context.Background(), portalFixture(t)); err != nil {
			t.Fatalf("Import: %v", err)
		}
	}
	tp.close(t)
	image, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	return func(name string) *faultPortal {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, image, 0o600); err != nil {
			t.Fatal(err)
		}
		return openFaultPortal(t, path, opts)
	}
}

// testFaults fails each call of the write path in turn, cold and warm, and
// returns how many faults it injected.
func testFaults(t *testing.T, wp writePath, opts *storage.Options) int {
	ctx := context.Background()
	fx := portalFixture(t)
	fresh := faultTemplate(t, wp.empty, opts)

	// A clean run counts the calls and gives the state after.
	clean := fresh("clean.db")
	clean.in.Count()
	if err := wp.run(ctx, clean.Service, fx); err != nil {
		t.Fatalf("clean run: %v", err)
	}
	coldReport := clean.in.Stop()
	if coldReport.Calls == 0 {
		t.Fatal("the clean run made no database call")
	}
	wantAfter := faultStates{memoryState(t, clean.Service), dbState(t, clean.path)}
	p := fresh("before.db")
	before := faultStates{memoryState(t, p.Service), dbState(t, p.path)}

	commit := slices.IndexFunc(coldReport.Log, func(c faultdb.Call) bool { return c.Op == faultdb.OpCommit })
	if commit < 1 {
		t.Fatalf("the clean run made no COMMIT: %v", coldReport.Log)
	}
	// warm brings a fresh store to where the write's statements are
	// cached: the same write, failed at its last call before COMMIT, ran
	// them (and left no trace).
	warm := func(name string) *faultPortal {
		p := fresh(name)
		p.in.FailAt(commit) // call commit+1 is the COMMIT
		err := wp.run(ctx, p.Service, fx)
		if r := p.in.Stop(); r.Fired == nil || crmaccess.ErrorCode(err) != crmaccess.EINTERNAL {
			t.Fatalf("warming up: fault %v, error %v", r.Fired, err)
		}
		return p
	}
	faults := 0
	for _, mode := range []struct {
		name  string
		setup func(name string) *faultPortal
	}{{"cold", fresh}, {"warm", warm}} {
		p := mode.setup(mode.name + "-clean.db")
		p.in.Count()
		if err := wp.run(ctx, p.Service, fx); err != nil {
			t.Fatalf("%s clean run: %v", mode.name, err)
		}
		report := p.in.Stop()
		sameMemory(t, mode.name+" clean run: memory", wantAfter.memory, memoryState(t, p.Service))
		sameStored(t, mode.name+" clean run", wantAfter.stored, dbState(t, p.path))
		faults += runFaults(t, mode.name, wp, fx, report, mode.setup, before, wantAfter)
		var ops []string
		for _, c := range report.Log {
			ops = append(ops, string(c.Op))
		}
		t.Logf("%s, batch size %d, %s: %d calls (%s)", wp.name, opts.BatchSize, mode.name, report.Calls, strings.Join(ops, " "))
	}
	return faults
}

// faultStates are the memory of a service and what its database holds.
type faultStates struct {
	memory serviceState
	stored storedState
}

// runFaults fails each call of report in a run of its own, on a store set
// up afresh, and returns how many faults it injected.
func runFaults(t *testing.T, mode string, wp writePath, fx *crmaccess.DataSet, report faultdb.Report,
	setup func(name string) *faultPortal, before, wantAfter faultStates) int {
	ctx := context.Background()
	commit := slices.IndexFunc(report.Log, func(c faultdb.Call) bool { return c.Op == faultdb.OpCommit })
	var failed *faultPortal // the last portal whose write failed
	injected := 0
	for k := 1; k <= report.Calls; k++ {
		if commit >= 0 && k-1 > commit+1 && !longTier() {
			// The calls after the first one past the COMMIT prepare more
			// statements for the cache, outside the transaction, the same
			// way: the long tier fails each of them.
			break
		}
		p := setup(fmt.Sprintf("%s-%d.db", mode, k))
		p.in.FailAt(k)
		err := wp.run(ctx, p.Service, fx)
		r := p.in.Stop()
		what := fmt.Sprintf("%s: fault at call %d of %d (%s %s)", mode, k, report.Calls, report.Log[k-1].Op, report.Log[k-1].Query)
		if r.Fired == nil {
			t.Fatalf("%s: not injected; the call made %d calls", what, r.Calls)
		}
		injected++
		if r.Fired.Call != report.Log[k-1] {
			t.Fatalf("%s: injected at %s %s instead: the run's calls are not the clean run's", what, r.Fired.Call.Op, r.Fired.Call.Query)
		}
		switch {
		case r.Fired.Call.Op == faultdb.OpCommit, commit >= 0 && k-1 > commit:
			// A failed COMMIT leaves the outcome unknown to the library: it
			// catches up from the log and tries again, so the write lands
			// whole, in the database and in memory. A call after the
			// COMMIT prepares a statement for the cache: the write is done.
			if err != nil {
				t.Fatalf("%s: error %v, want the write done", what, err)
			}
			sameMemory(t, what+": memory after the write", wantAfter.memory, memoryState(t, p.Service))
			sameTables(t, what+": the write", wantAfter.stored.Tables, dbTables(t, p.path))
			continue
		}
		if code := crmaccess.ErrorCode(err); code != crmaccess.EINTERNAL {
			t.Fatalf("%s: error %v (code %q), want EINTERNAL", what, err, code)
		}
		if msg := crmaccess.ErrorMessage(err); msg != "internal error" {
			t.Fatalf("%s: message %q shows detail", what, msg)
		}
		sameMemory(t, what+": memory of the failed service", before.memory, memoryState(t, p.Service))
		sameTables(t, what, before.stored.Tables, dbTables(t, p.path))
		failed = p
	}
	if failed == nil {
		t.Fatalf("%s: no fault failed the write", mode)
	}
	// Nothing is poisoned: the same write now succeeds, as the clean run did.
	if err := wp.run(ctx, failed.Service, fx); err != nil {
		t.Fatalf("%s: after a fault, the write without a fault: %v", mode, err)
	}
	sameMemory(t, mode+": after a fault, memory of the retried write", wantAfter.memory, memoryState(t, failed.Service))
	sameStored(t, mode+": after a fault, the retried write", wantAfter.stored, dbState(t, failed.path))
	return injected
}

// TestWritesRunPreparedStatements: once a store has made a kind of write,
// the same write again compiles no SQL: every statement it runs was
// prepared before (the store's statement cache on SQLite), and it prepares
// none; the same holds for reads. The calls each write makes are bounded, so that a statement added
// to a hot write shows here.
func TestWritesRunPreparedStatements(t *testing.T) {
	ctx := context.Background()
	p := openFaultPortal(t, filepath.Join(t.TempDir(), "cache.db"), nil)
	if _, err := p.Import(ctx, portalFixture(t)); err != nil {
		t.Fatal(err)
	}
	writes := []struct {
		name     string
		maxCalls int // BEGIN to COMMIT
		run      func(i int) error
	}{
		{"CreateOpportunity", 9, func(i int) error {
			_, err := p.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: int64(100 + i), Title: "new", ContactID: 1,
				StageID: 30}, i%2 == 0, []string{bob})
			return err
		}},
		{"SetOpportunityAccess", 11, func(i int) error {
			_, err := p.SetOpportunityAccess(ctx, alice, 1, true, [][]string{{carol}, {dave}}[i%2])
			return err
		}},
		{"DeleteOpportunity", 11, func(i int) error {
			_, err := p.DeleteOpportunity(ctx, dave, int64(100+i))
			return err
		}},
	}
	for i := range 3 {
		for _, w := range writes {
			if i == 2 {
				p.in.Count()
			}
			if err := w.run(i); err != nil {
				t.Fatalf("%s %d: %v", w.name, i, err)
			}
			if i < 2 {
				continue
			}
			r := p.in.Stop()
			var ops []string
			for _, c := range r.Log {
				ops = append(ops, string(c.Op))
				switch c.Op {
				case faultdb.OpPrepare:
					t.Errorf("%s, a third time: prepared %s", w.name, c.Query)
				case faultdb.OpExec, faultdb.OpQuery:
					if !c.Prepared {
						t.Errorf("%s, a third time: compiled %s", w.name, c.Query)
					}
				}
			}
			if r.Calls > w.maxCalls {
				t.Errorf("%s: %d calls, more than %d (%s)", w.name, r.Calls, w.maxCalls, strings.Join(ops, " "))
			}
			t.Logf("%s: %d calls (%s)", w.name, r.Calls, strings.Join(ops, " "))
		}
	}
	// Reads outside a write: the third time, all prepared before.
	for i := range 3 {
		if i == 2 {
			p.in.Count()
		}
		if _, err := p.Opportunity(ctx, admin, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Contacts(ctx, admin, []int64{1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	r := p.in.Stop()
	if r.Calls == 0 {
		t.Fatal("the reads made no database call")
	}
	for _, c := range r.Log {
		if c.Op == faultdb.OpPrepare || !c.Prepared {
			t.Errorf("reads, a third time: %s %s (prepared before: %v)", c.Op, c.Query, c.Prepared)
		}
	}
}
