package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// upsertResult is row 15 on one database.
type upsertResult struct {
	upsert, again, imp          []float64 // seconds, each run
	cpuUpsert, cpuAgain, cpuImp []float64 // this process's CPU seconds; nil where not measured
	ratios                      []float64 // upsert ÷ import, run by run
	// What the first upsert of the last run wrote: change records, rule
	// lines (counted in the database).
	changes    int
	rulesAdded int64
	held       []int64 // rule lines the store held before each run's upsert
	idle       bool    // every second upsert wrote nothing (the same token)
	load       string
}

// upsertRow is row 15: a bulk upsert of new opportunities (with the users,
// stages and companies they name, which the store holds already) into the
// largest grant set's store, against Import of the same data set into an
// empty store in the same runs; then the same upsert again, which finds
// that nothing changed.
func (h *harness) upsertRow() error {
	rs, err := onEach(h, h.upsertOn)
	if err != nil {
		return fmt.Errorf("row 15: %w", err)
	}
	g := h.large()
	n := group(float64(h.cfg.upsertOpps))
	h.addSide(sideResult{row: "15", what: fmt.Sprintf("bulk upsert of %s new opportunities into the store of %s grants (Upsert)", n, count(g.n)),
		unit: unitSeconds, on: sideFigures(rs, func(r *upsertResult) figure { return val(median(r.upsert)) })})
	h.addSide(sideResult{row: "15", what: "… baseline in the same runs: Import of the same data set into an empty store", unit: unitSeconds,
		on: sideFigures(rs, func(r *upsertResult) figure { return val(median(r.imp)) })})
	h.addSide(sideResult{row: "15", what: "… upsert ÷ import, run by run", unit: unitTimes,
		on:     sideFigures(rs, func(r *upsertResult) figure { return val(median(r.ratios)) }),
		target: sameTarget("≤ 1.5"), met: sideMet(rs, func(_ int, r *upsertResult) bool { return median(r.ratios) <= 1.5 })})
	h.addSide(sideResult{row: "15", what: "… this process's CPU time, upsert / import", unit: unitSeconds,
		on: sideFigures(rs, func(r *upsertResult) figure { return text(cpuText(r.cpuUpsert) + " / " + cpuText(r.cpuImp)) })})
	h.addSide(sideResult{row: "15", what: "… what the upsert wrote: change records, rule lines added (counted in the database)", unit: unitSeconds,
		on: sideFigures(rs, func(r *upsertResult) figure {
			return text(fmt.Sprintf("%s, %s lines", group(float64(r.changes)), group(float64(r.rulesAdded))))
		})})
	h.addSide(sideResult{row: "15", what: "the same upsert a second time: finding that nothing changed", unit: unitSeconds,
		on: sideFigures(rs, func(r *upsertResult) figure { return val(median(r.again)) })})
	h.addSide(sideResult{row: "15", what: "… wrote nothing (no log entry) / this process's CPU time", unit: unitSeconds,
		on: sideFigures(rs, func(r *upsertResult) figure { return text(yes(r.idle) + " / " + cpuText(r.cpuAgain)) })})
	for _, d := range h.shared {
		r := rs[slices.Index(databases[:], d.name)]
		held := make([]string, len(r.held))
		for i, x := range r.held {
			held[i] = group(float64(x))
		}
		h.note("row 15, %s: medians of %d runs; each run's data set (bench/dataset.Adoption) is the grant set's 1,000 users, 6 stages and %s companies as they are and %s opportunities more with ids after the ones before (a tenth private, as the grant set's), so the store grows run by run (it held %s rule lines, the users' status lines included, before each run's upsert); in each run, in turn first or last, Import of the data set into an empty store (a new %s) and the upsert into the grant set's store followed by the same upsert again, each timed as the call alone; one instance with the default Options on each store; load average %s at the start of the row",
			d.name, len(r.upsert), group(float64(companyCount(d.g.fx))), n, strings.Join(held, ", "),
			map[bool]string{true: "SQLite file", false: "set of tables"}[d.args.Prefix == ""], r.load)
	}
	return nil
}

func (h *harness) upsertOn(d *sharedDB) (upsertResult, error) {
	r := upsertResult{idle: true, load: loadAverage()}
	in, err := openInstance(h.ctx, d.args, 0)
	if err != nil {
		return r, err
	}
	defer in.close()
	fx := d.g.fx
	// After the ids row 13 creates and deletes.
	first := fx.Opportunities[len(fx.Opportunities)-1].ID + 10_001
	for rep := range h.cfg.upsertReps {
		adopt := dataset.Adoption(fx, h.cfg.upsertOpps, first+int64(rep*h.cfg.upsertOpps))
		var imp, up, again time.Duration
		importRun := func() error {
			var err error
			imp, err = h.importEmpty(d, rep, adopt, &r)
			return err
		}
		upsertRun := func() error {
			held, err := ruleCount(d.args)
			if err != nil {
				return err
			}
			r.held = append(r.held, held)
			var tok crmaccess.Token
			up, err = timeUpsert(h, in, adopt, &tok, &r.cpuUpsert)
			if err != nil {
				return err
			}
			after, err := ruleCount(d.args)
			if err != nil {
				return err
			}
			r.rulesAdded = after - held
			e, err := logEntry(h.ctx, in, tok)
			if err != nil {
				return err
			}
			r.changes = len(e.Changes)
			var tok2 crmaccess.Token
			if again, err = timeUpsert(h, in, adopt, &tok2, &r.cpuAgain); err != nil {
				return err
			}
			r.idle = r.idle && tok2 == tok
			return nil
		}
		order := []func() error{importRun, upsertRun}
		if rep%2 == 1 {
			slices.Reverse(order)
		}
		for _, run := range order {
			if err := run(); err != nil {
				return r, err
			}
		}
		r.imp, r.upsert, r.again = append(r.imp, imp.Seconds()), append(r.upsert, up.Seconds()), append(r.again, again.Seconds())
		r.ratios = append(r.ratios, up.Seconds()/imp.Seconds())
		h.logf("… run %d: import %s, upsert %s, again %s", rep+1, imp.Round(time.Millisecond), up.Round(time.Millisecond), again.Round(time.Millisecond))
	}
	return r, nil
}

// timeUpsert times in's Upsert of fx, adding its CPU time to cpu.
func timeUpsert(h *harness, in *instance, fx *crmaccess.DataSet, tok *crmaccess.Token, cpu *[]float64) (time.Duration, error) {
	var err error
	took, used, measured := timeCPU(func() { *tok, err = in.svc.Upsert(h.ctx, fx) })
	if err != nil {
		return 0, fmt.Errorf("upsert: %w", err)
	}
	if measured {
		*cpu = append(*cpu, used.Seconds())
	}
	return took, nil
}

// importEmpty times Import of fx into an empty store on d's database (a new
// SQLite file, or new tables in the PostgreSQL database), removed after.
func (h *harness) importEmpty(d *sharedDB, rep int, fx *crmaccess.DataSet, r *upsertResult) (time.Duration, error) {
	empty := &sharedDB{name: d.name}
	if d.args.Prefix == "" {
		empty.args.DB = h.path(fmt.Sprintf("adopt-%d.db", rep))
		defer func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(empty.args.DB + suffix)
			}
		}()
	} else {
		empty.args.Prefix = fmt.Sprintf("%sadopt%d_", d.args.Prefix, rep)
		defer empty.close()
	}
	in, err := openInstance(h.ctx, empty.args, 0)
	if err != nil {
		return 0, err
	}
	defer in.close()
	took, used, measured := timeCPU(func() { _, err = in.svc.Import(h.ctx, fx) })
	if err != nil {
		return 0, fmt.Errorf("import into an empty store: %w", err)
	}
	if measured {
		r.cpuImp = append(r.cpuImp, used.Seconds())
	}
	return took, nil
}
