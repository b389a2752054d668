package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/casbin/casbin/v2"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// grantSet is one grant data set, in a crmaccess database and in the
// baseline's, both loaded in this process.
type grantSet struct {
	n     int // grants asked for
	fx    *crmaccess.DataSet
	rules int // crmaccess's rule lines (= the baseline's p lines)

	crmPath string
	store   *storage.Store
	svc     *crmaccess.Service

	aclPath string
	aclDB   *gorm.DB
	acl     *casbin.Enforcer
}

func (g *grantSet) close() {
	if g.store != nil {
		g.store.Close()
	}
	if g.aclDB != nil {
		closeGorm(g.aclDB)
	}
}

// newService opens a store and a service over it (storage.Open, policy.New,
// crmaccess.NewService: the cold start of row 5).
func newService(ctx context.Context, path string) (*storage.Store, *crmaccess.Service, error) {
	st, err := storage.Open(ctx, path, nil)
	if err != nil {
		return nil, nil, err
	}
	eng, err := policy.New()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	svc, err := crmaccess.NewService(ctx, st, eng, nil)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, svc, nil
}

// buildGrants writes every grant set: crmaccess's through Service.Import
// of a generated data set (one transaction of multi-row inserts), the
// baseline's through gorm-adapter's AddPolicies in batches; then loads the
// baseline's enforcer (gorm-adapter LoadPolicy).
func (h *harness) buildGrants() error {
	for _, n := range h.cfg.grants {
		g := &grantSet{n: n, fx: dataset.Grants(n),
			crmPath: h.path(fmt.Sprintf("crm-%s.db", count(n))), aclPath: h.path(fmt.Sprintf("acl-%s.db", count(n)))}
		h.grants = append(h.grants, g)
		g.rules = len(dataset.Rules(g.fx))
		var err error
		crmTime := timeIt(func() {
			if g.store, g.svc, err = newService(h.ctx, g.crmPath); err == nil {
				_, err = g.svc.Import(h.ctx, g.fx)
			}
		})
		if err != nil {
			return fmt.Errorf("crmaccess data set %s: %w", count(n), err)
		}
		if h.sqliteV == "" {
			if h.sqliteV, err = sqliteVersionOf(g.crmPath); err != nil {
				return err
			}
		}
		// The baseline's ACL database is built only for the rows that use
		// it (1, 2, 3 and 5; row 7 has always had its enforcer loaded).
		var aclTime, loadTime time.Duration
		if h.wants("1,2,3,5,7") {
			if aclTime, loadTime, err = h.buildBaseline(g); err != nil {
				return err
			}
		} else if err := checkpoint(g.crmPath); err != nil {
			return fmt.Errorf("checkpoint %s: %w", g.crmPath, err)
		}
		h.logf("grants %s: %d rules, %d opportunities; crmaccess Import %s, baseline AddPolicies %s, baseline LoadPolicy %s",
			count(n), g.rules, len(g.fx.Opportunities), crmTime.Round(time.Millisecond),
			aclTime.Round(time.Millisecond), loadTime.Round(time.Millisecond))
		baseline := fmt.Sprintf("and in %s by the baseline (gorm-adapter AddPolicies, %s lines a call)", aclTime.Round(time.Millisecond), group(adapterBatch))
		if g.aclDB == nil {
			baseline = "(the baseline's database not built: no row asked for it)"
		}
		h.note("data set %s grants: %s rule lines (%s opportunities, %s companies, 1,000 users); built in %s by crmaccess (Service.Import of a generated data set: one transaction of multi-row INSERTs) %s",
			count(n), group(float64(g.rules)), group(float64(len(g.fx.Opportunities))), group(float64(len(g.fx.Contacts))),
			crmTime.Round(time.Millisecond), baseline)
	}
	return nil
}

// buildBaseline writes the baseline's lines of g through gorm-adapter,
// checkpoints both databases of g and, for the rows that use it, loads the
// baseline's enforcer.
func (h *harness) buildBaseline(g *grantSet) (build, load time.Duration, err error) {
	lines := dataset.ACLLines(g.fx)
	if len(lines) != g.rules {
		return 0, 0, fmt.Errorf("data set %s: %d baseline lines for %d crmaccess rules", count(g.n), len(lines), g.rules)
	}
	if g.aclDB, err = openGorm(g.aclPath); err != nil {
		return 0, 0, err
	}
	build = timeIt(func() { err = buildACL(g.aclDB, lines) })
	if err != nil {
		return 0, 0, fmt.Errorf("baseline data set %s: %w", count(g.n), err)
	}
	for _, p := range []string{g.crmPath, g.aclPath} {
		if err := checkpoint(p); err != nil {
			return 0, 0, fmt.Errorf("checkpoint %s: %w", p, err)
		}
	}
	if h.wants("1,2,3,7") {
		load = timeIt(func() { g.acl, err = openACL(g.aclDB) })
		if err != nil {
			return 0, 0, fmt.Errorf("baseline enforcer %s: %w", count(g.n), err)
		}
	}
	return build, load, nil
}

// buildContacts writes the contacts data set through Service.Import; the
// rows that use it (4 and 8) run in child processes.
func (h *harness) buildContacts() error {
	fx := dataset.Contacts(h.cfg.contacts)
	h.contactsPath = h.path("contacts.db")
	var err error
	d := timeIt(func() {
		var st *storage.Store
		var svc *crmaccess.Service
		if st, svc, err = newService(h.ctx, h.contactsPath); err != nil {
			return
		}
		defer st.Close()
		_, err = svc.Import(h.ctx, fx)
	})
	if err == nil {
		err = checkpoint(h.contactsPath)
	}
	if err != nil {
		return fmt.Errorf("contacts data set: %w", err)
	}
	h.logf("contacts: %d contacts (%d match the filter), imported in %s", len(fx.Contacts), h.cfg.contacts, d.Round(time.Millisecond))
	h.note("contacts data set: %s contacts (a fifth companies) with 1 to 4 tags, stages and types, %s of them matching the filter (tag %q, stage %d, type %d) and shared; imported in %s",
		group(float64(len(fx.Contacts))), group(float64(h.cfg.contacts)), dataset.FilterTag, dataset.FilterStage,
		dataset.FilterType, d.Round(time.Millisecond))
	return nil
}

// releaseBaselines drops the baseline enforcers once rows 1 to 3 are done,
// so that the rows after them run on crmaccess's heap alone.
func (h *harness) releaseBaselines() error {
	for _, g := range h.grants {
		g.acl = nil
	}
	runtime.GC()
	return nil
}
