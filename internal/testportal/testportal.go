// Package testportal is the one way crmaccess's tests wire a store, a
// policy engine and a Service, and load a test portal into it: on a SQLite
// file, or on fresh tables of the PostgreSQL database CRMACCESS_POSTGRES_DSN
// names. Tests that should hold on every database run their body once per
// database with Each.
package testportal

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// DB names a database the tests run on.
type DB string

const (
	SQLite     DB = "SQLite"
	PostgreSQL DB = "PostgreSQL"
)

// Databases returns SQLite and, when CRMACCESS_POSTGRES_DSN is set,
// PostgreSQL.
func Databases() []DB {
	if testdb.PostgresDSN() == "" {
		return []DB{SQLite}
	}
	return []DB{SQLite, PostgreSQL}
}

// Each runs f as a subtest named after each database of Databases.
func Each(t *testing.T, f func(t *testing.T, db DB)) {
	t.Helper()
	for _, db := range Databases() {
		t.Run(string(db), func(t *testing.T) { f(t, db) })
	}
}

// Store is an empty store's place: a SQLite file, or a set of tables of
// the PostgreSQL test database. Open opens a store there; each open is
// another connection, as another instance would have.
type Store struct {
	DB   DB
	Path string // the SQLite file
	// Tables are the store options naming the PostgreSQL tables (nil on
	// SQLite); they are dropped when the test that made them ends.
	Tables *storage.Options
}

// NewStore makes the place of a fresh, empty store on db. On PostgreSQL it
// skips the test when CRMACCESS_POSTGRES_DSN is not set.
func NewStore(t testing.TB, db DB) *Store {
	t.Helper()
	switch db {
	case SQLite:
		return &Store{DB: db, Path: filepath.Join(t.TempDir(), "crm.db")}
	case PostgreSQL:
		return &Store{DB: db, Tables: testdb.FreshTables(t, testdb.Postgres(t), "tp")}
	}
	t.Fatalf("testportal: unknown database %q", db)
	return nil
}

// SQLiteAt is the place of the SQLite file at path, as it is.
func SQLiteAt(path string) *Store { return &Store{DB: SQLite, Path: path} }

// PostgreSQLAt is the place of the tables of prefix in the PostgreSQL test
// database, as they are (another process's: they are not dropped here).
func PostgreSQLAt(prefix string) *Store {
	return &Store{DB: PostgreSQL, Tables: &storage.Options{TablePrefix: prefix, RuleTable: prefix + storage.DefaultRuleTable}}
}

// Gorm connects to the store's database; the connections close when the
// test ends.
func (s *Store) Gorm(t testing.TB) *gorm.DB {
	t.Helper()
	if s.DB == SQLite {
		return testdb.SQLite(t, s.Path)
	}
	return testdb.Postgres(t)
}

// RuleTable is the name of the store's rule table.
func (s *Store) RuleTable() string {
	if s.Tables != nil {
		return s.Tables.RuleTable
	}
	return storage.DefaultRuleTable
}

// Open opens the store, as it is, over a connection of its own (closed when
// the test ends, after anything registered later, such as a Service).
func (s *Store) Open(t testing.TB) *storage.Store {
	t.Helper()
	ctx := context.Background()
	var st *storage.Store
	var err error
	if s.DB == SQLite {
		st, err = storage.Open(ctx, s.Path, nil)
	} else {
		st, err = storage.New(ctx, testdb.Postgres(t), s.Tables)
	}
	if err != nil {
		t.Fatalf("open the %s store: %v", s.DB, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// OpenOn opens the store, as it is, over db, a connection to its database
// (Gorm's, or the host's own): a host's transaction on db can hold the
// store's writes.
func (s *Store) OpenOn(t testing.TB, db *gorm.DB) *storage.Store {
	t.Helper()
	st, err := storage.New(context.Background(), db, s.Tables)
	if err != nil {
		t.Fatalf("open the %s store: %v", s.DB, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Service starts a service, with a fresh policy engine, over st as it is;
// it closes when the test ends.
func Service(t testing.TB, st crmaccess.Store, opts *crmaccess.Options) *crmaccess.Service {
	t.Helper()
	eng, err := policy.New()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := crmaccess.NewService(context.Background(), st, eng, opts)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// File parses the fixture file at path.
func File(t testing.TB, path string) *fixture.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx, err := fixture.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// DefaultFile is the test portal of a package's tests: its own
// testdata/portal.json.
const DefaultFile = "testdata/portal.json"

// Options are how New builds a portal; nil means the defaults.
type Options struct {
	// File is the fixture file the portal is loaded with; "" is
	// DefaultFile, or no file when Data is set or the store stays Empty.
	File string
	// Data, if not nil, is imported instead of the file's data set (a
	// file named too is still parsed, for its users' tokens).
	Data *crmaccess.DataSet
	// Empty leaves the store empty.
	Empty bool
	// Wrap, if not nil, wraps the store the service runs over.
	Wrap func(crmaccess.Store) crmaccess.Store
	// Service are the service's options.
	Service *crmaccess.Options
}

// Portal is a service over a fresh store, loaded with a test portal.
type Portal struct {
	Service *crmaccess.Service
	Store   *storage.Store // the store (unwrapped)
	Place   *Store
	File    *fixture.File // the portal's fixture file, with its users' tokens (nil: none)
}

// New opens a fresh store on db, starts a service over it and imports the
// test portal.
func New(t testing.TB, db DB, opts *Options) *Portal {
	t.Helper()
	return Over(t, NewStore(t, db), opts)
}

// Over is New over the store at place, as it is (Empty: no import).
func Over(t testing.TB, place *Store, opts *Options) *Portal {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.File == "" && o.Data == nil && !o.Empty {
		o.File = DefaultFile
	}
	st := place.Open(t)
	var store crmaccess.Store = st
	if o.Wrap != nil {
		store = o.Wrap(st)
	}
	p := &Portal{Service: Service(t, store, o.Service), Store: st, Place: place}
	if o.File != "" {
		p.File = File(t, o.File)
	}
	if !o.Empty {
		data := o.Data
		if data == nil {
			data = p.File.DataSet()
		}
		if _, err := p.Service.Import(context.Background(), data); err != nil {
			t.Fatalf("Import: %v", err)
		}
	}
	return p
}
