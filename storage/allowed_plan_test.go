package storage_test

import (
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// grantsPortal is a store and service over dataset.Grants(n), with the
// host's table deals(id, stage, title) beside it: a row per opportunity
// (stage = its stage id) and a few rows whose id is no opportunity, indexed
// by (stage, id) as a host would index it for its list pages, analyzed.
type grantsPortal struct {
	db     *gorm.DB
	store  *storage.Store
	svc    *crmaccess.Service
	fx     *crmaccess.DataSet
	prefix string
	deals  string
	rules  string
}

func newGrantsPortal(tb testing.TB, b backend, n int) *grantsPortal {
	tb.Helper()
	ctx := tb.Context()
	db, prefix := b.open(tb)
	st, err := storage.New(ctx, db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"})
	if err != nil {
		tb.Fatalf("storage.New: %v", err)
	}
	svc := testportal.Service(tb, st, &crmaccess.Options{PollInterval: -1})
	p := &grantsPortal{db: db, store: st, svc: svc, fx: dataset.Grants(n), prefix: prefix, deals: prefix + "deals", rules: prefix + "casbin_rule"}
	if _, err := svc.Import(ctx, p.fx); err != nil {
		tb.Fatalf("Import: %v", err)
	}
	last := p.fx.Opportunities[len(p.fx.Opportunities)-1].ID
	for _, stmt := range []string{
		`CREATE TABLE ` + p.deals + ` (id BIGINT PRIMARY KEY, stage BIGINT NOT NULL, title TEXT NOT NULL)`,
		`INSERT INTO ` + p.deals + ` (id, stage, title) SELECT id, stage_id, title FROM ` + prefix + `opportunities`,
		fmt.Sprintf(`INSERT INTO %s (id, stage, title) VALUES (%d, 3, 'no opportunity'), (%d, 3, 'no opportunity')`, p.deals, last+1, int64(1)<<40),
		`CREATE INDEX ` + p.deals + `_stage_idx ON ` + p.deals + ` (stage, id)`,
		`ANALYZE`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			tb.Fatalf("%s: %v", stmt, err)
		}
	}
	return p
}

// plan returns the database's plan of query, one line per step.
func plan(tb testing.TB, db *gorm.DB, query string) []string {
	tb.Helper()
	var lines []string
	if db.Dialector.Name() == "postgres" {
		if err := db.Raw(`EXPLAIN ` + query).Scan(&lines).Error; err != nil {
			tb.Fatal(err)
		}
		return lines
	}
	var steps []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := db.Raw(`EXPLAIN QUERY PLAN ` + query).Scan(&steps).Error; err != nil {
		tb.Fatal(err)
	}
	for _, s := range steps {
		lines = append(lines, s.Detail)
	}
	return lines
}

// The scope is decided with indexes: a host's list page probes the record
// table by its key and the rule table by gorm-adapter's unique index, and
// scans neither; a count over the whole host table may read the record
// table whole, but still only probes the rule table. For opportunities and
// contacts, and every class of action.
func TestAllowedUsesIndexes(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			p := newGrantsPortal(t, b, 30_000)
			for _, kind := range []crmaccess.Kind{crmaccess.KindOpportunity, crmaccess.KindContact} {
				for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionChangeAccess} {
					scope := p.store.Allowed(dataset.UserID(7), kind, a, p.deals+".id")
					page := p.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
						var ids []int64
						return tx.Table(p.deals).Scopes(scope).Where("stage = ?", 3).Order("id").Limit(50).Pluck("id", &ids)
					})
					count := p.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
						var n int64
						return tx.Table(p.deals).Scopes(scope).Count(&n)
					})
					// Every scope probes the user's status and the admin
					// rule; all but an opportunity's change of access
					// probe list rules.
					probes := 3
					if kind == crmaccess.KindOpportunity && a == crmaccess.ActionChangeAccess {
						probes = 2
					}
					p.wantIndexed(t, fmt.Sprintf("%s %s page", kind, a), page, true, probes)
					p.wantIndexed(t, fmt.Sprintf("%s %s count", kind, a), count, false, probes)
				}
			}
		})
	}
}

// wantIndexed fails t unless the plan of query probes the rule table the
// given number of times by an index on (ptype, v0, v1) and never scans it,
// nor, when page, the record table.
func (p *grantsPortal) wantIndexed(t *testing.T, what, query string, page bool, probes int) {
	t.Helper()
	steps := plan(t, p.db, query)
	text := strings.Join(steps, "\n")
	if testing.Verbose() {
		t.Logf("%s:\n%s", what, text)
	}
	if p.db.Dialector.Name() == "postgres" {
		scanned := strings.Contains(text, "Seq Scan on "+p.rules) ||
			page && (strings.Contains(text, "Seq Scan on "+p.prefix+"opportunities") || strings.Contains(text, "Seq Scan on "+p.prefix+"contacts"))
		probed := strings.Count(text, "Index Only Scan using idx_"+p.rules+" on "+p.rules)
		keyed := 0
		for _, s := range steps {
			if strings.Contains(s, "Index Cond: ((ptype = ") && strings.Contains(s, ") AND (v0 = ") && strings.Contains(s, ") AND (v1 = ") {
				keyed++
			}
		}
		if scanned || probed != probes || keyed < probes {
			t.Errorf("%s: a table of the store is scanned, or the rule table not probed %d times by its index on (ptype, v0, v1):\n%s", what, probes, text)
		}
		return
	}
	for _, s := range steps {
		if strings.HasPrefix(s, "SCAN crmaccess_rule") || strings.HasPrefix(s, "SCAN crmaccess_adm") ||
			page && strings.HasPrefix(s, "SCAN crmaccess_rec") {
			t.Errorf("%s: %q scans a table of the store:\n%s", what, s, text)
		}
	}
	if n := strings.Count(text, "USING COVERING INDEX idx_"+p.rules+" (ptype=? AND v0=? AND v1=?)"); n != probes {
		t.Errorf("%s: the rule table is probed %d times by its index on (ptype, v0, v1), want %d:\n%s", what, n, probes, text)
	}
}
