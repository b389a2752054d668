package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// Row 10's load: 16 clients, each the creator of its own opportunities
// toggling their lists, as row 7's clients do.
const (
	writeClients   = 16
	writePerClient = 32
)

// writersResult is row 10 on one database.
type writersResult struct {
	one, two       []float64 // writes a second of each run: 1 instance, 2 instances
	ratios         []float64 // two ÷ one, run by run
	second         []float64 // the second instance's share of the writes of a 2-instance run
	p99one, p99two []float64 // seconds
	cpuOne, cpuTwo []float64 // this process's CPU seconds a write; nil where not measured
	writes         int
	failed         map[string]int // failed writes by error code
}

// twoWriters is row 10: write throughput with 2 instances of 8 clients each
// against 1 instance of 16, on the same records for the same window, runs
// taking turns.
func (h *harness) twoWriters() error {
	rs, err := onEach(h, h.writersOn)
	if err != nil {
		return fmt.Errorf("row 10: %w", err)
	}
	g := h.large()
	h.addSide(sideResult{row: "10", what: fmt.Sprintf("writes/s, 2 instances × %d clients, disjoint opportunities, one change a write, %s grants", writeClients/2, count(g.n)),
		unit: unitPerSecond, on: sideFigures(rs, func(r *writersResult) figure { return val(median(r.two)) })})
	h.addSide(sideResult{row: "10", what: fmt.Sprintf("… 1 instance × %d clients, the same records and window", writeClients),
		unit: unitPerSecond, on: sideFigures(rs, func(r *writersResult) figure { return val(median(r.one)) })})
	h.addSide(sideResult{row: "10", what: "… 2 instances ÷ 1, run by run", unit: unitTimes,
		on:     sideFigures(rs, func(r *writersResult) figure { return val(median(r.ratios)) }),
		target: sameTarget("≥ 0.8"), met: sideMet(rs, func(_ int, r *writersResult) bool { return median(r.ratios) >= 0.8 })})
	h.addSide(sideResult{row: "10", what: "… this process's CPU time a write, 2 instances / 1 (on PostgreSQL without the server's)", unit: unitSeconds,
		on: sideFigures(rs, func(r *writersResult) figure {
			if len(r.cpuOne) == 0 {
				return text("not measured")
			}
			return text(unitSeconds.format(median(r.cpuTwo)) + " / " + unitSeconds.format(median(r.cpuOne)))
		})})
	h.addSide(sideResult{row: "10", what: "… p99 of a write, 2 instances / 1", unit: unitSeconds,
		on: sideFigures(rs, func(r *writersResult) figure {
			return text(unitSeconds.format(median(r.p99two)) + " / " + unitSeconds.format(median(r.p99one)))
		})})
	for _, d := range h.shared {
		r := rs[slices.Index(databases[:], d.name)]
		failed := "no write failed"
		if len(r.failed) > 0 {
			var parts []string
			for _, code := range slices.Sorted(maps.Keys(r.failed)) {
				parts = append(parts, fmt.Sprintf("%d %s", r.failed[code], code))
			}
			failed = "failed writes: " + strings.Join(parts, ", ")
		}
		h.note("row 10, %s: medians of %d runs of %s of each configuration, each after %s of the same writes uncounted, taking turns (%s writes counted; %s); each of %d clients toggles the lists of its %d opportunities (SetOpportunityAccess by the creator); every instance follows the log with the default settings, the second one started afresh for each of its runs; the second instance made %.0f %% of the writes of a 2-instance run (median)",
			d.name, len(r.ratios), h.cfg.writeWindow, h.writeWarmup(), group(float64(r.writes)), failed, writeClients, writePerClient, 100*median(r.second))
	}
	return nil
}

func (h *harness) writersOn(d *sharedDB) (writersResult, error) {
	r := writersResult{failed: map[string]int{}}
	a, err := openInstance(h.ctx, d.args, 0)
	if err != nil {
		return r, err
	}
	defer a.close()
	targets := spreadTargets(d.g.fx, writeClients*writePerClient, 2)
	if len(targets) != writeClients*writePerClient {
		return r, fmt.Errorf("%d opportunities for %d clients", len(targets), writeClients)
	}
	state := make([]int, len(targets)) // every target on listA
	if _, err := setLists(h.ctx, a, targets, state); err != nil {
		return r, err
	}
	for range h.cfg.writeReps {
		one, err := h.writeWindow([]*instance{a}, targets, state, r.failed)
		if err != nil {
			return r, err
		}
		b, err := openInstance(h.ctx, d.args, 0)
		if err != nil {
			return r, err
		}
		two, err := h.writeWindow([]*instance{a, b}, targets, state, r.failed)
		b.close()
		if err != nil {
			return r, err
		}
		r.one, r.two = append(r.one, one.rate), append(r.two, two.rate)
		r.ratios = append(r.ratios, two.rate/one.rate)
		r.second = append(r.second, float64(two.byInstance[1])/float64(two.byInstance[0]+two.byInstance[1]))
		r.p99one, r.p99two = append(r.p99one, one.p99), append(r.p99two, two.p99)
		if one.cpu > 0 && two.cpu > 0 {
			r.cpuOne, r.cpuTwo = append(r.cpuOne, one.cpu), append(r.cpuTwo, two.cpu)
		}
		r.writes += one.byInstance[0] + two.byInstance[0] + two.byInstance[1]
	}
	return r, nil
}

// writeRun is one window of row 10.
type writeRun struct {
	rate       float64 // successful writes a second
	p99        float64 // seconds
	byInstance []int   // successful writes
	cpu        float64 // this process's CPU seconds a counted write; 0 where not measured
}

// writeWarmup is how long the clients of a run of row 10 write before
// their writes count: a second instance just started opens its
// connections and prepares its statements then.
func (h *harness) writeWarmup() time.Duration { return max(300*time.Millisecond, h.cfg.writeWindow/5) }

// writeWindow runs writeClients clients for the warm-up and then the row's
// window, the clients split evenly over the instances; client c toggles
// the lists of its targets, whose lists state tracks. Only the writes that
// start in the window count. Failed writes are counted by code in failed.
func (h *harness) writeWindow(ins []*instance, targets []*crmaccess.Opportunity, state []int, failed map[string]int) (writeRun, error) {
	lat := make([][]time.Duration, writeClients)
	fails := make([]map[string]int, writeClients)
	var wg sync.WaitGroup
	start := time.Now().Add(h.writeWarmup())
	deadline := start.Add(h.cfg.writeWindow)
	cpuStart := make(chan time.Duration, 1)
	go func() {
		time.Sleep(time.Until(start))
		c, ok := processCPU()
		if !ok {
			c = -1
		}
		cpuStart <- c
	}()
	for c := range writeClients {
		wg.Add(1)
		fails[c] = map[string]int{}
		in := ins[c*len(ins)/writeClients]
		go func() {
			defer wg.Done()
			for i := 0; h.ctx.Err() == nil; i++ {
				t := time.Now()
				if !t.Before(deadline) {
					return
				}
				k := c*writePerClient + i%writePerClient
				o := targets[k]
				_, err := in.svc.SetOpportunityAccess(h.ctx, o.CreateBy, o.ID, true, [][]string{listA, listB}[state[k]^1])
				if err == nil {
					state[k] ^= 1
				}
				if t.Before(start) {
					continue // warming up
				}
				if err != nil {
					fails[c][crmaccess.ErrorCode(err)]++
					continue
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpuEnd, _ := processCPU()
	if err := h.ctx.Err(); err != nil {
		return writeRun{}, err
	}
	run := writeRun{byInstance: make([]int, len(ins))}
	var all []time.Duration
	for c := range writeClients {
		run.byInstance[c*len(ins)/writeClients] += len(lat[c])
		all = append(all, lat[c]...)
		for code, n := range fails[c] {
			failed[code] += n
		}
	}
	if len(all) == 0 {
		return run, errors.New("no write succeeded")
	}
	run.rate = float64(len(all)) / elapsed.Seconds()
	if c0 := <-cpuStart; c0 >= 0 && cpuEnd > c0 {
		run.cpu = (cpuEnd - c0).Seconds() / float64(len(all))
	}
	run.p99 = seconds(percentile(all, 0.99))
	return run, nil
}

// catchUpResult is row 11 on one database.
type catchUpResult struct {
	secs, rates  []float64 // the catch-up of each run, and its changes a second
	cpu          []float64 // this process's CPU time during each catch-up; nil where not measured
	make         []float64 // the writer's time to make the changes of each run
	changes      []int
	writes       int
	restart      coldResult
	writeChanges int // changes a write
}

// catchUp is row 11: at the largest grant set, an instance that does not
// follow in the background (PollInterval < 0) is brought up to the
// writer's last token (WaitFor) from about catchUpChanges changes behind,
// made by a writer instance through SetContactsAccess on a set of
// companies, toggled between private with listA as managers and shared.
func (h *harness) catchUp() error {
	rs, err := onEach(h, h.catchUpOn)
	if err != nil {
		return fmt.Errorf("row 11: %w", err)
	}
	g := h.large()
	var changes, writeChanges int
	for _, r := range rs {
		if r != nil {
			changes, writeChanges = r.changes[0], r.writeChanges
		}
	}
	h.addSide(sideResult{row: "11", what: fmt.Sprintf("catch-up, %s grants: an instance %s changes behind (not following) reaches the writer's last token (WaitFor)", count(g.n), group(float64(changes))),
		unit: unitSeconds, on: sideFigures(rs, func(r *catchUpResult) figure { return val(median(r.secs)) }),
		target: sameTarget("≤ 3 s"), met: sideMet(rs, func(_ int, r *catchUpResult) bool { return median(r.secs) <= 3 })})
	h.addSide(sideResult{row: "11", what: "… changes applied a second", unit: unitPerSecond,
		on: sideFigures(rs, func(r *catchUpResult) figure { return val(median(r.rates)) })})
	h.addSide(sideResult{row: "11", what: "… this process's CPU time during the catch-up (what it needed; the time above is also what the machine let it have)", unit: unitSeconds,
		on: sideFigures(rs, func(r *catchUpResult) figure { return cpuFigure(r.cpu) })})
	h.addSide(sideResult{row: "11", what: "… restart instead: a fresh process opens the store and loads the snapshot, at the same state", unit: unitSeconds,
		on: sideFigures(rs, func(r *catchUpResult) figure { return val(r.restart.Seconds) })})
	h.addSide(sideResult{row: "11", what: fmt.Sprintf("… the writer's time to make those changes (SetContactsAccess, %s companies a write)", group(float64(writeChanges))), unit: unitSeconds,
		on: sideFigures(rs, func(r *catchUpResult) figure { return val(median(r.make)) })})
	search := "every company"
	if h.cfg.catchUpSearch != "" {
		search = fmt.Sprintf("the companies with a word of their name starting %q", h.cfg.catchUpSearch)
	}
	h.note("row 11: medians of %d runs on each database; a writer instance makes the changes with SetContactsAccess on %s (%s a write), private with listA as managers and shared in turn, while the other instance, started with PollInterval -1 at the writer's state, does not look at the log; then that instance's WaitFor of the writer's last token is timed, and its answers are compared with the writer's; the restart is row 5's cold start, once, after the last run",
		h.cfg.catchUpReps, search, group(float64(writeChanges)))
	return nil
}

func (h *harness) catchUpOn(d *sharedDB) (catchUpResult, error) {
	var r catchUpResult
	w, err := openInstance(h.ctx, d.args, 0)
	if err != nil {
		return r, err
	}
	defer w.close()
	c, err := openInstance(h.ctx, d.args, -1)
	if err != nil {
		return r, err
	}
	defer c.close()
	filter := crmaccess.ContactFilter{ListView: crmaccess.ListCompany, Search: h.cfg.catchUpSearch}
	actor := listA[0] // a manager of the companies it makes private
	private := true
	var companies []crmaccess.Ref
	for range h.cfg.catchUpReps {
		var last crmaccess.Token
		changes := 0
		var err error
		took := timeIt(func() {
			for changes < h.cfg.catchUpChanges && err == nil {
				var res *crmaccess.ContactsAccessResult
				if res, err = w.svc.SetContactsAccess(h.ctx, actor, filter, private, listA); err != nil {
					break
				}
				if len(res.Contacts) == 0 || res.Skipped != 0 {
					err = fmt.Errorf("the filter call changed %d companies and skipped %d", len(res.Contacts), res.Skipped)
				}
				if companies == nil {
					for _, ct := range res.Contacts[:min(8, len(res.Contacts))] {
						companies = append(companies, crmaccess.ContactRef(ct.ID))
					}
				}
				r.writeChanges = len(res.Contacts)
				changes += len(res.Contacts)
				r.writes++
				private = !private
				last = res.Token
			}
		})
		if err != nil {
			return r, err
		}
		d, used, measured := timeCPU(func() { err = c.svc.WaitFor(h.ctx, last) })
		if err != nil {
			return r, err
		}
		if measured {
			r.cpu = append(r.cpu, used.Seconds())
		}
		if got := c.svc.Token(); got != last {
			return r, fmt.Errorf("caught up to %s, not %s", got, last)
		}
		if err := sameAnswers(h, w.svc, c.svc, companies); err != nil {
			return r, err
		}
		r.secs = append(r.secs, d.Seconds())
		r.rates = append(r.rates, float64(changes)/d.Seconds())
		r.make = append(r.make, took.Seconds())
		r.changes = append(r.changes, changes)
	}
	return r, h.child("cold-crm", d.args, &r.restart)
}

// sameAnswers compares two instances' read and edit checks of refs for a
// few users.
func sameAnswers(h *harness, a, b *crmaccess.Service, refs []crmaccess.Ref) error {
	for _, ref := range refs {
		for _, u := range []string{listA[0], listB[0], dataset.UserID(0)} {
			for _, act := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit} {
				x, err := a.Check(h.ctx, u, ref, act)
				if err != nil {
					return err
				}
				y, err := b.Check(h.ctx, u, ref, act)
				if err != nil {
					return err
				}
				if x.Allowed != y.Allowed {
					return fmt.Errorf("after catching up, %s may %s %v on one instance and not the other", u, act, ref)
				}
			}
		}
	}
	return nil
}

// cpuFigure is the median of CPU times, or "not measured".
func cpuFigure(secs []float64) figure {
	if len(secs) == 0 {
		return text("not measured")
	}
	return val(median(secs))
}
