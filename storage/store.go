package storage

import (
	"context"
	"database/sql"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess"
)

// Default table names.
const (
	DefaultTablePrefix = "crm_"
	DefaultRuleTable   = "casbin_rule" // gorm-adapter's default table
)

// Options tune a Store; a nil *Options means the defaults.
type Options struct {
	// TablePrefix starts the name of every table of the store except the
	// rule table, so that the store's tables stay apart from the caller's.
	// Lower-case letters, digits and underscores; "" means
	// DefaultTablePrefix.
	TablePrefix string
	// RuleTable is the name of the policy table, in gorm-adapter's layout
	// (id, ptype, v0..v5). Lower-case letters, digits and underscores,
	// schema-qualified ("schema.table") on PostgreSQL only; "" means
	// DefaultRuleTable.
	RuleTable string
	// BatchSize caps the rows one multi-row statement writes or one IN list
	// names. 0 means as many as fit in SQLite's limit of 32,766 bound
	// variables; a larger value is lowered to fit that limit. Writes use at
	// most 1,000 rows a statement whatever the setting: that statement is
	// prepared once per step and reused, which is faster than compiling
	// larger ones.
	BatchSize int
}

// Store keeps records, rules and change records in a SQL database through
// GORM. It implements crmaccess.Store and is safe for concurrent use.
type Store struct {
	gdb       *gorm.DB
	db        *sql.DB
	d         dialect
	t         tables
	batchSize int
	owned     bool // the Store opened db and closes it
	// immediate is set when the SQLite connections begin immediate
	// transactions (_txlock=immediate): BEGIN takes the write lock.
	immediate bool
	stmts     *stmtCache // SQLite only (stmtcache.go): writes' statements
	readStmts *stmtCache // and those of reads outside a transaction
	// ckpt checkpoints the WAL after writes (checkpoint.go): set on the
	// SQLite databases Open opens, whose connections do not.
	ckpt *checkpointer
	// pgx is set on PostgreSQL through pgx's database/sql driver: Update
	// begins and ends its transactions by hand (pgwrite.go), and small
	// writes go as one statement of arrays (pgarrays.go).
	pgx       bool
	arrayOnce sync.Once
	arraySQL  string
	// arrayCheckedSQL is the array statement that checks its counts.
	arrayCheckedSQL string
}

var _ crmaccess.Store = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database file at path and
// migrates its schema. The Store owns the database: Close closes it. Errors
// carry EINVALID for bad options or path, EINTERNAL otherwise.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: Open needs the path of a database file")
	}
	dsn := SQLiteDSN(path)
	registerSQLiteDriver() // checkpoint.go: no auto-checkpoint
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: sqliteDriver, DSN: dsn}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, crmaccess.Internal(err)
	}
	s, err := newStore(ctx, db, opts, true)
	if err != nil {
		if sqlDB, dbErr := db.DB(); dbErr == nil {
			sqlDB.Close()
		}
		return nil, err
	}
	return s, nil
}

// New returns a Store over a database the caller opened (SQLite or
// PostgreSQL) and migrates the schema: the store's tables (TablePrefix) and
// the rule table, if missing. The caller's own tables are left alone, and
// Close does not close db. Errors carry EINVALID for bad options or an
// unsupported database, EINTERNAL otherwise.
func New(ctx context.Context, db *gorm.DB, opts *Options) (*Store, error) {
	if db == nil {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: New needs a database")
	}
	return newStore(ctx, db, opts, false)
}

var (
	prefixPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	tablePattern  = regexp.MustCompile(`^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$`)
)

func newStore(ctx context.Context, gdb *gorm.DB, opts *Options, owned bool) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TablePrefix == "" {
		o.TablePrefix = DefaultTablePrefix
	}
	if o.RuleTable == "" {
		o.RuleTable = DefaultRuleTable
	}
	// Names go into SQL unquoted; lower case keeps them the same in every
	// dialect (PostgreSQL folds unquoted names to lower case).
	if !prefixPattern.MatchString(o.TablePrefix) {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: table prefix %q is not lower-case letters, digits and underscores", o.TablePrefix)
	}
	if !tablePattern.MatchString(o.RuleTable) {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: rule table %q is not lower-case letters, digits and underscores", o.RuleTable)
	}
	if o.BatchSize < 0 {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: batch size %d is negative", o.BatchSize)
	}
	d := dialect{name: gdb.Dialector.Name()}
	if d.name != "sqlite" && d.name != "postgres" {
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: database %q is not supported (sqlite, postgres)", d.name)
	}
	if strings.Contains(o.RuleTable, ".") && !d.postgres() {
		// gorm-adapter names the unique index "schema.table"'s way, which
		// only PostgreSQL accepts.
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: a schema-qualified rule table (%q) needs PostgreSQL", o.RuleTable)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, crmaccess.Internal(err)
	}
	s := &Store{
		gdb:       gdb,
		db:        sqlDB,
		d:         d,
		t:         newTables(o.TablePrefix, o.RuleTable),
		batchSize: o.BatchSize,
		owned:     owned,
	}
	if d.postgres() {
		_, s.pgx = sqlDB.Driver().(*stdlib.Driver)
	} else {
		s.stmts, s.readStmts = newStmtCache(), newStmtCache()
		if sd, ok := gdb.Dialector.(*sqlite.Dialector); ok && sd.Conn == nil {
			s.immediate = beginsImmediate(sd.DSN)
		}
	}
	if err := s.migrate(ctx, o.TablePrefix); err != nil {
		return nil, s.translate(ctx, err)
	}
	if owned && !d.postgres() {
		s.ckpt = newCheckpointer(sqlDB)
		s.ckpt.written() // whatever the migration wrote
	}
	return s, nil
}

// Close releases the database if the Store opened it (Open); a caller's
// database (New) stays open.
func (s *Store) Close() error {
	if s.ckpt != nil {
		s.ckpt.close()
	}
	if s.stmts != nil {
		s.stmts.close()
		s.readStmts.close()
	}
	if !s.owned {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return crmaccess.Internal(err)
	}
	return nil
}

// beginsImmediate reports whether go-sqlite3's DSN makes every transaction
// begin immediate.
func beginsImmediate(dsn string) bool {
	_, query, ok := strings.Cut(dsn, "?")
	if !ok {
		return false
	}
	v, err := url.ParseQuery(query)
	return err == nil && v.Get("_txlock") == "immediate"
}
