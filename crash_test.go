package crmaccess_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	gormadapter "github.com/casbin/gorm-adapter/v3"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// The crash test's environment: the child's database, and the sizes.
const (
	crashChildEnv    = "CRMACCESS_CRASH_CHILD"    // set in the child: the database file it updates
	crashContactsEnv = "CRMACCESS_CRASH_CONTACTS" // contacts in the database (default 1,000; 100,000 in the long tier)
	crashKillsEnv    = "CRMACCESS_CRASH_KILLS"    // kills (default 8; 20 in the long tier)
)

// The users of the crash data set.
const (
	crashAdmin    = "cccccccc-0000-0000-0000-000000000001"
	crashOutsider = "cccccccc-0000-0000-0000-000000000009"
)

var crashManagers = []string{ // sorted, as ParseGUIDList returns them
	"cccccccc-0000-0000-0000-000000000002",
	"cccccccc-0000-0000-0000-000000000003",
	"cccccccc-0000-0000-0000-000000000004",
}

// The child's markers on stdout.
const (
	markReady       = "crash: ready"        // the service is loaded
	markCommitStart = "crash: commit start" // Store.Commit is called
	markCommitEnd   = "crash: commit end"   // Store.Commit returned nil
	markDone        = "crash: done"         // SetContactsAccess returned
)

// crashFixture has n shared (ReadWrite) contacts without managers, an admin,
// the three managers and an outsider.
func crashFixture(n int) *crmaccess.DataSet {
	fx := &crmaccess.DataSet{Users: []crmaccess.User{{ID: crashAdmin, DisplayName: "Admin"}}, Admins: []string{crashAdmin}}
	for i, m := range crashManagers {
		fx.Users = append(fx.Users, crmaccess.User{ID: m, DisplayName: fmt.Sprint("Manager ", i+1)})
	}
	fx.Users = append(fx.Users, crmaccess.User{ID: crashOutsider, DisplayName: "Outsider"})
	shared := crmaccess.ShareReadWrite
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		fx.Contacts = append(fx.Contacts, crmaccess.Contact{
			ID: int64(i), FirstName: fmt.Sprint("First", i), LastName: fmt.Sprint("Last", i%977),
			Tags:     []string{fmt.Sprint("t", i%7)},
			Created:  created.Add(time.Duration(i) * time.Minute),
			CreateBy: crashOutsider, ShareType: shared,
		})
	}
	return fx
}

// crashStore marks the start and the end of every commit on stdout, so that
// the parent knows where its kill landed.
type crashStore struct{ crmaccess.Store }

func (s crashStore) Update(ctx context.Context, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, error) {
	os.Stdout.WriteString(markCommitStart + "\n")
	pos, err := s.Store.Update(ctx, build)
	if err == nil {
		os.Stdout.WriteString(markCommitEnd + "\n")
	}
	return pos, err
}

// TestCrashChild is the child process of TestCrashDuringFilterUpdate: it
// makes every contact private with the three managers, then waits to be
// killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as the child of TestCrashDuringFilterUpdate")
	}
	ctx := context.Background()
	svc := serviceWith(t, crashStore{testportal.SQLiteAt(path).Open(t)}, nil)
	os.Stdout.WriteString(markReady + "\n")
	if _, err := svc.SetContactsAccess(ctx, crashAdmin, crmaccess.ContactFilter{}, true, crashManagers); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString(markDone + "\n")
	time.Sleep(time.Minute) // the parent kills the process before
}

// crashRun is one run of the child.
type crashRun struct {
	marks  map[string]time.Duration // marker → when it was read, since start
	killed time.Duration            // when the kill was sent
	output string
}

// phase is where the kill landed: before the commit, during it, or after.
func (r *crashRun) phase() string {
	switch {
	case r.has(markCommitEnd):
		return "after"
	case r.has(markCommitStart):
		return "during"
	}
	return "before"
}

func (r *crashRun) has(mark string) bool { _, ok := r.marks[mark]; return ok }

// runChild starts the child on path and kills it with SIGKILL when kill says
// so: kill is called with each marker as it is read (and "" at the start)
// and returns how long after that to kill, or a negative duration to wait
// for the next marker.
func runChild(t *testing.T, path string, kill func(mark string) time.Duration) *crashRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	run := &crashRun{marks: map[string]time.Duration{}}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var all []string
	timer := time.NewTimer(time.Hour)
	arm := func(mark string) {
		if d := kill(mark); d >= 0 {
			timer.Reset(d)
		}
	}
	arm("")
	deadline := time.After(5 * time.Minute)
	var killed bool
	for !killed {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the child ended before it was killed:\n%s", strings.Join(all, "\n"))
			}
			all = append(all, l)
			if strings.HasPrefix(l, "crash: ") {
				run.marks[l] = time.Since(start)
				arm(l)
			}
		case <-timer.C:
			killed = true
		case <-deadline:
			t.Fatalf("the child was not killed within 5 minutes:\n%s", strings.Join(all, "\n"))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run.killed = time.Since(start)
	// Every marker written before the kill is still in the pipe.
	for l := range lines {
		all = append(all, l)
		if strings.HasPrefix(l, "crash: ") {
			run.marks[l] = run.killed
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child did not die of SIGKILL (%v):\n%s", err, strings.Join(all, "\n"))
	}
	run.output = strings.Join(all, "\n")
	return run
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		if os.IsNotExist(err) {
			return
		}
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringFilterUpdate kills a child process with SIGKILL while it
// makes every contact of a large database private (one SetContactsAccess),
// at random moments before, during and after the commit. After each kill
// the database, reopened, holds every contact wholly before or wholly after
// (its share type, its rule lines and its change record agree, and all
// contacts agree with each other: the update is one transaction), and the
// service loaded from it decides as a stock Casbin enforcer over the same
// file.
func TestCrashDuringFilterUpdate(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in the child")
	}
	n := size(t, crashContactsEnv, 1_000, 100_000)
	kills := size(t, crashKillsEnv, 8, 20)

	// The base database, prepared once and copied for every run.
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	prepStart := time.Now()
	{
		prep := testportal.Over(t, testportal.SQLiteAt(base), &testportal.Options{Data: crashFixture(n)})
		prep.Service.Close()
		if err := prep.Store.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("base database: %d contacts, prepared in %v", n, time.Since(prepStart).Round(time.Millisecond))
	copyBase := func(name string) string {
		path := filepath.Join(dir, name)
		copyFile(t, base, path)
		copyFile(t, base+"-wal", path+"-wal")
		return path
	}

	// A calibration run that is killed only once it is done: how long the
	// phases take, and the state after.
	calib := runChild(t, copyBase("calibration.db"), func(mark string) time.Duration {
		if mark == markDone {
			return 0
		}
		return -1
	})
	ready, start, end := calib.marks[markReady], calib.marks[markCommitStart], calib.marks[markCommitEnd]
	t.Logf("calibration: ready %v, commit start %v, commit end %v", ready.Round(time.Millisecond),
		start.Round(time.Millisecond), end.Round(time.Millisecond))
	if got := checkCrashed(t, calib.output, filepath.Join(dir, "calibration.db"), n); got != "after" {
		t.Fatalf("calibration run: the database is %s the update", got)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	uniform := func(from, to time.Duration) time.Duration {
		if to <= from {
			return from
		}
		return from + time.Duration(rng.Int64N(int64(to-from)))
	}
	commitTime := max(end-start, time.Millisecond)
	counts := map[string]int{}
	states := map[string]int{}
	for i := range kills {
		path := copyBase(fmt.Sprintf("run%02d.db", i))
		// Aim a quarter of the kills at each part of the run; the markers
		// read tell where each really landed.
		var kill func(string) time.Duration
		switch i % 4 {
		case 0: // while loading, finding and building the batch
			d := uniform(0, start)
			kill = func(mark string) time.Duration {
				if mark == "" {
					return d
				}
				return -1
			}
		case 1: // during the commit
			d := uniform(0, commitTime)
			kill = func(mark string) time.Duration {
				if mark == markCommitStart {
					return d
				}
				return -1
			}
		case 2: // after the commit
			d := uniform(0, commitTime)
			kill = func(mark string) time.Duration {
				if mark == markCommitEnd {
					return d
				}
				return -1
			}
		default: // anywhere
			d := uniform(0, end+end/10)
			kill = func(mark string) time.Duration {
				if mark == "" {
					return d
				}
				return -1
			}
		}
		run := runChild(t, path, kill)
		phase := run.phase()
		got := checkCrashed(t, run.output, path, n)
		switch {
		case phase == "before" && got != "before", phase == "after" && got != "after":
			t.Fatalf("run %d: killed %s the commit at %v, but the database is %s the update", i, phase, run.killed, got)
		}
		counts[phase]++
		states[got]++
		t.Logf("run %2d: killed at %8v, %-6s the commit: database %s", i, run.killed.Round(time.Millisecond), phase, got)
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
	}
	t.Logf("crash test: %d contacts, %d kills: %d before the commit, %d during, %d after; databases found before the update %d, after %d; none torn",
		n, kills, counts["before"], counts["during"], counts["after"], states["before"], states["after"])
}

// checkCrashed reopens the database at path after a kill and checks it: it
// returns "before" or "after" (every contact as the base, or every contact
// private with the three managers), and fails the test on anything else.
func checkCrashed(t *testing.T, output, path string, n int) string {
	t.Helper()
	ctx := context.Background()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s\nchild output:\n%s", filepath.Base(path), fmt.Sprintf(format, args...), output)
	}
	// The reopen: storage.Open recovers the WAL and migrates nothing.
	st, err := storage.Open(ctx, path, nil)
	if err != nil {
		fail("reopen: %v", err)
	}
	defer st.Close()

	db, err := sql.Open("sqlite3", storage.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&integrity); err != nil || integrity != "ok" {
		fail("quick_check: %q %v", integrity, err)
	}

	share := make([]int64, n+1)
	rows, err := db.QueryContext(ctx, `SELECT id, share_type FROM crm_contacts`)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for rows.Next() {
		var id, s int64
		if err := rows.Scan(&id, &s); err != nil {
			t.Fatal(err)
		}
		if id < 1 || id > int64(n) {
			fail("contact %d is not of the data set", id)
		}
		share[id] = s
		count++
	}
	rows.Close()
	if count != n {
		fail("%d contacts, want %d", count, n)
	}

	lines := make([][]string, n+1)
	admins := 0
	rows, err = db.QueryContext(ctx, `SELECT ptype, v0, v1, v2 || v3 || v4 || v5 FROM casbin_rule`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ptype, v0, v1, rest string
		if err := rows.Scan(&ptype, &v0, &v1, &rest); err != nil {
			t.Fatal(err)
		}
		id, ok := strings.CutPrefix(v0, "contact:")
		switch {
		case ptype == "g5" && v1 == "crm:active" && rest == "":
			// a user of the data set
		case ptype == "g4" && v0 == crashAdmin && v1 == "crm:admin" && rest == "":
			admins++
		case ptype == "g" && ok && rest == "":
			i, err := strconv.Atoi(id)
			if err != nil || i < 1 || i > n {
				fail("rule for an unknown contact: %s %s %s", ptype, v0, v1)
			}
			lines[i] = append(lines[i], v1)
		default:
			fail("unexpected rule line %s, %s, %s, %q", ptype, v0, v1, rest)
		}
	}
	rows.Close()
	if admins != 1 {
		fail("%d admin lines, want 1", admins)
	}

	changes := make([]int, n+1)
	rows, err = db.QueryContext(ctx, `SELECT entity_kind, entity_id, actor, before_share, before_list, after_private,
		after_share, after_list FROM crm_changes`)
	if err != nil {
		t.Fatal(err)
	}
	wantAfterList, _ := json.Marshal(crashManagers)
	for rows.Next() {
		var kind, actor, beforeList, afterList string
		var id, beforeShare, afterShare int64
		var afterPrivate bool
		if err := rows.Scan(&kind, &id, &actor, &beforeShare, &beforeList, &afterPrivate, &afterShare, &afterList); err != nil {
			t.Fatal(err)
		}
		if actor == "" {
			continue // the import's record of the starting state
		}
		if kind != "contact" || id < 1 || id > int64(n) || actor != crashAdmin || beforeShare != 1 || beforeList != "[]" ||
			!afterPrivate || afterShare != 0 || afterList != string(wantAfterList) {
			fail("unexpected change record: %s %d by %s: %d %s → %v %d %s", kind, id, actor, beforeShare, beforeList,
				afterPrivate, afterShare, afterList)
		}
		changes[id]++
	}
	rows.Close()

	// Every contact wholly before or wholly after: share type, rule lines
	// and change record agree; the public marker is there exactly when the
	// share type says shared.
	before, after := 0, 0
	for i := 1; i <= n; i++ {
		slices.Sort(lines[i])
		switch {
		case share[i] == 1 && slices.Equal(lines[i], []string{"crm:public"}) && changes[i] == 0:
			before++
		case share[i] == 0 && slices.Equal(lines[i], crashManagers) && changes[i] == 1:
			after++
		default:
			fail("contact %d is torn: share type %d, rule lines %v, %d change records", i, share[i], lines[i], changes[i])
		}
	}
	var state string
	switch {
	case before == n:
		state = "before"
	case after == n:
		state = "after"
	default:
		fail("%d contacts before the update and %d after: the transaction was split", before, after)
	}

	// The enforcer loaded from the database decides as a stock Casbin
	// enforcer over the same file, and as the entity rows say.
	svc := serviceWith(t, st, nil)
	// The first and last contacts and a random 5% (at most 200) of them:
	// Casbin's checks are slow under the race detector.
	sample := []int64{1, int64(n)}
	for range min(200, max(20, n/20)) {
		sample = append(sample, 1+rand.Int64N(int64(n)))
	}
	stock := stockEnforcerOf(t, path, sample)
	users := append([]string{crashAdmin, crashOutsider}, crashManagers...)
	for _, id := range sample {
		ref := crmaccess.ContactRef(id)
		for _, u := range users {
			for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess} {
				d, err := svc.Check(ctx, u, ref, a)
				if err != nil {
					t.Fatal(err)
				}
				act := string(a)
				if a == crmaccess.ActionChangeAccess {
					act = string(crmaccess.ActionEdit) // a contact's access is changed by whoever may edit it
				}
				ok, err := stock.Enforce(u, policy.Object(ref), act)
				if err != nil {
					t.Fatal(err)
				}
				want := u == crashAdmin || share[id] == 1 || slices.Contains(crashManagers, u)
				if d.Allowed != ok || d.Allowed != want {
					fail("%s %s contact %d: service %v, stock Casbin %v, entity rows say %v", u, a, id, d.Allowed, ok, want)
				}
			}
		}
	}
	return state
}

// stockEnforcerOf is a stock Casbin enforcer with crmaccess's model over the
// rule table of the file at path, loaded with the lines of the sampled
// contacts and of the users.
func stockEnforcerOf(t *testing.T, path string, contacts []int64) *casbin.Enforcer {
	t.Helper()
	e := stockEnforcer(t, testdb.SQLite(t, path), storage.DefaultRuleTable)
	objs := []string{crashAdmin, crashOutsider}
	objs = append(objs, crashManagers...)
	for _, id := range contacts {
		objs = append(objs, policy.Object(crmaccess.ContactRef(id)))
	}
	if err := e.LoadFilteredPolicy(gormadapter.Filter{V0: objs}); err != nil {
		t.Fatalf("stock Casbin LoadFilteredPolicy: %v", err)
	}
	return e
}
