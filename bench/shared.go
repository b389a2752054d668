package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// postgresDSNVar names the environment variable of the PostgreSQL database
// rows 9 to 15 also run on: the one the tests use. Without it they run on
// SQLite alone.
const postgresDSNVar = "CRMACCESS_POSTGRES_DSN"

// sharedDB is one database that several instances of rows 9 to 15 open,
// each with connections of its own, as separate processes would: the
// largest grant set's SQLite file, or the same grant set imported into the
// PostgreSQL database under table names of this run's own prefix.
type sharedDB struct {
	name string    // one of databases
	args childArgs // how an instance, here or in a child, opens it
	g    *grantSet // the data it holds
}

// instance is one Service over a shared database, with its own store and
// connections.
type instance struct {
	svc   *crmaccess.Service
	store *storage.Store
	db    *gorm.DB // PostgreSQL: the connections it owns
}

func (in *instance) close() {
	in.svc.Close()
	in.store.Close()
	if in.db != nil {
		closeGorm(in.db)
	}
}

// openInstance opens the database a names (its SQLite file, or with a
// Prefix the PostgreSQL database of postgresDSNVar) on connections of its
// own and starts a Service over it: loading the rules, then following the
// log every poll (0: the default; negative: not in the background).
func openInstance(ctx context.Context, a childArgs, poll time.Duration) (*instance, error) {
	in := &instance{}
	var err error
	if a.Prefix == "" {
		in.store, err = storage.Open(ctx, a.DB, nil)
	} else if in.db, err = openPostgres(); err == nil {
		in.store, err = storage.New(ctx, in.db, postgresOptions(a.Prefix))
	}
	if err == nil {
		var eng *policy.Engine
		if eng, err = policy.New(); err == nil {
			in.svc, err = crmaccess.NewService(ctx, in.store, eng, &crmaccess.Options{PollInterval: poll})
		}
	}
	if err != nil {
		if in.store != nil {
			in.store.Close()
		}
		if in.db != nil {
			closeGorm(in.db)
		}
		return nil, err
	}
	return in, nil
}

// openPostgres connects to the database of postgresDSNVar.
func openPostgres() (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(os.Getenv(postgresDSNVar)), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// As a server would: database/sql keeps 2 idle connections by
	// default, and 16 clients at once would open and close connections.
	sqlDB.SetMaxIdleConns(32)
	return db, nil
}

// postgresOptions name every table of a PostgreSQL data set after its
// prefix, the rule table included, so that runs do not meet.
func postgresOptions(prefix string) *storage.Options {
	return &storage.Options{TablePrefix: prefix, RuleTable: ruleTable(prefix)}
}

func ruleTable(prefix string) string { return prefix + storage.DefaultRuleTable }

// openSharedGorm opens the database a names as a plain GORM database, for
// gorm-adapter.
func openSharedGorm(a childArgs) (*gorm.DB, error) {
	if a.Prefix == "" {
		return openGorm(a.DB)
	}
	return openPostgres()
}

// openShared prepares rows 9 to 15: the largest grant set's SQLite file,
// and the same data imported into PostgreSQL when postgresDSNVar is set.
// The grant sets' own Services stop following their logs, so that the only
// instances following a log are the ones a row starts.
func (h *harness) openShared() error {
	for _, g := range h.grants {
		g.svc.Close()
	}
	g := h.large()
	h.shared = append(h.shared, &sharedDB{name: databases[0], args: childArgs{DB: g.crmPath, Grants: g.n}, g: g})
	if os.Getenv(postgresDSNVar) == "" {
		h.note("rows 9 to 15: %s is not set, so their PostgreSQL column was not run", postgresDSNVar)
		return nil
	}
	if err := h.openPostgresCopy(g); err != nil {
		return err
	}
	h.note("rows 9 to 15 run on the %s-grant data set twice: in its SQLite file (as the rows before left it), and in the PostgreSQL database of %s (PostgreSQL %s; tables named with a prefix of this run, dropped at the end), imported by Service.Import in %s, then VACUUMed, ANALYZEd and checkpointed; every instance is a Service with connections of its own, as a process of its own would have",
		count(g.n), postgresDSNVar, h.pgVersion, h.pgImport.Round(time.Millisecond))
	return nil
}

// openPostgresCopy imports grant set g into the PostgreSQL database of
// postgresDSNVar, under table names of a prefix of this run, vacuums it
// and adds it to the shared databases (dropped at the end).
func (h *harness) openPostgresCopy(g *grantSet) error {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	d := &sharedDB{name: databases[1], args: childArgs{Prefix: "bench" + hex.EncodeToString(b) + "_", Grants: g.n}, g: g}
	h.shared = append(h.shared, d) // dropped by close, even if the import fails
	took, err := importPostgres(h, d, g.fx)
	if err != nil {
		return fmt.Errorf("PostgreSQL data set: %w", err)
	}
	var version string
	if db, err := openPostgres(); err == nil {
		db.Raw("SHOW server_version").Scan(&version)
		closeGorm(db)
	}
	version, _, _ = strings.Cut(cmp.Or(version, "unknown"), " ")
	h.logf("PostgreSQL %s: %s grants imported in %s", version, count(g.n), took.Round(time.Millisecond))
	h.pgVersion, h.pgImport = version, took
	return nil
}

// importPostgres imports fx into d's PostgreSQL tables through a Service
// and returns how long it took, vacuum included.
func importPostgres(h *harness, d *sharedDB, fx *crmaccess.DataSet) (time.Duration, error) {
	var err error
	took := timeIt(func() {
		var in *instance
		if in, err = openInstance(h.ctx, d.args, -1); err != nil {
			return
		}
		defer in.close()
		if _, err = in.svc.Import(h.ctx, fx); err != nil {
			return
		}
		// As a server's database would be: vacuumed, statistics
		// gathered. VACUUM also spares the rows the autovacuum that the
		// import's many inserted rows would start in the background
		// (PostgreSQL 13 on), and the CHECKPOINT the writing of the
		// import's pages: either took CPU from whichever row ran
		// meanwhile, SQLite's included. CHECKPOINT needs a superuser
		// (or pg_checkpoint): without it, the rows run as they are.
		if err = in.db.Exec("VACUUM (ANALYZE)").Error; err == nil {
			_ = in.db.Exec("CHECKPOINT").Error
		}
	})
	return took, err
}

// close drops a PostgreSQL data set's tables.
func (d *sharedDB) close() {
	if d.args.Prefix == "" {
		return
	}
	db, err := openPostgres()
	if err != nil {
		return
	}
	defer closeGorm(db)
	var names []string
	db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND left(tablename, ?) = ?`,
		len(d.args.Prefix), d.args.Prefix).Scan(&names)
	for _, n := range names {
		db.Exec(`DROP TABLE IF EXISTS ` + n + ` CASCADE`)
	}
}

// onEach measures fn on every shared database, in turn; the result of a
// database that was not run is nil.
func onEach[T any](h *harness, fn func(d *sharedDB) (T, error)) ([2]*T, error) {
	var out [2]*T
	for _, d := range h.shared {
		h.logf("… on %s", d.name)
		r, err := fn(d)
		if err != nil {
			return out, fmt.Errorf("%s: %w", d.name, err)
		}
		out[slices.Index(databases[:], d.name)] = &r
	}
	return out, nil
}

// sideFigures turns per-database results into figures; a database not run
// shows "not run".
func sideFigures[T any](rs [2]*T, fig func(*T) figure) [2]figure {
	var out [2]figure
	for i, r := range rs {
		if r == nil {
			out[i] = text("not run")
			continue
		}
		out[i] = fig(r)
	}
	return out
}

// sideMet applies a target to per-database values.
func sideMet[T any](rs [2]*T, ok func(i int, r *T) bool) [2]string {
	var out [2]string
	for i, r := range rs {
		if r != nil {
			out[i] = yes(ok(i, r))
		}
	}
	return out
}

// spreadTargets picks about n opportunities spread over the data set, the
// skip-th after each of changeTargets' (so that rows do not share records),
// leaving out those whose creator or responsible user is one of users.
func spreadTargets(fx *crmaccess.DataSet, n, skip int, users ...string) []*crmaccess.Opportunity {
	step := len(fx.Opportunities) / min(n, len(fx.Opportunities))
	var out []*crmaccess.Opportunity
	for i := skip % step; i < len(fx.Opportunities) && len(out) < n; i += step {
		o := &fx.Opportunities[i]
		if !slices.Contains(users, o.CreateBy) && !slices.Contains(users, o.Responsible) {
			out = append(out, o)
		}
	}
	return out
}

// setLists gives every target the list of its state (0: listA, 1: listB)
// through in, and returns the token of the last write.
func setLists(ctx context.Context, in *instance, targets []*crmaccess.Opportunity, state []int) (crmaccess.Token, error) {
	var tok crmaccess.Token
	for i, o := range targets {
		res, err := in.svc.SetOpportunityAccess(ctx, o.CreateBy, o.ID, true, [][]string{listA, listB}[state[i]])
		if err != nil {
			return "", err
		}
		tok = res.Token
	}
	return tok, nil
}
