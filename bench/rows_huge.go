package main

import (
	"fmt"
	"os"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// The huge mode (-size huge) measures issue 14's rows at 10 million
// grants: the read check (row 1) beside the 1k set in the same run, the
// cold start (row 5) and one opportunity's change (row 3), the last two
// on SQLite and on PostgreSQL. Nothing of the baseline runs: at this size
// it would take hours (its check scans every line).

// step is one step of a run: the rows it serves, its name, its work.
type step struct {
	rows, name string
	fn         func() error
}

// hugeSteps are the steps of the huge mode.
func (h *harness) hugeSteps() []step {
	return []step{
		{"1,3,5", "build the grant data sets (crmaccess only)", h.buildHuge},
		{"3,5", "the 10M set on PostgreSQL", h.buildHugePostgres},
		{"5", "row 5, cold start", h.hugeColdStart},
		{"1", "row 1, read checks", h.hugeChecks},
		{"3", "row 3, opportunity access change", h.hugeChanges},
	}
}

// buildHuge writes the grant sets into SQLite through Service.Import, one
// transaction each, and keeps their Services loaded.
func (h *harness) buildHuge() error {
	for _, n := range h.cfg.grants {
		var g *grantSet
		gen := timeIt(func() {
			g = &grantSet{n: n, fx: dataset.Grants(n), crmPath: h.path(fmt.Sprintf("crm-%s.db", count(n)))}
		})
		h.grants = append(h.grants, g)
		var err error
		took := timeIt(func() {
			if g.store, g.svc, err = newService(h.ctx, g.crmPath); err == nil {
				_, err = g.svc.Import(h.ctx, g.fx)
			}
		})
		if err == nil {
			err = checkpoint(g.crmPath)
		}
		if err != nil {
			return fmt.Errorf("crmaccess data set %s: %w", count(n), err)
		}
		if h.sqliteV == "" {
			if h.sqliteV, err = sqliteVersionOf(g.crmPath); err != nil {
				return err
			}
		}
		g.rules = len(dataset.Rules(g.fx))
		size := fileSize(g.crmPath)
		h.logf("grants %s: %d rules, %d opportunities; generated in %s, imported into SQLite in %s (%.0f MB)",
			count(n), g.rules, len(g.fx.Opportunities), gen.Round(time.Millisecond), took.Round(time.Millisecond), size/1e6)
		h.note("data set %s grants: %s rule lines (%s opportunities, %s companies, 1,000 users); generated in %s, written to SQLite by Service.Import (one transaction) in %s, checkpointed: a %.0f MB file",
			count(n), group(float64(g.rules)), group(float64(len(g.fx.Opportunities))), group(float64(len(g.fx.Contacts))),
			gen.Round(time.Millisecond), took.Round(time.Millisecond), size/1e6)
	}
	return nil
}

func fileSize(path string) float64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return float64(n)
}

// buildHugePostgres imports the 10M set into PostgreSQL under a prefix of
// this run (dropped at the end), as openShared does for rows 9 to 15.
func (h *harness) buildHugePostgres() error {
	g := h.large()
	d := &sharedDB{name: databases[0], args: childArgs{DB: g.crmPath, Grants: g.n}, g: g}
	h.shared = append(h.shared, d)
	if os.Getenv(postgresDSNVar) == "" {
		h.note("huge mode: %s is not set, so the PostgreSQL column was not run", postgresDSNVar)
		return nil
	}
	if err := h.openPostgresCopy(g); err != nil {
		return err
	}
	pg := h.shared[len(h.shared)-1]
	db, err := openPostgres()
	if err != nil {
		return err
	}
	defer closeGorm(db)
	var size float64
	db.Raw(`SELECT COALESCE(sum(pg_total_relation_size(quote_ident(tablename))), 0) FROM pg_tables
		WHERE schemaname = current_schema() AND left(tablename, ?) = ?`, len(pg.args.Prefix), pg.args.Prefix).Scan(&size)
	h.note("huge mode, PostgreSQL %s: the %s-grant set imported by Service.Import in %s and ANALYZEd, tables named with a prefix of this run (dropped at the end); they take %.0f MB, indexes included",
		h.pgVersion, count(g.n), h.pgImport.Round(time.Millisecond), size/1e6)
	return nil
}

// hugeColdStart is row 5 at 10M grants: open and load in a fresh process,
// on every database.
func (h *harness) hugeColdStart() error {
	rs, err := onEach(h, func(d *sharedDB) (coldFigures, error) {
		var f coldFigures
		for range h.cfg.coldReps {
			var r coldResult
			if err := h.child("cold-crm", d.args, &r); err != nil {
				return f, err
			}
			f.secs = append(f.secs, r.Seconds)
			f.heap = append(f.heap, float64(r.HeapBytes))
			f.rss = append(f.rss, float64(r.MaxRSS))
			f.cpu = append(f.cpu, r.CPU)
		}
		return f, nil
	})
	if err != nil {
		return err
	}
	n := count(h.large().n)
	h.addSide(sideResult{row: "5", what: fmt.Sprintf("cold start: open and load %s grants (a fresh process)", n), unit: unitSeconds,
		on:     sideFigures(rs, func(f *coldFigures) figure { return val(median(f.secs)) }),
		target: sameTarget("≤ 10 s"), met: sideMet(rs, func(_ int, f *coldFigures) bool { return median(f.secs) <= 10 })})
	h.addSide(sideResult{row: "5", what: "… CPU time of that process until loaded (user + system): at most its wall time on a machine with nothing else to run", unit: unitSeconds,
		on: sideFigures(rs, func(f *coldFigures) figure { return val(median(f.cpu)) })})
	h.addSide(sideResult{row: "5", what: "… live heap after GC, loaded", unit: unitBytes,
		on:     sideFigures(rs, func(f *coldFigures) figure { return val(median(f.heap)) }),
		target: sameTarget("≤ 300 MB"), met: sideMet(rs, func(_ int, f *coldFigures) bool { return median(f.heap) <= 300e6 })})
	h.addSide(sideResult{row: "5", what: "… the process's peak resident memory (loading included)", unit: unitBytes,
		on: sideFigures(rs, func(f *coldFigures) figure { return val(median(f.rss)) })})
	h.note("row 5 (huge): medians of %d fresh processes on each database, each storage.Open (SQLite) or storage.New (PostgreSQL) + policy.New + crmaccess.NewService; heap is the live heap objects after runtime.GC", h.cfg.coldReps)
	return nil
}

type coldFigures struct{ secs, heap, rss, cpu []float64 }

// hugeChecks is row 1 at 10M grants: random read checks on the 1k and the
// 10M set taking turns in each run, the ratio taken run by run, and the
// 10M set's checks confined to as many records as the 1k set has.
func (h *harness) hugeChecks() error {
	small, large := h.grants[0], h.large()
	hot := &grantSet{n: large.n, svc: large.svc}
	hotFx := *large.fx
	hotFx.Opportunities = hotFx.Opportunities[:len(small.fx.Opportunities)]
	sets := []*grantSet{small, large, hot}
	checks := map[*grantSet][]dataset.Check{small: dataset.Checks(small.fx, h.cfg.checksPerRep, 1),
		large: dataset.Checks(large.fx, h.cfg.checksPerRep, 1), hot: dataset.Checks(&hotFx, h.cfg.checksPerRep, 1)}
	p50, p99, ratios, hotRatios, err := h.timeChecks(sets, checks, small, large, hot)
	if err != nil {
		return err
	}
	none := text("—")
	h.add(result{row: "1", what: fmt.Sprintf("read check p50, %s grants", count(small.n)), unit: unitSeconds,
		crm: val(median(p50[small])), base: none})
	l50, l99, q := median(p50[large]), median(p99[large]), median(ratios)
	h.add(result{row: "1", what: fmt.Sprintf("read check p50, %s grants", count(large.n)), unit: unitSeconds,
		crm: val(l50), base: none, target: "≤ 0.5 µs", met: yes(l50 <= 0.5e-6)})
	h.add(result{row: "1", what: fmt.Sprintf("read check p99, %s grants", count(large.n)), unit: unitSeconds,
		crm: val(l99), base: none, target: "≤ 2 µs", met: yes(l99 <= 2e-6)})
	h.add(result{row: "1", what: fmt.Sprintf("p50 at %s ÷ p50 at %s grants", count(large.n), count(small.n)), unit: unitTimes,
		crm: val(q), base: none, target: "≤ 2.5", met: yes(q <= 2.5)})
	h.add(result{row: "1", what: fmt.Sprintf("… the same with the %s-grant checks confined to %s records (as many as the %s set has)",
		count(large.n), group(float64(len(hotFx.Opportunities))), count(small.n)), unit: unitTimes,
		crm: val(median(hotRatios)), base: none})
	h.note("row 1 (huge): medians of %d runs of %s checks a grant set (random user, random opportunity), the sets taking turns in each run; ratios taken run by run; no baseline at this size",
		h.cfg.checkReps, group(float64(h.cfg.checksPerRep)))
	return nil
}

// hugeChanges is row 3 at 10M grants: one opportunity's access change,
// commit included, by the creator toggling two lists, on every database;
// on SQLite through the Service that imported the set, on PostgreSQL
// through an instance that loaded it.
func (h *harness) hugeChanges() error {
	g := h.large()
	targets := changeTargets(g.fx, h.cfg.changes)
	rs, err := onEach(h, func(d *sharedDB) ([2]float64, error) {
		var in *instance
		if d.args.Prefix == "" {
			in = &instance{svc: g.svc}
		} else {
			var err error
			if in, err = openInstance(h.ctx, d.args, -1); err != nil {
				return [2]float64{}, err
			}
			defer in.close()
		}
		set := func(o *crmaccess.Opportunity, list []string) error {
			_, err := in.svc.SetOpportunityAccess(h.ctx, o.CreateBy, o.ID, true, list)
			return err
		}
		for _, o := range targets { // every target private with listA, untimed
			if err := set(o, listA); err != nil {
				return [2]float64{}, err
			}
		}
		var reps50, reps99 []float64
		lists := [][]string{listB, listA}
		lat := make([]time.Duration, len(targets))
		for rep := range h.cfg.changeReps {
			for i, o := range targets {
				var err error
				lat[i] = timeIt(func() { err = set(o, lists[rep%2]) })
				if err != nil {
					return [2]float64{}, err
				}
			}
			reps50 = append(reps50, seconds(percentile(lat, 0.5)))
			reps99 = append(reps99, seconds(percentile(lat, 0.99)))
		}
		return [2]float64{median(reps50), median(reps99)}, nil
	})
	if err != nil {
		return err
	}
	h.addSide(sideResult{row: "3", what: fmt.Sprintf("one opportunity's access change p50, %s grants, commit included", count(g.n)), unit: unitSeconds,
		on:     sideFigures(rs, func(r *[2]float64) figure { return val(r[0]) }),
		target: sameTarget("≤ 1 ms"), met: sideMet(rs, func(_ int, r *[2]float64) bool { return r[0] <= 1e-3 })})
	h.addSide(sideResult{row: "3", what: "… p99", unit: unitSeconds,
		on: sideFigures(rs, func(r *[2]float64) figure { return val(r[1]) })})
	h.note("row 3 (huge): medians of %d runs over %d opportunities spread over the set (the creator sets listA/listB in turn; each call reads the record, checks, commits records, rules and a change record, then updates memory)",
		h.cfg.changeReps, len(targets))
	return nil
}
