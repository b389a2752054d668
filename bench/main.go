package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// config holds the sizes and repetitions of one mode.
type config struct {
	name string

	grants   []int // the grant data sets, ascending; the last is the large one
	contacts int   // matching contacts of the filter rows

	checkReps, checksPerRep int         // row 1, crmaccess
	baselineChecks          map[int]int // row 1, baseline samples by grant count
	scaleReps               int         // row 2
	scaleWindow             time.Duration
	baselineScaleChecks     int // row 2, baseline checks a goroutine
	changeReps, changes     int // row 3, crmaccess
	baselineChanges         int // row 3, baseline samples
	filterReps              int // row 4
	coldReps, baselineCold  int // row 5, child processes
	distinct                int // row 6, crmaccess checks
	baselineDistinct        int // row 6, baseline checks (extrapolated to distinct)
	httpRuns                int // row 7
	httpWindow              time.Duration
	httpMaxRequests         int
	httpClients             int
	filterCalls             int // row 8

	lagWrites      int           // row 9: writes whose lag is measured
	stockReloads   int           // row 9: stock Casbin LoadPolicy runs after its first load
	writeReps      int           // row 10: runs of each configuration
	writeWindow    time.Duration // row 10
	catchUpChanges int           // row 11: changes an instance is behind
	catchUpSearch  string        // row 11: the filter's search (companies whose name has a word starting so)
	catchUpReps    int           // row 11
	followReps     int           // row 12: runs with and without writes
	followWindow   time.Duration // row 12
	followRate     int           // row 12: changes a second from the other instance

	lifeReps, lifeOps       int // row 13: runs, and opportunities created and deleted a run
	removeLists, removeReps int // row 14: lists the removed user is on, runs
	upsertOpps, upsertReps  int // row 15: opportunities upserted, runs
}

var configs = map[string]config{
	"full": {
		name: "full", grants: []int{1_000, 100_000, 1_000_000}, contacts: 100_000,
		checkReps: 5, checksPerRep: 200_000,
		baselineChecks: map[int]int{1_000: 2_000, 100_000: 20, 1_000_000: 5},
		scaleReps:      5, scaleWindow: 500 * time.Millisecond, baselineScaleChecks: 3,
		changeReps: 3, changes: 200, baselineChanges: 5,
		filterReps: 3,
		coldReps:   3, baselineCold: 3,
		distinct: 10_000_000, baselineDistinct: 500_000,
		httpRuns: 3, httpWindow: 5 * time.Second, httpMaxRequests: 30_000, httpClients: 16,
		filterCalls: 3,
		lagWrites:   300, stockReloads: 1,
		writeReps: 3, writeWindow: 3 * time.Second,
		catchUpChanges: 100_000, catchUpSearch: "1", catchUpReps: 3, // 1,111 of the 6,134 companies a write
		followReps: 3, followWindow: 2 * time.Second, followRate: 1000,
		lifeReps: 3, lifeOps: 200, removeLists: 10_000, removeReps: 3, upsertOpps: 100_000, upsertReps: 3,
	},
	// huge: issue 14's rows at 10M grants (3M opportunities), beside 1k;
	// see rows_huge.go.
	"huge": {
		name: "huge", grants: []int{1_000, 10_000_000},
		checkReps: 5, checksPerRep: 200_000,
		changeReps: 3, changes: 200,
		coldReps: 3,
	},
	"small": {
		name: "small", grants: []int{1_000, 5_000, 20_000}, contacts: 2_000,
		checkReps: 3, checksPerRep: 20_000,
		baselineChecks: map[int]int{1_000: 200, 5_000: 50, 20_000: 20},
		scaleReps:      3, scaleWindow: 100 * time.Millisecond, baselineScaleChecks: 20,
		changeReps: 3, changes: 50, baselineChanges: 5,
		filterReps: 2,
		coldReps:   2, baselineCold: 2,
		distinct: 200_000, baselineDistinct: 20_000,
		httpRuns: 2, httpWindow: time.Second, httpMaxRequests: 2_000, httpClients: 16,
		filterCalls: 2,
		lagWrites:   100, stockReloads: 2,
		writeReps: 2, writeWindow: time.Second,
		catchUpChanges: 5_000, catchUpSearch: "", catchUpReps: 2, // all 122 companies a write
		followReps: 2, followWindow: 500 * time.Millisecond, followRate: 1000,
		lifeReps: 3, lifeOps: 50, removeLists: 500, removeReps: 2, upsertOpps: 5_000, upsertReps: 2,
	},
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	size := flag.String("size", "full", "data sizes: full (1k, 100k, 1M grants), small (for CI) or huge (1k and 10M grants, rows 1, 3 and 5)")
	rows := flag.String("rows", "", "comma-separated rows to run (1-16); all when empty")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of each row's step, of this process (not its children), into this directory")
	child := flag.String("child", "", "internal: run one measurement in this fresh process")
	db := flag.String("db", "", "internal: the SQLite database of -child")
	prefix := flag.String("prefix", "", "internal: the PostgreSQL table prefix of -child (the database is "+postgresDSNVar+"'s)")
	grants := flag.Int("grants", 0, "internal: the grant set of -child")
	n := flag.Int("n", 0, "internal: a count for -child")
	m := flag.Int("m", 0, "internal: a second count for -child")
	flag.Parse()

	if *child != "" && *cpuProfile != "" {
		// Run by hand, a child profiles itself (see profiledChild).
		if err := profiledChild(*cpuProfile, *child, func() error {
			return runChild(*child, childArgs{DB: *db, Prefix: *prefix, Grants: *grants, N: *n, M: *m})
		}); err != nil {
			log.Fatalf("child %s: %v", *child, err)
		}
		return
	}
	if *child != "" {
		if err := runChild(*child, childArgs{DB: *db, Prefix: *prefix, Grants: *grants, N: *n, M: *m}); err != nil {
			log.Fatalf("child %s: %v", *child, err)
		}
		return
	}
	cfg, ok := configs[*size]
	if !ok {
		log.Fatalf("-size %q: want full, small or huge", *size)
	}
	want := map[string]bool{}
	for _, r := range strings.Split(*rows, ",") {
		if r = strings.TrimSpace(r); r != "" {
			want[r] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, want, *cpuProfile, os.Stdout, os.Stderr); err != nil {
		log.Fatal(err)
	}
}

// run builds the data sets in a temporary directory, measures the rows and
// prints the table to out; progress goes to progress.
func run(ctx context.Context, cfg config, want map[string]bool, profiles string, out, progress io.Writer) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "crmaccess-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	h := &harness{ctx: ctx, cfg: cfg, dir: dir, progress: progress, want: want}
	defer h.close()
	loadAtStart := loadAverage()
	h.logf("mode %s, GOMAXPROCS %d, data in a temporary directory", cfg.name, runtime.GOMAXPROCS(0))
	steps := []step{
		{"1,2,3,4,5,6,7,9,10,11,12,13,14,15,16", "build the grant data sets", h.buildGrants},
		{"4,8", "build the contacts data set", h.buildContacts},
		{"5", "row 5, cold start", h.coldStart},
		{"6", "row 6, distinct checks", h.distinctChecks},
		{"1", "row 1, read checks", h.readChecks},
		{"2", "row 2, two goroutines", h.scaling},
		{"3", "row 3, opportunity access change", h.opportunityChanges},
		{"1,2,3", "release the baseline enforcers", h.releaseBaselines},
		{"7", "row 7, HTTP PUT", h.httpPut},
		{"4", "row 4, filter call", h.filterCall},
		{"4", "row 4, the filter call's peak heap", h.filterHeap},
		{"8", "row 8, HTTP filter call", h.httpFilter},
		{"7,9,10,11,12,13,14,15,16", "several instances: the shared databases", h.openShared},
		{"7", "row 7 on the shared databases", h.httpPutShared},
		{"9", "row 9, follower lag", h.followerLag},
		{"12", "row 12, checks while following", h.checksWhileFollowing},
		{"11", "row 11, catch-up", h.catchUp},
		{"10", "row 10, writes from two instances", h.twoWriters},
		{"13", "row 13, create and delete an opportunity", h.lifecycle},
		{"14", "row 14, remove a user on many lists", h.removeUser},
		{"15", "row 15, bulk upsert", h.upsertRow},
		{"16", "row 16, who could read at a time T", h.historyRow}, // last: it rewrites the access
	}
	if cfg.name == "huge" {
		steps = h.hugeSteps()
	}
	for _, s := range steps {
		if !h.wants(s.rows) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		h.logf("%s (%s so far)", s.name, time.Since(start).Round(time.Second))
		if err := profiled(profiles, s.name, s.fn); err != nil {
			return err
		}
	}
	byRow := func(a, b string) int { return cmp.Compare(rowNumber(a), rowNumber(b)) }
	slices.SortStableFunc(h.results, func(a, b result) int { return byRow(a.row, b.row) })
	slices.SortStableFunc(h.sideResults, func(a, b sideResult) int { return byRow(a.row, b.row) })
	fmt.Fprintf(out, "\ncrmaccess benchmark, %s mode: %s\n\n", cfg.name, h.machine())
	if len(h.results) > 0 {
		printTable(out, h.results)
		fmt.Fprintln(out)
	}
	if len(h.sideResults) > 0 {
		printSideTable(out, h.sideResults)
		fmt.Fprintln(out)
	}
	// Notes on the data sets first, then by row.
	slices.SortStableFunc(h.notes, func(a, b string) int { return strings.Compare(noteKey(a), noteKey(b)) })
	for _, n := range h.notes {
		fmt.Fprintln(out, "- "+n)
	}
	fmt.Fprintf(out, "- whole run: %s; load average (1 min) %s at the start, %s at the end, on %d CPUs\n",
		time.Since(start).Round(time.Second), loadAtStart, loadAverage(), runtime.NumCPU())
	return nil
}

// profiled runs a step; with a directory, a row's step under a CPU profile
// written there as row-N.pprof (N: the row its name starts with).
func profiled(dir, name string, fn func() error) error {
	rest, ok := strings.CutPrefix(name, "row ")
	if dir == "" || !ok {
		return fn()
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("row-%d.pprof", rowNumber(rest))))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = fn()
	pprof.StopCPUProfile()
	return err
}

// loadAverage is the machine's load average over the last minute: on a
// shared machine, how many others wanted the CPUs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	avg, _, _ := strings.Cut(string(b), " ")
	return avg
}

// noteKey orders notes: "row N…" by N, others first.
func noteKey(n string) string {
	if rest, ok := strings.CutPrefix(n, "row "); ok && rest != "" {
		return fmt.Sprintf("1%04d", rowNumber(rest))
	}
	return "0"
}

// rowNumber is the number a row's name starts with ("10" of "10: …").
func rowNumber(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = 10*n + int(c-'0')
	}
	return n
}

// harness holds the data sets and the results of one run.
type harness struct {
	ctx      context.Context
	cfg      config
	dir      string
	progress io.Writer
	want     map[string]bool

	grants       []*grantSet
	contactsPath string
	shared       []*sharedDB // rows 9 to 15: SQLite, then PostgreSQL when configured
	sqliteV      string
	stock        *distinctResult // row 6's stock Casbin, a reference for rows 1 and 2
	pgVersion    string          // the PostgreSQL server's version, once a data set is there
	pgImport     time.Duration   // how long its import took

	results     []result
	sideResults []sideResult // rows 9 to 15
	notes       []string
}

// wants reports whether any of the comma-separated rows was asked for.
func (h *harness) wants(rows string) bool {
	if len(h.want) == 0 {
		return true
	}
	for _, r := range strings.Split(rows, ",") {
		if h.want[r] {
			return true
		}
	}
	return false
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.progress, "bench: "+format+"\n", args...)
}

func (h *harness) add(r result)         { h.results = append(h.results, r) }
func (h *harness) addSide(r sideResult) { h.sideResults = append(h.sideResults, r) }
func (h *harness) note(format string, args ...any) {
	h.notes = append(h.notes, fmt.Sprintf(format, args...))
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

// large is the largest grant set.
func (h *harness) large() *grantSet { return h.grants[len(h.grants)-1] }

func (h *harness) close() {
	for _, d := range h.shared {
		d.close()
	}
	for _, g := range h.grants {
		g.close()
	}
}

// machine describes where the figures come from.
func (h *harness) machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), GOMAXPROCS %d, %s, SQLite %s", runtime.NumCPU(), cpu,
		runtime.GOMAXPROCS(0), runtime.Version(), h.sqliteV)
}

// count prints n with a k or M suffix: 1k, 100k, 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return group(float64(n))
}
