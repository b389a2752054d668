package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// historyResult is row 16 on one database.
type historyResult struct {
	whoCould  []time.Duration // WhoCould(one opportunity, read, at T), each call
	readable  []time.Duration // ReadableAt(one user, opportunities, at T), each call
	ids       []int           // how many ids each ReadableAt answered
	changes   int             // change records in the store when measured
	before    int             // … and before the row wrote its passes
	passes    int
	position  int64 // the position T falls at
	head      int64 // the log's head
	writeTook time.Duration
	load      string
}

// historyTarget is how many change records row 16 measures over (at
// least): 1M in the full mode.
func (h *harness) historyTarget() int {
	if h.cfg.name == "full" {
		return 1_000_000
	}
	return 50_000
}

// historyRow is row 16: the point-in-time questions of an incident review
// over the largest grant set's store with about 1M change records (the
// import's and the rows' before, then passes that set every opportunity's
// access anew through its creator, alternately private to one other user
// and public): who could read one opportunity at a time T in the middle of
// the history (p50 ≤ 5 ms), and which opportunities one user could read at
// T (≤ 1 s). It runs last: its passes change the grant set's access.
func (h *harness) historyRow() error {
	rs, err := onEach(h, h.historyOn)
	if err != nil {
		return fmt.Errorf("row 16: %w", err)
	}
	h.addSide(sideResult{row: "16", what: "who could read one opportunity at a time T in the middle of the history (WhoCould), p50", unit: unitSeconds,
		on:     sideFigures(rs, func(r *historyResult) figure { return val(seconds(percentile(r.whoCould, 0.5))) }),
		target: sameTarget("≤ 5 ms"), met: sideMet(rs, func(_ int, r *historyResult) bool { return percentile(r.whoCould, 0.5) <= 5*time.Millisecond })})
	h.addSide(sideResult{row: "16", what: "… p99", unit: unitSeconds,
		on: sideFigures(rs, func(r *historyResult) figure { return val(seconds(percentile(r.whoCould, 0.99))) })})
	h.addSide(sideResult{row: "16", what: "which opportunities one user could read at T (ReadableAt), median", unit: unitSeconds,
		on: sideFigures(rs, func(r *historyResult) figure {
			return valNote(seconds(percentile(r.readable, 0.5)), fmt.Sprintf("%s ids", group(float64(medianInt(r.ids)))))
		}),
		target: sameTarget("≤ 1 s"), met: sideMet(rs, func(_ int, r *historyResult) bool { return percentile(r.readable, 0.5) <= time.Second })})
	h.addSide(sideResult{row: "16", what: "… slowest", unit: unitSeconds,
		on: sideFigures(rs, func(r *historyResult) figure { return val(seconds(percentile(r.readable, 1))) })})
	h.addSide(sideResult{row: "16", what: "… change records in the store / T's log position of the head", unit: unitSeconds,
		on: sideFigures(rs, func(r *historyResult) figure {
			return text(fmt.Sprintf("%s / %s of %s", group(float64(r.changes)), group(float64(r.position)), group(float64(r.head))))
		})})
	for _, d := range h.shared {
		r := rs[slices.Index(databases[:], d.name)]
		h.note("row 16, %s: the store held %s change records; %d passes over the %s opportunities (SetOpportunitiesAccess by each creator, one entry each) wrote the rest in %s; T is the time after the pass that brought the count nearest half the final one; %d WhoCould calls on random opportunities and %d ReadableAt calls for random users, one at a time, on one instance with its own connections%s; load average %s at the start of the row",
			d.name, group(float64(r.before)), r.passes, group(float64(len(d.g.fx.Opportunities))), r.writeTook.Round(time.Second),
			len(r.whoCould), len(r.readable), map[bool]string{true: ", after VACUUM ANALYZE of the log tables", false: ""}[d.args.Prefix != ""], r.load)
	}
	return nil
}

func (h *harness) historyOn(d *sharedDB) (historyResult, error) {
	r := historyResult{load: loadAverage()}
	in, err := openInstance(h.ctx, d.args, -1)
	if err != nil {
		return r, err
	}
	defer in.close()
	if r.before, err = countChanges(h, in); err != nil {
		return r, err
	}
	fx := d.g.fx
	byCreator := map[string][]int64{}
	for _, o := range fx.Opportunities {
		byCreator[o.CreateBy] = append(byCreator[o.CreateBy], o.ID)
	}
	// Each pass changes every opportunity: one change record each.
	target := h.historyTarget()
	r.passes = max(2, (target-r.before+len(fx.Opportunities)-1)/len(fx.Opportunities))
	var at time.Time
	bestGap := -1
	r.changes = r.before
	start := time.Now()
	for pass := range r.passes {
		for i := range dataset.UserCount {
			u := dataset.UserID(i)
			var list []string
			if pass%2 == 0 {
				list = []string{dataset.UserID((i + 1 + pass) % dataset.UserCount)}
			}
			res, err := in.svc.SetOpportunitiesAccess(h.ctx, u, byCreator[u], pass%2 == 0, list)
			if err != nil {
				return r, err
			}
			r.changes += len(res.Opportunities)
		}
		// T: after the pass nearest the middle of the final count.
		final := r.before + r.passes*len(fx.Opportunities)
		if gap := abs(r.changes - final/2); bestGap < 0 || gap < bestGap {
			bestGap, at = gap, time.Now()
		}
	}
	r.writeTook = time.Since(start)
	if r.changes, err = countChanges(h, in); err != nil {
		return r, err
	}
	if in.db != nil {
		for _, table := range []string{"changes", "log"} {
			if err := in.db.Exec("VACUUM ANALYZE " + d.args.Prefix + table).Error; err != nil {
				return r, err
			}
		}
	}
	moment := crmaccess.Moment{Time: at}
	rng := rand.New(rand.NewPCG(16, uint64(len(fx.Opportunities))))
	samples, users := 2000, 7
	if h.cfg.name != "full" {
		samples, users = 300, 3
	}
	for range samples {
		ref := crmaccess.OpportunityRef(fx.Opportunities[rng.IntN(len(fx.Opportunities))].ID)
		var w *crmaccess.WhoCould
		took := timeIt(func() { w, err = in.svc.WhoCould(h.ctx, ref, crmaccess.ActionRead, moment) })
		if err != nil {
			return r, err
		}
		r.position = w.Position
		r.whoCould = append(r.whoCould, took)
	}
	for range users {
		u := dataset.UserID(rng.IntN(dataset.UserCount))
		var a *crmaccess.Readable
		took := timeIt(func() { a, err = in.svc.ReadableAt(h.ctx, u, crmaccess.KindOpportunity, moment) })
		if err != nil {
			return r, err
		}
		r.readable = append(r.readable, took)
		r.ids = append(r.ids, len(a.IDs))
	}
	now, err := in.svc.WhoCould(h.ctx, crmaccess.OpportunityRef(1), crmaccess.ActionRead, crmaccess.Moment{})
	if err != nil {
		return r, err
	}
	r.head = now.Position
	return r, nil
}

// countChanges counts the store's change records, page by page.
func countChanges(h *harness, in *instance) (int, error) {
	n := 0
	f := crmaccess.ChangeFilter{Limit: crmaccess.MaxChangeLimit}
	for {
		p, err := in.svc.FindChanges(h.ctx, f)
		if err != nil {
			return n, err
		}
		n += len(p.Changes)
		if p.Next == 0 {
			return n, nil
		}
		f.After = p.Next
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func medianInt(xs []int) int {
	f := make([]float64, len(xs))
	for i, x := range xs {
		f[i] = float64(x)
	}
	return int(median(f))
}
