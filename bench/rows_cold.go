package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// coldResult is what a cold-start child reports.
type coldResult struct {
	Seconds   float64 `json:"seconds"`
	HeapBytes uint64  `json:"heapBytes"` // live heap after GC, everything loaded
	MaxRSS    uint64  `json:"maxRSS"`    // the process's peak resident memory
	CPU       float64 `json:"cpu"`       // the process's CPU time (user + system) until loaded, seconds; 0 when unknown
}

// coldCRM opens a crmaccess database and loads its rules: storage.Open (or
// storage.New over PostgreSQL), policy.New, crmaccess.NewService.
func coldCRM(ctx context.Context, a childArgs) (any, error) {
	t := time.Now()
	in, err := openInstance(ctx, a, 0)
	if err != nil {
		return nil, err
	}
	d := time.Since(t)
	cpu, _ := processCPU()
	heap := liveHeap()
	runtime.KeepAlive(in.svc)
	in.close()
	return coldResult{Seconds: d.Seconds(), HeapBytes: heap, MaxRSS: maxRSS(), CPU: cpu.Seconds()}, nil
}

// coldACL is the baseline's cold start: casbin.NewEnforcer on the ACL model
// with gorm-adapter, whose LoadPolicy reads every line.
func coldACL(ctx context.Context, a childArgs) (any, error) {
	t := time.Now()
	db, err := openGorm(a.DB)
	if err != nil {
		return nil, err
	}
	e, err := openACL(db)
	if err != nil {
		return nil, err
	}
	d := time.Since(t)
	heap := liveHeap()
	runtime.KeepAlive(e)
	closeGorm(db)
	return coldResult{Seconds: d.Seconds(), HeapBytes: heap}, nil
}

// coldStart is row 5: open and load the largest grant set, each run in a
// fresh process.
func (h *harness) coldStart() error {
	g := h.large()
	measure := func(name, db string, reps int) (secs, heap []float64, err error) {
		for range reps {
			var r coldResult
			if err := h.child(name, childArgs{DB: db}, &r); err != nil {
				return nil, nil, err
			}
			secs = append(secs, r.Seconds)
			heap = append(heap, float64(r.HeapBytes))
		}
		return secs, heap, nil
	}
	secs, heap, err := measure("cold-crm", g.crmPath, h.cfg.coldReps)
	if err != nil {
		return err
	}
	bsecs, bheap, err := measure("cold-acl", g.aclPath, h.cfg.baselineCold)
	if err != nil {
		return err
	}
	t, m := median(secs), median(heap)
	h.add(result{row: "5", what: fmt.Sprintf("cold start: open and load %s grants", count(g.n)), unit: unitSeconds,
		crm: val(t), base: val(median(bsecs)), target: "≤ 3 s", met: yes(t <= 3)})
	h.add(result{row: "5", what: "… live heap after GC, loaded", unit: unitBytes,
		crm: val(m), base: val(median(bheap)), target: "≤ 400 MB", met: yes(m <= 400e6)})
	h.note("row 5: each run a fresh process; crmaccess storage.Open + policy.New + crmaccess.NewService (median of %d), baseline casbin.NewEnforcer(ACL model, gorm-adapter) with LoadPolicy (median of %d); heap is the live heap objects after runtime.GC",
		h.cfg.coldReps, h.cfg.baselineCold)
	return nil
}

// distinctResult is what a distinct-checks child reports.
type distinctResult struct {
	Checks      int     `json:"checks"`
	GrowthBytes int64   `json:"growthBytes"` // live heap after the checks minus before
	Seconds     float64 `json:"seconds"`     // for the checks
	LoadSeconds float64 `json:"loadSeconds"`

	// The stock enforcer's latency and scaling, on distinct checks.
	P50     float64 `json:"p50,omitempty"`
	P99     float64 `json:"p99,omitempty"`
	PerSec1 float64 `json:"perSec1,omitempty"`
	PerSec2 float64 `json:"perSec2,omitempty"`
}

// distinctCRM runs N distinct read checks over M opportunities on two
// goroutines and reports how the live heap grew.
func distinctCRM(ctx context.Context, a childArgs) (any, error) {
	t := time.Now()
	st, svc, err := newService(ctx, a.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	load := time.Since(t)
	before := liveHeap()
	var failed atomic.Value
	var wg sync.WaitGroup
	t = time.Now()
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < a.N; k += 2 {
				c := dataset.DistinctCheck(a.M, k)
				if _, err := svc.Check(ctx, c.User, c.Ref, crmaccess.ActionRead); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(t)
	if err, ok := failed.Load().(error); ok {
		return nil, err
	}
	after := liveHeap()
	runtime.KeepAlive(svc)
	return distinctResult{Checks: a.N, GrowthBytes: int64(after) - int64(before), Seconds: d.Seconds(), LoadSeconds: load.Seconds()}, nil
}

// distinctCasbin is the second reference: stock Casbin on crmaccess's model
// with the default role manager, loaded by gorm-adapter from the crmaccess
// database. It runs N distinct checks on one goroutine, timing each, and
// reports the heap growth (the g function's memo); then its throughput on
// one and on two goroutines, on further distinct checks.
func distinctCasbin(ctx context.Context, a childArgs) (any, error) {
	t := time.Now()
	db, err := openGorm(a.DB)
	if err != nil {
		return nil, err
	}
	defer closeGorm(db)
	e, err := openStockGrouping(db, storage.DefaultRuleTable)
	if err != nil {
		return nil, err
	}
	load := time.Since(t)
	before := liveHeap()
	lat := make([]time.Duration, a.N)
	t = time.Now()
	for k := range a.N {
		c := dataset.DistinctCheck(a.M, k)
		s := time.Now()
		if _, err := e.Enforce(c.User, policy.Object(c.Ref), dataset.ActionRead); err != nil {
			return nil, err
		}
		lat[k] = time.Since(s)
	}
	d := time.Since(t)
	after := liveHeap()
	r := distinctResult{Checks: a.N, GrowthBytes: int64(after) - int64(before), Seconds: d.Seconds(),
		LoadSeconds: load.Seconds(), P50: seconds(percentile(lat, 0.5)), P99: seconds(percentile(lat, 0.99))}
	lat = nil

	// Throughput on 1 and 2 goroutines, each check a new one.
	next := int64(a.N)
	window := func(workers int) float64 {
		var stop atomic.Bool
		var total atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 0
				for !stop.Load() {
					c := dataset.DistinctCheck(a.M, int(atomic.AddInt64(&next, 1)))
					if _, err := e.Enforce(c.User, policy.Object(c.Ref), dataset.ActionRead); err != nil {
						panic(err)
					}
					n++
				}
				total.Add(int64(n))
			}()
		}
		time.Sleep(500 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		return float64(total.Load()) / time.Since(start).Seconds()
	}
	var one, two []float64
	for range 3 {
		one = append(one, window(1))
		two = append(two, window(2))
	}
	r.PerSec1, r.PerSec2 = median(one), median(two)
	runtime.KeepAlive(e)
	return r, nil
}

// distinctChecks is row 6: how much the heap grows over many distinct
// checks with no policy change, with the largest grant set loaded.
func (h *harness) distinctChecks() error {
	g := h.large()
	records := len(g.fx.Opportunities)
	if h.cfg.distinct > dataset.UserCount*records {
		return fmt.Errorf("row 6: %d distinct checks exceed the %d pairs", h.cfg.distinct, dataset.UserCount*records)
	}
	var crm, stock distinctResult
	if err := h.child("distinct-crm", childArgs{DB: g.crmPath, N: h.cfg.distinct, M: records}, &crm); err != nil {
		return err
	}
	if err := h.child("distinct-casbin", childArgs{DB: g.crmPath, N: h.cfg.baselineDistinct, M: records}, &stock); err != nil {
		return err
	}
	perCheck := float64(stock.GrowthBytes) / float64(stock.Checks)
	extrapolated := perCheck * float64(h.cfg.distinct)
	growth := float64(crm.GrowthBytes)
	h.add(result{row: "6", what: fmt.Sprintf("heap growth over %s distinct checks, %s grants, no policy change; baseline column: stock Casbin, object-first g lines, default role manager",
		count(h.cfg.distinct), count(g.n)), unit: unitBytes,
		crm: val(growth), base: valNote(extrapolated, fmt.Sprintf("%.0f B a check over %s checks, extrapolated", perCheck, count(stock.Checks))),
		target: "≤ 50 MB", met: yes(growth <= 50e6)})
	h.stock = &stock
	h.note("row 6: each side in a fresh process; crmaccess ran %s distinct (user, opportunity) read checks on 2 goroutines in %.1f s; the stock enforcer (loaded by gorm-adapter in %.1f s) ran %s of the same sequence on 1 goroutine in %.1f s, and its growth is extrapolated linearly to %s; heap is live heap objects after runtime.GC",
		group(float64(crm.Checks)), crm.Seconds, stock.LoadSeconds, group(float64(stock.Checks)), stock.Seconds, group(float64(h.cfg.distinct)))
	return nil
}
