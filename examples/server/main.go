// Command server is crmaccess's quick start: it serves the two ONLYOFFICE
// CRM access endpoints over a SQLite file, filled on first start with a demo
// portal, and authenticates with the demo users' bearer tokens.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-db crmaccess.db | -db postgres://…] [-location NAME] [-fixtures FILE]
//
// -db names a SQLite file or a PostgreSQL URL; several servers may share
// one database, each following the others' writes.
// -fixtures loads FILE (the fixture format of crmaccess/fixture) into an
// empty database instead of the demo portal; on a database that already
// holds data it refuses and exits with status 1. A later start on the same
// file keeps its data and its tokens. -location names the portal's time
// zone (an IANA name such as Europe/Berlin; UTC by default): dates sent
// without an offset are read in it, and dates are written in it, as
// ONLYOFFICE does.
//
// The address is taken, the location and the fixture file are read, before
// the database is opened: a busy port or a bad argument writes nothing.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // -location works where the system has no zone files

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/httpadapter"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

//go:embed demo.json
var demoPortal []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program: it returns the exit status once ctx is done
// (the server then shuts down cleanly) or something failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dbPath := fs.String("db", "crmaccess.db", "SQLite database file (created if missing), or a PostgreSQL URL (postgres://…) that several servers may share")
	location := fs.String("location", "", "the portal's time zone, e.g. Europe/Berlin: dates without an offset are read and written in it (default UTC)")
	fixtures := fs.String("fixtures", "", "load this fixture file into an empty database instead of the demo portal")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "server: unexpected arguments %q\n", fs.Args())
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "server: "+format+"\n", a...)
		return 1
	}

	shown := redacted(*dbPath) // a URL's password is not printed

	// Everything that can fail on its own fails before the database is
	// touched: the address, the location, the data set.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail("%v", err)
	}
	defer ln.Close() // a no-op once the server has shut down
	loc, err := time.LoadLocation(*location)
	if err != nil {
		return fail("-location %q: %v (use an IANA time zone name such as Europe/Berlin)", *location, err)
	}
	data, source := demoPortal, "the demo portal"
	if *fixtures != "" {
		if data, err = os.ReadFile(*fixtures); err != nil {
			return fail("%v", err)
		}
		source = *fixtures
	}
	fx, err := fixture.Parse(bytes.NewReader(data))
	if err != nil {
		// "FILE: line 3, column 12: users[0]: …"
		return fail("%s: %s", source, strings.TrimPrefix(crmaccess.ErrorMessage(err), "fixture: "))
	}

	db, err := openDB(*dbPath)
	if err != nil {
		return fail("open %s: %v", shown, err)
	}
	defer closeDB(db)
	if err := db.WithContext(ctx).AutoMigrate(&demoToken{}); err != nil {
		return fail("open %s: %v", shown, err)
	}
	store, err := storage.New(ctx, db, nil)
	if err != nil {
		return fail("open %s: %v", shown, err)
	}
	engine, err := policy.New()
	if err != nil {
		return fail("%v", err)
	}
	svc, err := crmaccess.NewService(ctx, store, engine, nil)
	if err != nil {
		return fail("load the access rules of %s: %v", shown, err)
	}
	defer svc.Close()

	// The data set goes into an empty database; one that holds data keeps it.
	switch _, err := svc.Import(ctx, fx.DataSet()); {
	case err == nil:
		if err := saveTokens(ctx, db, fx); err != nil {
			return fail("save the tokens of %s: %v", source, err)
		}
		fmt.Fprintf(stdout, "Loaded %s into %s: %d users, %d stages, %d contacts, %d opportunities.\n",
			source, shown, len(fx.Users), len(fx.Stages), len(fx.Contacts), len(fx.Opportunities))
	case crmaccess.ErrorCode(err) == crmaccess.ECONFLICT && *fixtures != "":
		return fail("%s already holds data; -fixtures loads only into an empty database (pick a new -db file)", shown)
	case crmaccess.ErrorCode(err) == crmaccess.ECONFLICT:
		fmt.Fprintf(stdout, "Using the data already in %s.\n", shown)
	default:
		return fail("load %s: %v", source, err)
	}

	tokens, err := loadTokens(ctx, db)
	if err != nil {
		return fail("read the tokens: %v", err)
	}
	if err := printTokens(ctx, stdout, svc, tokens); err != nil {
		return fail("read the users: %v", err)
	}

	mux := http.NewServeMux()
	// The adapter answers a 401 with WWW-Authenticate: Bearer realm="crmaccess",
	// the scheme of bearer below.
	mux.Handle(httpadapter.DefaultPrefix+"/", httpadapter.New(svc, bearer(ctx, db, tokens), &httpadapter.Options{Logger: log, Location: loc}))
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(httpadapter.OpenAPI())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "crmaccess demo server\n\nPUT %s/opportunity/{id}/access\nPUT %s/contact/filter/access\nGET /openapi.yaml\n",
			httpadapter.DefaultPrefix, httpadapter.DefaultPrefix)
	})
	srv := &http.Server{
		Handler:           logRequests(log, mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Listening on http://%s (Ctrl-C stops).\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fail("%v", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fail("shutdown: %v", err)
	}
	log.Info("stopped")
	return 0
}

// openDB opens the SQLite file the way storage.Open does (WAL, a busy
// timeout, immediate transactions), but as the program's own *gorm.DB, so
// the token table lives in the same file.
//
// A postgres:// or postgresql:// URL opens that PostgreSQL database instead:
// several servers may share it (and a SQLite file on one host), each
// following the others' writes through crmaccess's change log.
func openDB(path string) (*gorm.DB, error) {
	if strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://") {
		db, err := gorm.Open(postgres.Open(path), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			return nil, err
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		// database/sql keeps 2 idle connections by default: under
		// concurrent requests, every one beyond them would open (and
		// close) a connection of its own, milliseconds each.
		sqlDB.SetMaxIdleConns(postgresIdleConns)
		return db, nil
	}
	return gorm.Open(sqlite.Open(storage.SQLiteDSN(path)), &gorm.Config{Logger: logger.Discard})
}

// postgresIdleConns is how many PostgreSQL connections the server keeps
// open between requests.
const postgresIdleConns = 32

// redacted is the database as it may be shown: a URL without its password.
func redacted(db string) string {
	if u, err := url.Parse(db); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return db
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// logRequests writes one structured log line per request.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var errNoToken = errors.New("no bearer token")
