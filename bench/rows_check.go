package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/policy"
)

// readChecks is row 1: the latency of one read check (Service.Check) at
// each grant count, and the baseline's Enforce on a sample of the same
// checks, whose answers must agree. The grant sets take turns in every
// run, so that a busy machine weighs on all of them alike; the ratio of
// the largest to the smallest is taken run by run. A last set of checks
// on the largest set touches only as many records as the smallest set
// has: what remains of the difference is where in memory the records are.
func (h *harness) readChecks() error {
	small, large := h.grants[0], h.large()
	checks := map[*grantSet][]dataset.Check{}
	for _, g := range h.grants {
		checks[g] = dataset.Checks(g.fx, h.cfg.checksPerRep, 1)
	}
	// The largest set's checks confined to its first records.
	hot := &grantSet{n: large.n, svc: large.svc}
	hotFx := *large.fx
	hotFx.Opportunities = hotFx.Opportunities[:len(small.fx.Opportunities)]
	checks[hot] = dataset.Checks(&hotFx, h.cfg.checksPerRep, 1)
	sets := append(append([]*grantSet(nil), h.grants...), hot)

	p50, p99, ratios, hotRatios, err := h.timeChecks(sets, checks, small, large, hot)
	if err != nil {
		return err
	}

	base50 := map[int]float64{}
	for _, g := range h.grants {
		// The baseline on the first checks of the same list.
		k := min(h.cfg.baselineChecks[g.n], len(checks[g]))
		base := make([]time.Duration, k)
		allowed, mismatches := 0, 0
		for i, c := range checks[g][:k] {
			var ok bool
			var err error
			base[i] = timeIt(func() { ok, err = g.acl.Enforce(c.User, policy.Object(c.Ref), dataset.ActionRead) })
			if err != nil {
				return fmt.Errorf("baseline Enforce: %w", err)
			}
			d, err := g.svc.Check(h.ctx, c.User, c.Ref, crmaccess.ActionRead)
			if err != nil {
				return err
			}
			if ok {
				allowed++
			}
			if ok != d.Allowed {
				mismatches++
			}
		}
		if mismatches > 0 {
			return fmt.Errorf("row 1, %s grants: the baseline and crmaccess disagree on %d of %d checks", count(g.n), mismatches, k)
		}
		base50[g.n] = seconds(percentile(base, 0.50))
		samples := fmt.Sprintf("%d samples", k)
		crm50 := median(p50[g])
		r := result{row: "1", what: fmt.Sprintf("read check p50, %s grants", count(g.n)), unit: unitSeconds,
			crm: val(crm50), base: valNote(base50[g.n], samples)}
		if g == large {
			r.target, r.met = "≤ 3 µs", yes(crm50 <= 3e-6)
		}
		h.add(r)
		h.note("row 1, %s grants: baseline %d of the same checks (%d allowed), same answers", count(g.n), k, allowed)
		if g == large {
			crm99 := median(p99[g])
			h.add(result{row: "1", what: fmt.Sprintf("read check p99, %s grants", count(g.n)), unit: unitSeconds,
				crm: val(crm99), base: valNote(seconds(percentile(base, 0.99)), "max of "+samples),
				target: "≤ 20 µs", met: yes(crm99 <= 20e-6)})
			if h.stock != nil {
				h.add(result{row: "1", what: fmt.Sprintf("… read check p50, %s grants; baseline column: stock Casbin, object-first g lines (row 6's run)", count(g.n)),
					unit: unitSeconds, crm: val(crm50), base: valNote(h.stock.P50, "p99 "+unitSeconds.format(h.stock.P99))})
			}
		}
	}
	q := median(ratios)
	h.add(result{row: "1", what: fmt.Sprintf("p50 at %s ÷ p50 at %s grants", count(large.n), count(small.n)), unit: unitTimes,
		crm: val(q), base: val(base50[large.n] / base50[small.n]), target: "≤ 2", met: yes(q <= 2)})
	h.add(result{row: "1", what: fmt.Sprintf("… the same with the %s-grant checks confined to %s records (as many as the %s set has)",
		count(large.n), group(float64(len(hotFx.Opportunities))), count(small.n)), unit: unitTimes,
		crm: val(median(hotRatios)), base: text("—")})
	h.note("row 1: crmaccess medians of %d runs of %s checks a grant set (random user, random opportunity), the sets taking turns in each run; ratios taken run by run",
		h.cfg.checkReps, group(float64(h.cfg.checksPerRep)))
	return nil
}

// scaling is row 2: read-check throughput on two goroutines against one,
// GOMAXPROCS=2, on the largest grant set.
func (h *harness) scaling() error {
	g := h.large()
	checks := dataset.Checks(g.fx, 1<<18, 2)
	var ratios, single, control []float64
	for range h.cfg.scaleReps {
		one, err := h.throughput(g, checks, 1)
		if err != nil {
			return err
		}
		two, err := h.throughput(g, checks, 2)
		if err != nil {
			return err
		}
		ratios = append(ratios, two/one)
		single = append(single, one)
		control = append(control, h.spin(2)/h.spin(1))
	}

	// The baseline: the same number of denied checks on each goroutine (a
	// denied check reads every line; allowed ones stop early and vary).
	var denied []dataset.Check
	for _, c := range checks {
		if d, _ := g.svc.Check(h.ctx, c.User, c.Ref, crmaccess.ActionRead); !d.Allowed {
			denied = append(denied, c)
			if len(denied) == 2*h.cfg.baselineScaleChecks {
				break
			}
		}
	}
	k := h.cfg.baselineScaleChecks
	var baseRatios, baseSingle []float64
	for range min(3, h.cfg.scaleReps) {
		t1 := timeIt(func() { h.enforceAll(g, denied[:k]) })
		t2 := timeIt(func() {
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Add(1)
				go func() { defer wg.Done(); h.enforceAll(g, denied[w*k:(w+1)*k]) }()
			}
			wg.Wait()
		})
		one, two := float64(k)/t1.Seconds(), float64(2*k)/t2.Seconds()
		baseRatios = append(baseRatios, two/one)
		baseSingle = append(baseSingle, one)
	}
	q := median(ratios)
	h.add(result{row: "2", what: fmt.Sprintf("read checks/s, 1 goroutine, %s grants", count(g.n)), unit: unitPerSecond,
		crm: val(median(single)), base: val(median(baseSingle))})
	h.add(result{row: "2", what: "read throughput, 2 goroutines ÷ 1 (GOMAXPROCS=2)", unit: unitTimes,
		crm: val(q), base: val(median(baseRatios)), target: "≥ 1.8", met: yes(q >= 1.8)})
	if h.stock != nil {
		h.add(result{row: "2", what: "… baseline column: stock Casbin, object-first g lines (row 6's run, distinct checks)", unit: unitTimes,
			crm: val(q), base: val(h.stock.PerSec2 / h.stock.PerSec1)})
	}
	h.add(result{row: "2", what: "… control: a CPU-only loop (no memory, nothing shared) in the same windows, 2 goroutines ÷ 1: what the machine gave", unit: unitTimes,
		crm: val(median(control)), base: text("—")})
	efficiency := make([]float64, len(ratios))
	for i := range ratios {
		efficiency[i] = ratios[i] / control[i]
	}
	h.add(result{row: "2", what: "… crmaccess's ratio ÷ the control's, window by window (1.00: checks scale as well as the machine let a CPU-only loop)", unit: unitTimes,
		crm: val(median(efficiency)), base: text("—")})
	h.note("row 2: crmaccess medians of %d alternating %s windows on 1 and 2 goroutines, each followed by the control's; baseline %d denied checks on 1 goroutine against %d on each of 2, %d times",
		h.cfg.scaleReps, h.cfg.scaleWindow, k, k, min(3, h.cfg.scaleReps))
	return nil
}

// throughput runs checks on workers goroutines for the configured window
// and returns checks per second.
func (h *harness) throughput(g *grantSet, checks []dataset.Check, workers int) (float64, error) {
	var stop atomic.Bool
	var total atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for i := w * 7919; !stop.Load(); i += 64 {
				for j := range 64 {
					c := &checks[(i+j)&(len(checks)-1)]
					if _, err := g.svc.Check(h.ctx, c.User, c.Ref, crmaccess.ActionRead); err != nil {
						failed.Store(err)
						return
					}
				}
				n += 64
			}
			total.Add(int64(n))
		}()
	}
	time.Sleep(h.cfg.scaleWindow)
	stop.Store(true)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return 0, err
	}
	return float64(total.Load()) / time.Since(start).Seconds(), nil
}

var spinSink atomic.Uint64

// spin runs a CPU-only loop on workers goroutines for the configured
// window and returns its iterations per second: the control of row 2.
func (h *harness) spin(workers int) float64 {
	var stop atomic.Bool
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, n := uint64(w+1), 0
			for !stop.Load() {
				for range 1000 {
					x = x*6364136223846793005 + 1442695040888963407
				}
				n++
			}
			total.Add(int64(n))
			spinSink.Add(x) // keeps the loop from being optimized away
		}()
	}
	time.Sleep(h.cfg.scaleWindow)
	stop.Store(true)
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

func (h *harness) enforceAll(g *grantSet, checks []dataset.Check) {
	for _, c := range checks {
		if _, err := g.acl.Enforce(c.User, policy.Object(c.Ref), dataset.ActionRead); err != nil {
			panic(err)
		}
	}
}

// timeChecks times the read checks of each set, the sets taking turns in
// each of the configured runs: every run's p50 and p99 by set, and run by
// run the ratio of large's p50 and of hot's to small's.
func (h *harness) timeChecks(sets []*grantSet, checks map[*grantSet][]dataset.Check, small, large, hot *grantSet) (
	p50, p99 map[*grantSet][]float64, ratios, hotRatios []float64, err error) {
	p50 = map[*grantSet][]float64{}
	p99 = map[*grantSet][]float64{}
	lat := make([]time.Duration, h.cfg.checksPerRep)
	for range h.cfg.checkReps {
		for _, g := range sets {
			for i, c := range checks[g] {
				t := time.Now()
				_, err := g.svc.Check(h.ctx, c.User, c.Ref, crmaccess.ActionRead)
				lat[i] = time.Since(t)
				if err != nil {
					return nil, nil, nil, nil, err
				}
			}
			p50[g] = append(p50[g], seconds(percentile(lat, 0.50)))
			p99[g] = append(p99[g], seconds(percentile(lat, 0.99)))
		}
		last := len(p50[small]) - 1
		ratios = append(ratios, p50[large][last]/p50[small][last])
		hotRatios = append(hotRatios, p50[hot][last]/p50[small][last])
	}
	return p50, p99, ratios, hotRatios, nil
}
