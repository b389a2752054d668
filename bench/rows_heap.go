package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/crmaccess/crmaccess/bench/dataset"
)

// filterHeapResult is what the filter-heap child reports: one entry a call,
// private with the managers and back to shared in turn.
type filterHeapResult struct {
	Private    []bool    `json:"private"`
	HeapBefore []uint64  `json:"heapBefore"` // live heap before the call (the loaded service)
	PeakHeap   []uint64  `json:"peakHeap"`   // highest heap in use during the call
	Result     []uint64  `json:"result"`     // live heap the returned result holds
	Grown      []uint64  `json:"grown"`      // live heap the call added, the result dropped (memory's new rules)
	Seconds    []float64 `json:"seconds"`
}

// filterHeapChild makes N filter calls (Service.SetContactsAccess), private
// with the three managers then back to shared, in turn, over the contacts
// data set (a SQLite file, or with a Prefix its PostgreSQL copy), in a fresh
// process, sampling the heap in use every millisecond during each; M is the
// number of matching contacts every call must change.
func filterHeapChild(ctx context.Context, a childArgs) (any, error) {
	in, err := openInstance(ctx, a, -1)
	if err != nil {
		return nil, err
	}
	defer in.close()
	filter := dataset.Filter()
	admin := dataset.UserID(dataset.ContactsAdmin)
	var out filterHeapResult
	for i := range a.N {
		private := i%2 == 0
		var managers []string
		if private {
			managers = dataset.Managers()
		}
		before := liveHeap()
		sampler := samplePeak(time.Millisecond)
		start := time.Now()
		res, err := in.svc.SetContactsAccess(ctx, admin, filter, private, managers)
		d := time.Since(start)
		peak := sampler.Peak()
		if err != nil {
			return nil, fmt.Errorf("filter call: %w", err)
		}
		if len(res.Contacts) != a.M || res.Skipped != 0 {
			return nil, fmt.Errorf("filter call: %d contacts, %d skipped; want %d, 0", len(res.Contacts), res.Skipped, a.M)
		}
		held := liveHeap()
		res.Contacts[0].Changed = res.Contacts[len(res.Contacts)-1].Changed // keeps res live until here
		res = nil
		after := liveHeap()
		out.Private = append(out.Private, private)
		out.HeapBefore = append(out.HeapBefore, before)
		out.PeakHeap = append(out.PeakHeap, peak)
		out.Result = append(out.Result, held-min(held, after))
		out.Grown = append(out.Grown, after-min(after, before))
		out.Seconds = append(out.Seconds, d.Seconds())
	}
	return out, nil
}

// filterHeap is row 4's peak heap: the filter call of row 4 in a fresh
// process, on the contacts data set's SQLite file and, when postgresDSNVar
// is set, on the same data imported into PostgreSQL (tables of a prefix of
// this run, dropped at the end).
func (h *harness) filterHeap() error {
	var rs [2]*filterHeapResult
	args := [2]childArgs{{DB: h.contactsPath, N: 2 * h.cfg.filterCalls, M: h.cfg.contacts}}
	if os.Getenv(postgresDSNVar) != "" {
		d, err := h.importContactsPostgres()
		if d != nil {
			defer d.close()
		}
		if err != nil {
			return err
		}
		args[1] = d.args
		args[1].N, args[1].M = 2*h.cfg.filterCalls, h.cfg.contacts
	}
	for i, a := range args {
		if a.DB == "" && a.Prefix == "" {
			continue
		}
		h.logf("… on %s", databases[i])
		var r filterHeapResult
		if err := h.child("filter-heap", a, &r); err != nil {
			return fmt.Errorf("%s: %w", databases[i], err)
		}
		rs[i] = &r
	}
	// The medians of the private calls, and the highest of all calls.
	private := func(r *filterHeapResult, xs []uint64) (med, top float64) {
		var ps []float64
		for i, x := range xs {
			top = max(top, float64(x))
			if r.Private[i] {
				ps = append(ps, float64(x))
			}
		}
		return median(ps), top
	}
	h.addSide(sideResult{row: "4", what: fmt.Sprintf("filter call's peak heap in use, %s matching contacts made private with 3 managers (Service.SetContactsAccess, no HTTP)", count(h.cfg.contacts)),
		unit: unitBytes, on: sideFigures(rs, func(r *filterHeapResult) figure {
			med, top := private(r, r.PeakHeap)
			return valNote(med, fmt.Sprintf("max %.1f MB over all %d calls", top/1e6, len(r.PeakHeap)))
		}), target: sameTarget("≤ 100 MB"), met: sideMet(rs, func(_ int, r *filterHeapResult) bool {
			med, _ := private(r, r.PeakHeap)
			return med <= 100e6
		})})
	h.addSide(sideResult{row: "4", what: "… live heap before the call (the loaded service) / added to memory by it / held by the returned result", unit: unitBytes,
		on: sideFigures(rs, func(r *filterHeapResult) figure {
			before, _ := private(r, r.HeapBefore)
			grown, _ := private(r, r.Grown)
			held, _ := private(r, r.Result)
			return text(fmt.Sprintf("%.1f MB / %.1f MB / %.1f MB", before/1e6, grown/1e6, held/1e6))
		})})
	h.note("row 4, peak heap: on each database a fresh process makes %d filter calls, private with 3 managers and back to shared in turn (medians of the private ones), heap in use (/memory/classes/heap/objects:bytes, live and not yet collected) sampled every millisecond with runtime/metrics, GOGC at its default; load average %s",
		2*h.cfg.filterCalls, loadAverage())
	return nil
}

// importContactsPostgres imports the contacts data set into the PostgreSQL
// database of postgresDSNVar under table names of a prefix of this run;
// the caller drops them (close), even when the import failed.
func (h *harness) importContactsPostgres() (*sharedDB, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	d := &sharedDB{name: databases[1], args: childArgs{Prefix: "benchc" + hex.EncodeToString(b) + "_"}}
	took, err := importPostgres(h, d, dataset.Contacts(h.cfg.contacts))
	if err != nil {
		return d, fmt.Errorf("PostgreSQL contacts: %w", err)
	}
	h.logf("PostgreSQL: the contacts data set imported in %s", took.Round(time.Millisecond))
	return d, nil
}
