package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// opStats are the timings of one kind of call, run by run.
type opStats struct {
	p50, p99 []float64 // seconds
	cpu      []float64 // this process's CPU seconds a call; nil where not measured
}

// add times n calls of op, one by one, as one run.
func (s *opStats) add(n int, op func(i int) error) error {
	lat := make([]time.Duration, n)
	var err error
	_, used, measured := timeCPU(func() {
		for i := range n {
			t := time.Now()
			if err = op(i); err != nil {
				return
			}
			lat[i] = time.Since(t)
		}
	})
	if err != nil {
		return err
	}
	s.p50 = append(s.p50, seconds(percentile(lat, 0.5)))
	s.p99 = append(s.p99, seconds(percentile(lat, 0.99)))
	if measured {
		s.cpu = append(s.cpu, used.Seconds()/float64(n))
	}
	return nil
}

// lifecycleResult is row 13 on one database.
type lifecycleResult struct {
	create, remove, access opStats
	private                int // of the created opportunities a run
	load                   string
}

// lifecycle is row 13: one opportunity created, and one deleted, at the
// largest grant set, commit included; beside them in the same runs, on the
// same instance, row 3's access change of existing opportunities.
func (h *harness) lifecycle() error {
	rs, err := onEach(h, h.lifecycleOn)
	if err != nil {
		return fmt.Errorf("row 13: %w", err)
	}
	g := h.large()
	p50 := func(s func(*lifecycleResult) *opStats) func(*lifecycleResult) figure {
		return func(r *lifecycleResult) figure { return val(median(s(r).p50)) }
	}
	both := func(s func(*lifecycleResult) *opStats, f func(*opStats) figure) func(*lifecycleResult) figure {
		return func(r *lifecycleResult) figure { return f(s(r)) }
	}
	create := func(r *lifecycleResult) *opStats { return &r.create }
	remove := func(r *lifecycleResult) *opStats { return &r.remove }
	access := func(r *lifecycleResult) *opStats { return &r.access }
	p99AndCPU := func(s *opStats) figure {
		return text(unitSeconds.format(median(s.p99)) + " / " + cpuText(s.cpu))
	}
	h.addSide(sideResult{row: "13", what: fmt.Sprintf("create one opportunity p50, %s grants, commit included (CreateOpportunity)", count(g.n)),
		unit: unitSeconds, on: sideFigures(rs, p50(create)),
		target: sameTarget("≤ 0.3 ms"), met: sideMet(rs, func(_ int, r *lifecycleResult) bool { return median(r.create.p50) <= 0.3e-3 })})
	h.addSide(sideResult{row: "13", what: "… p99 / this process's CPU time a create", unit: unitSeconds, on: sideFigures(rs, both(create, p99AndCPU))})
	h.addSide(sideResult{row: "13", what: "delete one opportunity p50, commit included (DeleteOpportunity)",
		unit: unitSeconds, on: sideFigures(rs, p50(remove)),
		target: sameTarget("≤ 0.3 ms"), met: sideMet(rs, func(_ int, r *lifecycleResult) bool { return median(r.remove.p50) <= 0.3e-3 })})
	h.addSide(sideResult{row: "13", what: "… p99 / this process's CPU time a delete", unit: unitSeconds, on: sideFigures(rs, both(remove, p99AndCPU))})
	h.addSide(sideResult{row: "13", what: "… reference in the same runs: one opportunity's access change p50 (row 3's SetOpportunityAccess) / its CPU time",
		unit: unitSeconds, on: sideFigures(rs, both(access, func(s *opStats) figure {
			return text(unitSeconds.format(median(s.p50)) + " / " + cpuText(s.cpu))
		}))})
	for _, d := range h.shared {
		r := rs[slices.Index(databases[:], d.name)]
		h.note("row 13, %s: medians of %d runs; each run creates %d opportunities (ids after the data set's last, each by its creator, a different responsible user, a company as main contact and a stage; %d of them private with listA), then changes the access of %d existing ones (their creator sets listA or listB in turn), then deletes the %d it created (each by its creator), each call timed; CPU time is this process's over a run's calls ÷ their count; one instance with the default Options; load average %s at the start of the row",
			d.name, h.cfg.lifeReps, h.cfg.lifeOps, r.private, h.cfg.lifeOps, h.cfg.lifeOps, r.load)
	}
	return nil
}

func (h *harness) lifecycleOn(d *sharedDB) (lifecycleResult, error) {
	r := lifecycleResult{load: loadAverage()}
	in, err := openInstance(h.ctx, d.args, 0)
	if err != nil {
		return r, err
	}
	defer in.close()
	fx := d.g.fx
	first := fx.Opportunities[len(fx.Opportunities)-1].ID + 1
	companies := companyCount(fx)
	targets := spreadTargets(fx, h.cfg.lifeOps, 3)
	if _, err := setLists(h.ctx, in, targets, make([]int, len(targets))); err != nil { // every target on listA
		return r, err
	}
	// The created opportunities: as the data set's, a tenth private.
	creator := func(i int) string { return dataset.UserID(i * 37 % 900) }
	newOpportunity := func(i int) (crmaccess.Opportunity, bool) {
		return crmaccess.Opportunity{ID: first + int64(i), Title: fmt.Sprintf("New deal %d", i), Description: "Created by the benchmark",
			Responsible: dataset.UserID((i*37 + 1) % 900), ContactID: int64(1 + i%companies), StageID: int64(1 + i%6),
			SuccessProbability: 50, ExpectedCloseDate: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}, i%10 == 0
	}
	for i := range h.cfg.lifeOps {
		if _, private := newOpportunity(i); private {
			r.private++
		}
	}
	for rep := range h.cfg.lifeReps {
		err := r.create.add(h.cfg.lifeOps, func(i int) error {
			o, private := newOpportunity(i)
			var list []string
			if private {
				list = listA
			}
			_, err := in.svc.CreateOpportunity(h.ctx, creator(i), o, private, list)
			return err
		})
		if err != nil {
			return r, fmt.Errorf("create: %w", err)
		}
		err = r.access.add(len(targets), func(i int) error {
			o := targets[i]
			_, err := in.svc.SetOpportunityAccess(h.ctx, o.CreateBy, o.ID, true, [][]string{listB, listA}[rep%2])
			return err
		})
		if err != nil {
			return r, fmt.Errorf("access change: %w", err)
		}
		err = r.remove.add(h.cfg.lifeOps, func(i int) error {
			_, err := in.svc.DeleteOpportunity(h.ctx, creator(i), first+int64(i))
			return err
		})
		if err != nil {
			return r, fmt.Errorf("delete: %w", err)
		}
	}
	return r, nil
}

// companyCount is how many companies a grant data set has: its contacts,
// ids 1 to n.
func companyCount(fx *crmaccess.DataSet) int {
	n := 0
	for _, c := range fx.Contacts {
		if c.IsCompany {
			n++
		}
	}
	return n
}

// cpuText is the median of CPU times, or "not measured".
func cpuText(secs []float64) string {
	if len(secs) == 0 {
		return "not measured"
	}
	return unitSeconds.format(median(secs))
}

// extraUser is the GUID of a user the data sets do not have (i ≥ 0).
func extraUser(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", 0xbe4d0000+i, i) }

// removeResult is row 14 on one database.
type removeResult struct {
	// RemoveUser of the listed user, each run: on an instance that follows
	// the log (the default Options), and on one that does not follow it in
	// the background (PollInterval -1).
	secs, quiet   []float64
	cpu, cpuQuiet []float64
	fixed         []float64 // RemoveUser of a user on no list, each run (the default Options)
	grant         []float64 // the untimed Upsert that put the user on the lists, each run
	lists         int       // lists the user was on
	// What the last RemoveUser wrote: change records of records and of
	// users, and the rule lines it removed (counted in the database).
	recordChanges, userChanges int
	rulesRemoved               int64
	load                       string
}

// removeUser is row 14: a user on many lists (accessLists of the largest
// grant set's private opportunities) removed with RemoveUser; beside it in
// the same runs, the same removal on an instance that does not follow the
// log in the background, and the removal of a user on no list.
func (h *harness) removeUser() error {
	rs, err := onEach(h, h.removeUserOn)
	if err != nil {
		return fmt.Errorf("row 14: %w", err)
	}
	g := h.large()
	h.addSide(sideResult{row: "14", what: fmt.Sprintf("remove a user who is on %s lists, %s grants, commit included (RemoveUser, default Options)", group(float64(h.cfg.removeLists)), count(g.n)),
		unit: unitSeconds, on: sideFigures(rs, func(r *removeResult) figure { return val(median(r.secs)) }),
		target: sameTarget("≤ 100 ms"), met: sideMet(rs, func(_ int, r *removeResult) bool { return median(r.secs) <= 0.1 })})
	h.addSide(sideResult{row: "14", what: "… this process's CPU time during it", unit: unitSeconds,
		on: sideFigures(rs, func(r *removeResult) figure { return cpuFigure(r.cpu) })})
	h.addSide(sideResult{row: "14", what: "… what it wrote: change records (records + the user), rule lines removed (counted in the database)", unit: unitSeconds,
		on: sideFigures(rs, func(r *removeResult) figure {
			return text(fmt.Sprintf("%s + %d, %s lines", group(float64(r.recordChanges)), r.userChanges, group(float64(r.rulesRemoved))))
		})})
	h.addSide(sideResult{row: "14", what: "… the same on an instance that does not follow the log in the background (PollInterval -1) / its CPU time", unit: unitSeconds,
		on: sideFigures(rs, func(r *removeResult) figure {
			return text(unitSeconds.format(median(r.quiet)) + " / " + cpuText(r.cpuQuiet))
		})})
	h.addSide(sideResult{row: "14", what: "… reference in the same runs: RemoveUser of a user on no list", unit: unitSeconds,
		on: sideFigures(rs, func(r *removeResult) figure { return val(median(r.fixed)) })})
	for _, d := range h.shared {
		r := rs[slices.Index(databases[:], d.name)]
		h.note("row 14, %s: medians of %d runs, each on a freshly opened instance, one with the default Options and one with PollInterval -1 in turn; before each removal, untimed, an Upsert through the same instance adds user %s (again) and puts it on the accessLists of %s private opportunities spread over the data set (%s, median), and PutUser adds a second user on no list; then RemoveUser of each is timed (actor: an active user); the changes are read back from the log entry the removal wrote; load average %s at the start of the row",
			d.name, len(r.secs), extraUser(0), group(float64(r.lists)), unitSeconds.format(median(r.grant)), r.load)
	}
	return nil
}

func (h *harness) removeUserOn(d *sharedDB) (removeResult, error) {
	r := removeResult{load: loadAverage()}
	grant := listedFixture(d.g.fx, extraUser(0), h.cfg.removeLists)
	r.lists = len(grant.Opportunities)
	for range h.cfg.removeReps {
		for _, poll := range []time.Duration{0, -1} {
			if err := h.removeRun(d, poll, grant, &r); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// removeRun is one run of row 14 on an instance that follows the log every
// poll (0: the default Options; negative: not in the background).
func (h *harness) removeRun(d *sharedDB, poll time.Duration, grant *crmaccess.DataSet, r *removeResult) error {
	in, err := openInstance(h.ctx, d.args, poll)
	if err != nil {
		return err
	}
	defer in.close()
	listed, unlisted := extraUser(0), extraUser(1)
	actor := dataset.UserID(0)
	took := timeIt(func() { _, err = in.svc.Upsert(h.ctx, grant) })
	if err != nil {
		return fmt.Errorf("upsert the listed user: %w", err)
	}
	r.grant = append(r.grant, took.Seconds())
	if _, err := in.svc.PutUser(h.ctx, actor, crmaccess.User{ID: unlisted, DisplayName: "Unlisted user"}); err != nil {
		return err
	}
	before, err := ruleCount(d.args)
	if err != nil {
		return err
	}
	var tok crmaccess.Token
	took, used, measured := timeCPU(func() { tok, err = in.svc.RemoveUser(h.ctx, actor, listed) })
	if err != nil {
		return fmt.Errorf("RemoveUser: %w", err)
	}
	secs, cpu := &r.secs, &r.cpu
	if poll < 0 {
		secs, cpu = &r.quiet, &r.cpuQuiet
	}
	*secs = append(*secs, took.Seconds())
	if measured {
		*cpu = append(*cpu, used.Seconds())
	}
	after, err := ruleCount(d.args)
	if err != nil {
		return err
	}
	r.rulesRemoved = before - after
	e, err := logEntry(h.ctx, in, tok)
	if err != nil {
		return err
	}
	r.recordChanges, r.userChanges = 0, 0
	for _, c := range e.Changes {
		if c.User != "" {
			r.userChanges++
		} else {
			r.recordChanges++
		}
	}
	if r.recordChanges != r.lists {
		return fmt.Errorf("RemoveUser of a user on %d lists recorded %d records' changes", r.lists, r.recordChanges)
	}
	took = timeIt(func() { _, err = in.svc.RemoveUser(h.ctx, actor, unlisted) })
	if err != nil {
		return fmt.Errorf("RemoveUser of a user on no list: %w", err)
	}
	if poll >= 0 {
		r.fixed = append(r.fixed, took.Seconds())
	}
	return nil
}

// listedFixture is the data set that puts user on the accessLists of
// about n private opportunities of the grant set fx, spread over it: the
// user, the stages, the companies those opportunities name, and the
// opportunities as fx has them with user added to their lists.
func listedFixture(fx *crmaccess.DataSet, user string, n int) *crmaccess.DataSet {
	var private []*crmaccess.Opportunity
	for i := range fx.Opportunities {
		if fx.Opportunities[i].IsPrivate {
			private = append(private, &fx.Opportunities[i])
		}
	}
	out := &crmaccess.DataSet{Users: []crmaccess.User{{ID: user, DisplayName: "Listed user", Title: "Sales manager"}},
		Stages: slices.Clone(fx.Stages)}
	named := map[int64]bool{}
	step := max(1, len(private)/n)
	for i := 0; i < len(private) && len(out.Opportunities) < n; i += step {
		o := *private[i]
		o.AccessList = append(slices.Clone(o.AccessList), user)
		out.Opportunities = append(out.Opportunities, o)
		named[o.ContactID] = true
	}
	for _, c := range fx.Contacts {
		if named[c.ID] {
			out.Contacts = append(out.Contacts, c)
		}
	}
	return out
}

// ruleCount counts the rule lines of the database a names.
func ruleCount(a childArgs) (int64, error) {
	db, err := openSharedGorm(a)
	if err != nil {
		return 0, err
	}
	defer closeGorm(db)
	var n int64
	err = db.Raw("SELECT COUNT(*) FROM " + ruleTable(a.Prefix)).Scan(&n).Error
	return n, err
}

// errFound stops a log read at the entry wanted.
var errFound = errors.New("found")

// logEntry reads the log entry of the write that returned tok. The harness
// knows how the library spells a token: "p" and the log position.
func logEntry(ctx context.Context, in *instance, tok crmaccess.Token) (*crmaccess.LogEntry, error) {
	pos, err := strconv.ParseInt(strings.TrimPrefix(string(tok), "p"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("token %q: %w", tok, err)
	}
	var found *crmaccess.LogEntry
	err = in.store.Log(ctx, pos-1, func(e *crmaccess.LogEntry) error {
		found = e
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, err
	}
	if found == nil || found.Position != pos {
		return nil, fmt.Errorf("no log entry at %d", pos)
	}
	return found, nil
}
