package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	gormadapter "github.com/casbin/gorm-adapter/v3"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// Two access lists an opportunity is toggled between (the actor, its
// creator, is added to them by the service).
var (
	listA = []string{dataset.UserID(901), dataset.UserID(902), dataset.UserID(903)}
	listB = []string{dataset.UserID(904), dataset.UserID(905)}
)

// changeTargets picks n opportunities spread over the data set.
func changeTargets(fx *crmaccess.DataSet, n int) []*crmaccess.Opportunity {
	n = min(n, len(fx.Opportunities))
	out := make([]*crmaccess.Opportunity, n)
	step := len(fx.Opportunities) / n
	for i := range out {
		out[i] = &fx.Opportunities[i*step]
	}
	return out
}

// opportunityChanges is row 3: one opportunity's access change with the
// largest grant set loaded, commit included (Service.SetOpportunityAccess
// by the creator, toggling between two lists), against the baseline's
// RemoveFilteredPolicy + AddPolicies with autosave through gorm-adapter.
func (h *harness) opportunityChanges() error {
	g := h.large()
	targets := changeTargets(g.fx, h.cfg.changes)
	set := func(o *crmaccess.Opportunity, list []string) error {
		_, err := g.svc.SetOpportunityAccess(h.ctx, o.CreateBy, o.ID, true, list)
		return err
	}
	for _, o := range targets { // every target private with listA
		if err := set(o, listA); err != nil {
			return err
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
				return err
			}
		}
		reps50 = append(reps50, seconds(percentile(lat, 0.5)))
		reps99 = append(reps99, seconds(percentile(lat, 0.99)))
	}

	k := min(h.cfg.baselineChanges, len(targets))
	base := make([]time.Duration, k)
	for i, o := range targets[:k] {
		obj := policy.Object(crmaccess.OpportunityRef(o.ID))
		lines := dedupLines(dataset.OpportunityACL(o.ID, o.CreateBy, o.Responsible, true, lists[i%2]))
		var err error
		base[i] = timeIt(func() {
			if _, err = g.acl.RemoveFilteredPolicy(1, obj); err == nil {
				_, err = g.acl.AddPolicies(lines)
			}
		})
		if err != nil {
			return fmt.Errorf("baseline change: %w", err)
		}
	}
	p50 := median(reps50)
	h.add(result{row: "3", what: fmt.Sprintf("one opportunity's access change p50, %s grants, commit included", count(g.n)),
		unit: unitSeconds, crm: val(p50), base: valNote(seconds(percentile(base, 0.5)), fmt.Sprintf("%d samples", k)),
		target: "≤ 2 ms", met: yes(p50 <= 2e-3)})
	h.add(result{row: "3", what: "… p99", unit: unitSeconds, crm: val(median(reps99)),
		base: valNote(seconds(percentile(base, 0.99)), fmt.Sprintf("max of %d", k))})
	h.note("row 3: crmaccess medians of %d runs over %d opportunities (the creator sets listA/listB in turn; each call reads the record, checks, commits records, rules and a change record, then updates memory); baseline Enforcer.RemoveFilteredPolicy(1, obj) + AddPolicies with autosave, %d samples",
		h.cfg.changeReps, len(targets), k)
	return nil
}

func dedupLines(lines [][]string) [][]string {
	var out [][]string
	for _, l := range lines {
		if !slices.ContainsFunc(out, func(m []string) bool { return slices.Equal(l, m) }) {
			out = append(out, l)
		}
	}
	return out
}

// filterResult is what the filter-call child reports, in seconds.
type filterResult struct {
	Rows        int       `json:"rows"`
	Call        []float64 `json:"call"`        // private with the managers
	Back        []float64 `json:"back"`        // back to shared
	Raw         []float64 `json:"raw"`         // raw INSERT, statements as large as allowed
	RawPrepared []float64 `json:"rawPrepared"` // raw INSERT, 1,000-row statement prepared once
	Adapter     []float64 `json:"adapter"`     // gorm-adapter AddPolicies, adapterBatch a call
	OneCall     string    `json:"oneCall"`     // gorm-adapter AddPolicies of every row at once
	Copy        []float64 `json:"copy"`        // PostgreSQL: COPY of the rows
	Import      float64   `json:"-"`           // PostgreSQL: the data set's import (the parent's)
}

// rawPreparedRows is the statement size of the prepared raw insert.
const rawPreparedRows = 1000

// filterCallChild runs row 4 in a fresh process over the contacts
// database (the SQLite file DB, or with a Prefix the PostgreSQL tables of
// postgresDSNVar): N times, in turn, a raw INSERT of the rule rows the call
// writes (both ways), on PostgreSQL COPY of them, the same rows through
// gorm-adapter, each removed again untimed, then the call (private with the
// managers) and the call back to shared. M is the number of matching
// contacts.
func filterCallChild(ctx context.Context, a childArgs) (any, error) {
	fx := dataset.Contacts(a.M)
	filter := dataset.Filter()
	admin := dataset.UserID(dataset.ContactsAdmin)
	managers := dataset.Managers()

	// The rows the call writes, as crmaccess encodes them.
	var rows []ruleRow
	for _, fc := range fx.Contacts {
		if !filter.Match(&fc, false) {
			continue
		}
		for _, r := range policy.ContactRules(&crmaccess.Contact{ID: fc.ID, ShareType: crmaccess.ShareNone, ManagerList: managers}) {
			rows = append(rows, ruleRow{r.Type, r.From, r.To})
		}
	}
	fx = nil
	if len(rows) != 3*a.M {
		return nil, fmt.Errorf("%d rule rows for %d matching contacts", len(rows), a.M)
	}

	postgres := a.Prefix != ""
	db, err := openSharedGorm(a)
	if err != nil {
		return nil, err
	}
	defer closeGorm(db)
	var opts *storage.Options
	table := storage.DefaultRuleTable
	if postgres {
		opts, table = postgresOptions(a.Prefix), ruleTable(a.Prefix)
	}
	st, err := storage.New(ctx, db, opts)
	if err != nil {
		return nil, err
	}
	eng, err := policy.New()
	if err != nil {
		return nil, err
	}
	svc, err := crmaccess.NewService(ctx, st, eng, nil)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	adapter, err := gormadapter.NewAdapterByDBUseTableName(db, "", table)
	if err != nil {
		return nil, err
	}
	raw := rawInsert
	if postgres {
		raw = rawInsertPostgres
	}
	lines := adapterLines(rows)

	// Writes rows one way, timed, then removes them, untimed.
	insertAndUndo := func(write func() error) (float64, error) {
		top, err := maxRuleID(ctx, sqlDB, table)
		if err != nil {
			return 0, err
		}
		d := timeIt(func() { err = write() })
		if err != nil {
			return 0, err
		}
		return d.Seconds(), deleteRulesAboveOn(ctx, sqlDB, postgres, table, top)
	}
	r := filterResult{Rows: len(rows)}
	for range a.N {
		d, err := insertAndUndo(func() error { return raw(ctx, sqlDB, table, rows, 0) })
		if err != nil {
			return nil, fmt.Errorf("raw insert: %w", err)
		}
		r.Raw = append(r.Raw, d)
		if d, err = insertAndUndo(func() error { return raw(ctx, sqlDB, table, rows, rawPreparedRows) }); err != nil {
			return nil, fmt.Errorf("prepared raw insert: %w", err)
		}
		r.RawPrepared = append(r.RawPrepared, d)
		if postgres {
			if d, err = insertAndUndo(func() error { return copyPostgres(ctx, sqlDB, table, rows) }); err != nil {
				return nil, fmt.Errorf("COPY: %w", err)
			}
			r.Copy = append(r.Copy, d)
		}
		if d, err = insertAndUndo(func() error { return addPoliciesBatched(adapter, "g", lines, adapterBatch) }); err != nil {
			return nil, fmt.Errorf("gorm-adapter AddPolicies: %w", err)
		}
		r.Adapter = append(r.Adapter, d)

		var res *crmaccess.ContactsAccessResult
		t := timeIt(func() { res, err = svc.SetContactsAccess(ctx, admin, filter, true, managers) })
		if err != nil {
			return nil, fmt.Errorf("filter call: %w", err)
		}
		if len(res.Contacts) != a.M || res.Skipped != 0 {
			return nil, fmt.Errorf("filter call: %d contacts, %d skipped; want %d, 0", len(res.Contacts), res.Skipped, a.M)
		}
		r.Call = append(r.Call, t.Seconds())
		res = nil
		t = timeIt(func() { res, err = svc.SetContactsAccess(ctx, admin, filter, false, nil) })
		if err != nil {
			return nil, fmt.Errorf("filter call back: %w", err)
		}
		r.Back = append(r.Back, t.Seconds())
	}

	// The adapter's AddPolicies with every line in one call, as a caller
	// who does not know to batch would write them.
	var oneCall error
	d, err := insertAndUndo(func() error { oneCall = adapter.AddPolicies("g", "g", lines); return nil })
	if err != nil {
		return nil, err
	}
	r.OneCall = fmt.Sprintf("succeeded in %.2f s", d)
	if oneCall != nil {
		r.OneCall = "fails: " + firstLine(oneCall.Error())
	}
	return r, nil
}

// filterCall is row 4, in a fresh process: Service.SetContactsAccess
// making every matching contact private with three managers (three rule
// lines each), against a raw batched INSERT of the same rule rows into the
// same table, in the same run; and the same rows through gorm-adapter.
func (h *harness) filterCall() error {
	var r filterResult
	if err := h.child("filter-call", childArgs{DB: h.contactsPath, N: h.cfg.filterReps, M: h.cfg.contacts}, &r); err != nil {
		return err
	}
	call, raw, prepared := median(r.Call), median(r.Raw), median(r.RawPrepared)
	h.add(result{row: "4", what: fmt.Sprintf("filter call: %s matching contacts × 3 managers (%s rule lines); baseline column: raw batched INSERT of the same rows into the same table, statements as large as SQLite allows",
		count(h.cfg.contacts), count(r.Rows)), unit: unitSeconds, crm: val(call), base: val(raw),
		target: "≤ 2 × raw INSERT", met: yes(call <= 2*raw)})
	h.add(result{row: "4", what: fmt.Sprintf("… baseline column: the same raw INSERT in %s-row statements prepared once", group(rawPreparedRows)),
		unit: unitSeconds, crm: val(call), base: val(prepared), target: "≤ 2 × raw INSERT", met: yes(call <= 2*prepared)})
	h.add(result{row: "4", what: fmt.Sprintf("… baseline column: the same rows through gorm-adapter AddPolicies, %s a call", group(adapterBatch)),
		unit: unitSeconds, crm: val(call), base: val(median(r.Adapter))})
	h.add(result{row: "4", what: "… baseline column: gorm-adapter AddPolicies of all the rows in one call",
		unit: unitSeconds, crm: val(call), base: text(r.OneCall)})
	h.add(result{row: "4", what: "… the filter call back to shared (removes those lines)", unit: unitSeconds,
		crm: val(median(r.Back)), base: text("—")})
	h.note("row 4: in a fresh process, medians of %d runs; the call reads the matching contacts and their tags, checks each, and commits in one transaction the share types, the rule lines (%s removed, %s added) and %s change records, then updates memory; each raw or adapter insert is undone, untimed, before the next",
		h.cfg.filterReps, group(float64(h.cfg.contacts)), group(float64(r.Rows)), group(float64(h.cfg.contacts)))

	// Side by side with PostgreSQL, in the table of rows 9 to 15.
	pg, err := h.filterCallPostgres()
	if err != nil {
		return fmt.Errorf("row 4 on PostgreSQL: %w", err)
	}
	rs := [2]*filterResult{&r, pg}
	h.addSide(sideResult{row: "4", what: fmt.Sprintf("filter call: %s matching contacts × 3 managers (%s rule lines), commit included",
		count(h.cfg.contacts), count(r.Rows)), unit: unitSeconds,
		on: sideFigures(rs, func(r *filterResult) figure { return val(median(r.Call)) })})
	h.addSide(sideResult{row: "4", what: fmt.Sprintf("… the best raw INSERT of the same rows: %s-row statements prepared once, one transaction", group(rawPreparedRows)),
		unit: unitSeconds, on: sideFigures(rs, func(r *filterResult) figure { return val(median(r.RawPrepared)) })})
	h.addSide(sideResult{row: "4", what: "… the filter call ÷ that raw INSERT", unit: unitTimes,
		on:     sideFigures(rs, func(r *filterResult) figure { return val(median(r.Call) / median(r.RawPrepared)) }),
		target: sameTarget("≤ 2"), met: sideMet(rs, func(_ int, r *filterResult) bool { return median(r.Call) <= 2*median(r.RawPrepared) })})
	h.addSide(sideResult{row: "4", what: "… the floor: COPY of the same rows (pgx CopyFrom, binary), one transaction / the filter call ÷ COPY", unit: unitSeconds,
		on: sideFigures(rs, func(r *filterResult) figure {
			if len(r.Copy) == 0 {
				return text("—")
			}
			return text(fmt.Sprintf("%s / %.2f×", unitSeconds.format(median(r.Copy)), median(r.Call)/median(r.Copy)))
		})})
	h.addSide(sideResult{row: "4", what: "… the filter call back to shared (removes those lines)", unit: unitSeconds,
		on: sideFigures(rs, func(r *filterResult) figure { return val(median(r.Back)) })})
	if pg != nil {
		h.note("row 4, PostgreSQL: the contacts data set imported by Service.Import into the database of %s (tables of a prefix of this run, dropped at the end) in %s, then VACUUMed, ANALYZEd and checkpointed; the same child as on SQLite, medians of %d runs; raw INSERTs with $n placeholders (as large as 65,535 parameters allow, and %s-row statements prepared once), and COPY, each undone untimed before the next; load average %s",
			postgresDSNVar, unitSeconds.format(pg.Import), len(pg.Call), group(rawPreparedRows), loadAverage())
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
