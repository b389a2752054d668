package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// lagGap bounds the random pause between two writes of row 9: the writes
// come at moments that do not depend on when the followers saw the last
// one, about a hundred a second.
const lagGap = 20 * time.Millisecond

// witness is the user whose read check tells listA from listB: on listB
// only.
var witness = dataset.UserID(904)

// lagResult is row 9 on one database.
type lagResult struct {
	// Seconds from a write's return until a check on a follower answers
	// it: the follower with the default Options, and one with PollInterval
	// set to DefaultPollInterval.
	p50, p99    [2]float64
	writes      int
	stock       stockReload
	stockSample float64 // the median LoadPolicy
	defaultPoll string  // the default follower's settings, for the notes
	// The watcher's longest gap between two rounds of checks: how long the
	// machine or the Go runtime kept it from looking, which adds to a lag.
	longestGap float64
}

// followerLag is row 9: the time from a write on one instance to the change
// being visible on another that follows the log; anchored on the least lag
// of Casbin's watcher pattern, a stock enforcer's reload of the whole
// policy over the same database.
func (h *harness) followerLag() error {
	rs, err := onEach(h, h.lagOn)
	if err != nil {
		return fmt.Errorf("row 9: %w", err)
	}
	g := h.large()
	targets50, targets99 := [2]float64{20e-3, 5e-3}, [2]float64{100e-3, 50e-3}
	h.addSide(sideResult{row: "9", what: fmt.Sprintf("follower lag p50, %s grants: from a write's return on one instance until a check on another (default Options) answers it", count(g.n)),
		unit: unitSeconds, on: sideFigures(rs, func(r *lagResult) figure { return val(r.p50[0]) }),
		target: [2]string{"≤ 20 ms", "≤ 5 ms"}, met: sideMet(rs, func(i int, r *lagResult) bool { return r.p50[0] <= targets50[i] })})
	h.addSide(sideResult{row: "9", what: "… p99", unit: unitSeconds, on: sideFigures(rs, func(r *lagResult) figure { return val(r.p99[0]) }),
		target: [2]string{"≤ 100 ms", "≤ 50 ms"}, met: sideMet(rs, func(i int, r *lagResult) bool { return r.p99[0] <= targets99[i] })})
	h.addSide(sideResult{row: "9", what: fmt.Sprintf("… p50 on a second follower of the same writes, Options.PollInterval set to DefaultPollInterval (%s)", crmaccess.DefaultPollInterval),
		unit: unitSeconds, on: sideFigures(rs, func(r *lagResult) figure { return val(r.p50[1]) }),
		target: [2]string{"≤ 20 ms", "≤ 5 ms"}, met: sideMet(rs, func(i int, r *lagResult) bool { return r.p50[1] <= targets50[i] })})
	h.addSide(sideResult{row: "9", what: "… its p99", unit: unitSeconds, on: sideFigures(rs, func(r *lagResult) figure { return val(r.p99[1]) }),
		target: [2]string{"≤ 100 ms", "≤ 50 ms"}, met: sideMet(rs, func(i int, r *lagResult) bool { return r.p99[1] <= targets99[i] })})
	h.addSide(sideResult{row: "9", what: "… control: the watching loop's longest gap between two rounds of checks (the machine's or the Go runtime's pause, which a lag includes)",
		unit: unitSeconds, on: sideFigures(rs, func(r *lagResult) figure { return val(r.longestGap) })})
	h.addSide(sideResult{row: "9", what: "… anchor, Casbin's watcher pattern: a stock enforcer (policy.Model(), gorm-adapter) reloading the whole policy (LoadPolicy), the least lag that pattern can have",
		unit: unitSeconds, on: sideFigures(rs, func(r *lagResult) figure {
			return valNote(r.stockSample, fmt.Sprintf("first load %s", unitSeconds.format(r.stock.First)))
		})})
	h.addSide(sideResult{row: "9", what: "… follower lag p50 (default Options) ÷ the anchor", unit: unitTimes,
		on: sideFigures(rs, func(r *lagResult) figure { return val(r.p50[0] / r.stockSample) })})
	for _, d := range h.shared {
		r := rs[slices.Index(databases[:], d.name)]
		h.note("row 9, %s: %d writes (SetOpportunityAccess by the creator, toggling 64 opportunities between listA and listB), each after a random pause of up to %s whatever the followers have seen; two followers of the same writes in this process, one with the default Options (documented: %s) and one with PollInterval %s, are asked in a loop that yields between rounds whether a user on listB only may read, until each answers every write, and at the end each holds the writer's last token; the anchor is a stock enforcer's LoadPolicy over %s rule lines in a fresh process, after its first load (the median of %d)",
			d.name, r.writes, lagGap, r.defaultPoll, crmaccess.DefaultPollInterval, group(float64(r.stock.Lines)), len(r.stock.Reloads))
	}
	return nil
}

func (h *harness) lagOn(d *sharedDB) (lagResult, error) {
	var r lagResult
	if err := h.child("stock-reload", childArgs{DB: d.args.DB, Prefix: d.args.Prefix, N: h.cfg.stockReloads}, &r.stock); err != nil {
		return r, err
	}
	r.stockSample = median(r.stock.Reloads)
	r.defaultPoll = fmt.Sprintf("polling every %s", crmaccess.DefaultPollInterval)
	if d.args.Prefix != "" {
		r.defaultPoll = fmt.Sprintf("LISTEN/NOTIFY, and polling every %s", crmaccess.DefaultNotifiedPollInterval)
	}
	w, err := openInstance(h.ctx, d.args, 0)
	if err != nil {
		return r, err
	}
	defer w.close()
	var followers [2]*instance
	for i, poll := range []time.Duration{0, crmaccess.DefaultPollInterval} {
		if followers[i], err = openInstance(h.ctx, d.args, poll); err != nil {
			return r, err
		}
		defer followers[i].close()
	}

	targets := spreadTargets(d.g.fx, 64, 1, witness)
	state := make([]int, len(targets)) // every target on listA, and the followers know it
	tok, err := setLists(h.ctx, w, targets, state)
	if err != nil {
		return r, err
	}
	for _, f := range followers {
		if err := f.svc.WaitFor(h.ctx, tok); err != nil {
			return r, err
		}
	}

	// A goroutine writes at random moments; this one watches the followers.
	type write struct {
		k       int
		onB     bool
		written time.Time
		seen    [2]bool
	}
	var (
		mu       sync.Mutex
		queue    []write
		last     crmaccess.Token
		writeErr error
		done     = make(chan struct{})
		waiting  = make([]atomic.Bool, len(targets)) // written, not yet seen by both
	)
	go func() {
		defer close(done)
		pause := rand.New(rand.NewPCG(9, 9))
		for i := range h.cfg.lagWrites {
			time.Sleep(time.Duration(pause.Int64N(int64(lagGap))))
			k := i % len(targets)
			for waiting[k].Load() && h.ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			o := targets[k]
			state[k] ^= 1
			waiting[k].Store(true)
			res, err := w.svc.SetOpportunityAccess(h.ctx, o.CreateBy, o.ID, true, [][]string{listA, listB}[state[k]])
			if err != nil {
				writeErr = err
				return
			}
			mu.Lock()
			queue = append(queue, write{k: k, onB: state[k] == 1, written: time.Now()})
			last = res.Token
			mu.Unlock()
		}
	}()
	var lat [2][]time.Duration
	var watched []write
	round := time.Now()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // after this round, with every write queued
		default:
		}
		mu.Lock()
		watched = append(watched, queue...)
		queue = queue[:0]
		mu.Unlock()
		for len(watched) > 0 || !finished {
			for j := 0; j < len(watched); {
				wr := &watched[j]
				for i, f := range followers {
					if wr.seen[i] {
						continue
					}
					dec, err := f.svc.Check(h.ctx, witness, crmaccess.OpportunityRef(targets[wr.k].ID), crmaccess.ActionRead)
					if err != nil {
						return r, err
					}
					if dec.Allowed == wr.onB {
						wr.seen[i] = true
						lat[i] = append(lat[i], time.Since(wr.written))
					}
				}
				if wr.seen[0] && wr.seen[1] {
					waiting[wr.k].Store(false)
					watched = slices.Delete(watched, j, j+1)
					continue
				}
				if time.Since(wr.written) > 10*time.Second {
					return r, fmt.Errorf("a write not seen by both followers after 10 s")
				}
				j++
			}
			if err := h.ctx.Err(); err != nil {
				return r, err
			}
			runtime.Gosched()
			now := time.Now()
			r.longestGap = max(r.longestGap, now.Sub(round).Seconds())
			round = now
			if !finished {
				break // look for new writes
			}
		}
	}
	if writeErr != nil {
		return r, writeErr
	}
	for i, f := range followers {
		if err := waitFollowed(h.ctx, f.svc, last); err != nil {
			return r, err
		}
		r.p50[i], r.p99[i] = seconds(percentile(lat[i], 0.5)), seconds(percentile(lat[i], 0.99))
	}
	r.writes = len(lat[0])
	return r, nil
}

// stockReload is what the stock-reload child reports, in seconds.
type stockReload struct {
	Lines   int       `json:"lines"`
	First   float64   `json:"first"`   // casbin.NewEnforcer, whose LoadPolicy is the first
	Reloads []float64 `json:"reloads"` // LoadPolicy again, as a watcher's callback does
}

// stockReloadChild is the anchor of row 9, in a fresh process: a stock
// Casbin enforcer on crmaccess's model loaded by gorm-adapter from the
// rule table of the database a names, then reloaded N times.
func stockReloadChild(ctx context.Context, a childArgs) (any, error) {
	db, err := openSharedGorm(a)
	if err != nil {
		return nil, err
	}
	defer closeGorm(db)
	table := ruleTable(a.Prefix)
	var r stockReload
	if err := db.Raw("SELECT COUNT(*) FROM " + table).Scan(&r.Lines).Error; err != nil {
		return nil, err
	}
	var e *casbin.Enforcer
	d := timeIt(func() { e, err = openStockGrouping(db, table) })
	if err != nil {
		return nil, err
	}
	r.First = d.Seconds()
	for range a.N {
		d := timeIt(func() { err = e.LoadPolicy() })
		if err != nil {
			return nil, err
		}
		r.Reloads = append(r.Reloads, d.Seconds())
	}
	return r, nil
}

// followResult is row 12 on one database.
type followResult struct {
	quiet50, busy50 []float64 // check p50 of each run, seconds
	quiet99, busy99 []float64
	checks          int     // timed checks in all
	writes          int     // the writer's writes in all
	rate            float64 // the writer's median writes a second
}

// checksWhileFollowing is row 12: read checks at the largest grant set on
// an instance that follows the log while another instance, in another
// process, writes 1,000 changes a second; against the same checks with no
// writes, runs taking turns.
func (h *harness) checksWhileFollowing() error {
	rs, err := onEach(h, h.followOn)
	if err != nil {
		return fmt.Errorf("row 12: %w", err)
	}
	g := h.large()
	h.addSide(sideResult{row: "12", what: fmt.Sprintf("read check p50, %s grants, on an instance following another's %s changes/s", count(g.n), group(float64(h.cfg.followRate))),
		unit: unitSeconds, on: sideFigures(rs, func(r *followResult) figure { return val(median(r.busy50)) }),
		target: sameTarget("≤ 0.5 µs"), met: sideMet(rs, func(_ int, r *followResult) bool { return median(r.busy50) <= 0.5e-6 })})
	h.addSide(sideResult{row: "12", what: "… the same checks, no writes", unit: unitSeconds,
		on: sideFigures(rs, func(r *followResult) figure { return val(median(r.quiet50)) })})
	h.addSide(sideResult{row: "12", what: "… p99 with the writes / without", unit: unitSeconds,
		on: sideFigures(rs, func(r *followResult) figure {
			return text(unitSeconds.format(median(r.busy99)) + " / " + unitSeconds.format(median(r.quiet99)))
		})})
	h.addSide(sideResult{row: "12", what: "… the writer's rate (one change a write), median of the runs", unit: unitPerSecond,
		on: sideFigures(rs, func(r *followResult) figure { return val(r.rate) })})
	for _, d := range h.shared {
		r := rs[slices.Index(databases[:], d.name)]
		h.note("row 12, %s: medians of %d runs of %s with writes and %d without, taking turns (%s timed checks of random users on random opportunities in all, on one goroutine, on a follower with the default Options); the writer is a Service in a child process toggling the lists of 512 opportunities, a write due every 1/%s s, taken by %d goroutines (%s writes in all); the follower reaches the writer's last state after each run",
			d.name, len(r.busy50), h.cfg.followWindow, len(r.quiet50), group(float64(r.checks)), group(float64(h.cfg.followRate)), pacedWorkers, group(float64(r.writes)))
	}
	return nil
}

func (h *harness) followOn(d *sharedDB) (followResult, error) {
	var r followResult
	f, err := openInstance(h.ctx, d.args, 0)
	if err != nil {
		return r, err
	}
	defer f.close()
	checks := dataset.Checks(d.g.fx, 1<<16, 12)
	lat := make([]time.Duration, 0, 1<<23) // 8M samples, 64 MB: more than a window holds
	var rates []float64
	for range h.cfg.followReps {
		p50, p99, n, err := h.checkWindow(f.svc, checks, lat)
		if err != nil {
			return r, err
		}
		r.quiet50, r.quiet99, r.checks = append(r.quiet50, p50), append(r.quiet99, p99), r.checks+n

		var wr pacedResult
		before := f.svc.Token()
		// The writer writes for the window and a margin, from its first
		// write on; the checks start once that write reached the follower.
		margin := 500 * time.Millisecond
		a := d.args
		a.N, a.M = int((h.cfg.followWindow + margin).Milliseconds()), h.cfg.followRate
		wait, err := h.startChild("paced-writer", a, &wr)
		if err != nil {
			return r, err
		}
		for f.svc.Token() == before {
			if err := h.ctx.Err(); err != nil {
				wait()
				return r, err
			}
			time.Sleep(time.Millisecond)
		}
		p50, p99, n, err = h.checkWindow(f.svc, checks, lat)
		if werr := wait(); err == nil {
			err = werr
		}
		if err != nil {
			return r, err
		}
		r.busy50, r.busy99, r.checks = append(r.busy50, p50), append(r.busy99, p99), r.checks+n
		r.writes += wr.Writes
		rates = append(rates, float64(wr.Writes)/wr.Seconds)
		// The follower kept up: it reaches the writer's last state by
		// following.
		if err := waitFollowed(h.ctx, f.svc, wr.Last); err != nil {
			return r, err
		}
	}
	r.rate = median(rates)
	return r, nil
}

// waitFollowed waits, without catching up itself, until svc holds tok.
func waitFollowed(ctx context.Context, svc *crmaccess.Service, tok crmaccess.Token) error {
	deadline := time.Now().Add(10 * time.Second)
	for svc.Token() != tok {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the follower holds %s, not the writer's last token %s", svc.Token(), tok)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// checkWindow times read checks on svc, one by one, for the row's window
// or until lat is full, and returns their p50, p99 and count. lat is
// allocated once, so that no sample waits on its growth.
func (h *harness) checkWindow(svc *crmaccess.Service, checks []dataset.Check, lat []time.Duration) (p50, p99 float64, n int, err error) {
	lat = lat[:0]
	deadline := time.Now().Add(h.cfg.followWindow)
	for i := 0; time.Now().Before(deadline) && len(lat)+256 <= cap(lat); {
		for range 256 {
			c := &checks[i&(len(checks)-1)]
			t := time.Now()
			_, err := svc.Check(h.ctx, c.User, c.Ref, crmaccess.ActionRead)
			lat = append(lat, time.Since(t))
			if err != nil {
				return 0, 0, 0, err
			}
			i++
		}
	}
	return seconds(percentile(lat, 0.5)), seconds(percentile(lat, 0.99)), len(lat), nil
}

// pacedResult is what the paced-writer child reports.
type pacedResult struct {
	Writes  int             `json:"writes"`
	Seconds float64         `json:"seconds"` // from the first write due to the end of the last
	Last    crmaccess.Token `json:"last"`    // the writer's state after its last write
}

// pacedWorkers is how many goroutines of the paced writer take the due
// writes, so that one slow commit does not hold back the next.
const pacedWorkers = 4

// pacedWriterChild is the other instance of row 12: a Service over the
// database a names that toggles the lists of 512 opportunities of grant
// set a.Grants (from what each holds now), a write due every 1/M second,
// for N milliseconds.
func pacedWriterChild(ctx context.Context, a childArgs) (any, error) {
	in, err := openInstance(ctx, a, 0)
	if err != nil {
		return nil, err
	}
	defer in.close()
	targets := spreadTargets(dataset.Grants(a.Grants), 512, 3)
	// first[k] is the list the first write of target k sets: the other
	// one than it holds; its n-th write sets first[k]+n mod 2.
	first := make([]int, len(targets))
	for k, o := range targets {
		res, err := in.svc.Opportunity(ctx, o.CreateBy, o.ID)
		if err != nil {
			return nil, err
		}
		if res.IsPrivate && slices.Contains(res.AccessList, listA[0]) {
			first[k] = 1
		}
	}
	period := time.Second / time.Duration(a.M)
	due := int64(time.Duration(a.N) * time.Millisecond / period)
	var (
		next, written atomic.Int64
		failed        atomic.Pointer[error]
		wg            sync.WaitGroup
	)
	start := time.Now()
	for range pacedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < due && failed.Load() == nil; i = next.Add(1) - 1 {
				time.Sleep(time.Until(start.Add(time.Duration(i) * period)))
				k := int(i) % len(targets)
				o := targets[k]
				list := [][]string{listA, listB}[(first[k]+int(i)/len(targets))%2]
				if _, err := in.svc.SetOpportunityAccess(ctx, o.CreateBy, o.ID, true, list); err != nil {
					failed.Store(&err)
					return
				}
				written.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return nil, *err
	}
	// Every write applied its own entry before returning, and no one else
	// writes: memory is at the last one.
	return pacedResult{Writes: int(written.Load()), Seconds: time.Since(start).Seconds(), Last: in.svc.Token()}, nil
}
