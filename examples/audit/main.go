// Command audit audits the access rules of a live crmaccess database (a
// SQLite file or a PostgreSQL URL), for people and for CI jobs:
//
//	go run ./examples/audit check   [flags] FILE                       # check an expectations file
//	go run ./examples/audit explain [flags] -user ID -record opportunity:1 -action edit
//	go run ./examples/audit who     [flags] -record opportunity:1 [-at T] # who may act on a record now, or could at T
//
// Every command takes these flags (before its arguments):
//
//	-db PATH|URL   a SQLite file (default crmaccess.db, what examples/server creates)
//	               or a PostgreSQL URL (postgres://…)
//	-load FILE     load this fixture file (for example examples/server/demo.json)
//	               into the database when it is empty; one that holds data is
//	               audited as it is
//	-json          answer in JSON for machines instead of a table for people
//	-progress      draw the progress bar of long scans on stderr even when
//	               stderr is not a terminal (on a terminal it is drawn anyway)
//
// check reads an expectations file (the format of package accesstest) and
// checks every assertion in it. Exit status: 0 when all hold, 1 on a
// violation or when the database cannot be audited, 2 on a usage error (a
// bad flag or argument, an expectations file that does not parse).
//
// The rules are read once, when the command starts: the answers are those
// of that state, named by its consistency token in the JSON output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK        = 0
	exitViolation = 1 // an expectation does not hold, or the audit could not be done
	exitUsage     = 2
)

const usage = `usage:
  audit check   [flags] FILE
  audit explain [flags] -user ID -record KIND:ID -action read|edit|delete|access
  audit who     [flags] -record KIND:ID [-at TIME|TOKEN]
flags of every command: -db PATH|URL, -load FILE, -json, -progress ("audit COMMAND -h" lists them)
`

// command is one subcommand: it registers its flags, checks them and its
// arguments before the database is opened (a usage error touches
// nothing), then runs with the database open.
type command interface {
	flags(fs *flag.FlagSet)
	parse(args []string) error
	run(ctx context.Context, a *audit) int
}

var commands = map[string]func() command{
	"check":   func() command { return &checkCommand{} },
	"explain": func() command { return &explainCommand{} },
	"who":     func() command { return &whoCommand{} },
}

// run is the whole program: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "-help" || name == "--help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	newCommand, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "audit: unknown command %q\n%s", name, usage)
		return exitUsage
	}
	fs := flag.NewFlagSet("audit "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := &audit{stdout: stdout, stderr: stderr, name: name}
	fs.StringVar(&a.db, "db", "crmaccess.db", "a SQLite database file, or a PostgreSQL URL (postgres://…)")
	fs.StringVar(&a.load, "load", "", "load this fixture file into the database when it is empty (e.g. examples/server/demo.json)")
	fs.BoolVar(&a.json, "json", false, "answer in JSON instead of a table")
	fs.BoolVar(&a.progress, "progress", false, "draw the progress bar on stderr even when it is not a terminal")
	cmd := newCommand()
	cmd.flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if err := cmd.parse(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "audit %s: %v\n", name, err)
		return exitUsage
	}
	data, err := a.readFixture()
	if err != nil {
		fmt.Fprintf(stderr, "audit %s: %v\n", name, err)
		return exitUsage
	}
	if err := a.open(ctx, data); err != nil {
		fmt.Fprintf(stderr, "audit %s: %v\n", name, err)
		return exitViolation
	}
	defer a.close()
	return cmd.run(ctx, a)
}

// audit is one run of a command over an open database.
type audit struct {
	stdout, stderr io.Writer
	name           string // the command

	// flags
	db, load       string
	json, progress bool

	store crmaccess.Store
	svc   *crmaccess.Service
	close func()
}

// failure reports an audit that could not be done and returns exitViolation.
func (a *audit) failure(format string, args ...any) int {
	fmt.Fprintf(a.stderr, "audit %s: %s\n", a.name, fmt.Sprintf(format, args...))
	return exitViolation
}

// shown is the database as it may be printed: a URL without its password.
func (a *audit) shown() string {
	if u, err := url.Parse(a.db); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return a.db
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// readFixture reads the -load file, if any: a file that does not parse is
// a usage error, found before the database is opened.
func (a *audit) readFixture() (*crmaccess.DataSet, error) {
	if a.load == "" {
		return nil, nil
	}
	f, err := os.Open(a.load)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	file, err := fixture.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("-load %s: %s", a.load, strings.TrimPrefix(crmaccess.ErrorMessage(err), "fixture: "))
	}
	return file.DataSet(), nil
}

// open opens the database, loads data into it when it is empty (nil:
// none), and starts a Service that reads the rules once (it does not
// follow later writes: an audit answers for the state it started on).
func (a *audit) open(ctx context.Context, data *crmaccess.DataSet) error {

	var st *storage.Store
	var closeDB func()
	if isPostgres(a.db) {
		db, err := gorm.Open(postgres.Open(a.db), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			return fmt.Errorf("open %s: %v", a.shown(), err)
		}
		closeDB = func() {
			if sqlDB, err := db.DB(); err == nil {
				sqlDB.Close()
			}
		}
		if st, err = storage.New(ctx, db, nil); err != nil {
			closeDB()
			return fmt.Errorf("open %s: %v", a.shown(), err)
		}
	} else {
		// An audit of a file that is not there would create an empty
		// database and report on it: refuse, unless asked to load one.
		if _, err := os.Stat(a.db); errors.Is(err, fs.ErrNotExist) && data == nil {
			return fmt.Errorf("no database file %s (start examples/server once to create the demo, or pass -load FILE)", a.db)
		}
		var err error
		if st, err = storage.Open(ctx, a.db, nil); err != nil {
			return fmt.Errorf("open %s: %v", a.db, err)
		}
		closeDB = func() {}
	}
	engine, err := policy.New()
	if err == nil {
		a.svc, err = crmaccess.NewService(ctx, st, engine, &crmaccess.Options{PollInterval: -1})
	}
	if err != nil {
		st.Close()
		closeDB()
		return fmt.Errorf("load the access rules of %s: %v", a.shown(), err)
	}
	a.store = st
	a.close = func() {
		a.svc.Close()
		st.Close()
		closeDB()
	}
	if data == nil {
		return nil
	}
	switch _, err := a.svc.Import(ctx, data); {
	case err == nil:
		fmt.Fprintf(a.stderr, "audit: loaded %s into %s\n", a.load, a.shown())
	case crmaccess.ErrorCode(err) == crmaccess.ECONFLICT:
		fmt.Fprintf(a.stderr, "audit: %s already holds data: auditing it as it is (-load skipped)\n", a.shown())
	default:
		a.close()
		return fmt.Errorf("load %s: %v", a.load, err)
	}
	return nil
}
