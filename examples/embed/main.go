// Command embed shows crmaccess inside a host application: the host has
// its own GORM database with its own table (accounts with API keys), opens
// crmaccess on the same *gorm.DB with storage.New, and mounts the two
// ONLYOFFICE endpoints beside its own routes, authenticating with its own
// accounts.
//
//	go run ./examples/embed              # serve on 127.0.0.1:8081 over embed.db
//	go run ./examples/embed -selftest    # serve on a free port, send a few requests, print the answers, exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/httpadapter"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// Account is the host's own table: its users, with the CRM user id each
// one acts as and an API key.
type Account struct {
	ID        uint   `gorm:"primaryKey"`
	Email     string `gorm:"uniqueIndex;not null"`
	CRMUserID string `gorm:"size:36;not null"`
	APIKey    string `gorm:"uniqueIndex;not null"`
}

// The host's CRM data: two users and one opportunity.
const crmData = `{
  "users": [
    {"id": "aaaaaaaa-1111-4111-8111-111111111111", "displayName": "Grace Hopper", "title": "Owner"},
    {"id": "bbbbbbbb-2222-4222-8222-222222222222", "displayName": "Alan Turing", "title": "Sales"}
  ],
  "contacts": [
    {"id": 1, "isCompany": true, "companyName": "Analytical Engines Ltd", "tags": ["lead"], "created": "2024-01-01T00:00:00Z",
     "createBy": "aaaaaaaa-1111-4111-8111-111111111111"}
  ],
  "opportunities": [
    {"id": 1, "title": "Difference engine service contract", "createBy": "aaaaaaaa-1111-4111-8111-111111111111",
     "responsible": "aaaaaaaa-1111-4111-8111-111111111111", "contactId": 1, "created": "2024-01-02T00:00:00Z"}
  ]
}`

var accounts = []Account{
	{Email: "grace@example.com", CRMUserID: "aaaaaaaa-1111-4111-8111-111111111111", APIKey: "grace-key"},
	{Email: "alan@example.com", CRMUserID: "bbbbbbbb-2222-4222-8222-222222222222", APIKey: "alan-key"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	dbPath := fs.String("db", "embed.db", "the host's SQLite database file")
	selftest := fs.Bool("selftest", false, "serve on a free port over a temporary database, send a few requests, print the answers and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *selftest {
		dir, err := os.MkdirTemp("", "crmaccess-embed")
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		*dbPath, *addr = filepath.Join(dir, "embed.db"), "127.0.0.1:0"
	}
	if err := serve(ctx, *dbPath, *addr, *selftest, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "embed:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, dbPath, addr string, selftest bool, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// The host's database and its own table.
	db, err := gorm.Open(sqlite.Open("file:"+dbPath+"?_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	if err := db.WithContext(ctx).AutoMigrate(&Account{}); err != nil {
		return err
	}

	// crmaccess on the same *gorm.DB: its tables are prefixed, the host's
	// stay the host's, and Close would not close the host's database.
	store, err := storage.New(ctx, db, &storage.Options{TablePrefix: "crm_"})
	if err != nil {
		return err
	}
	engine, err := policy.New()
	if err != nil {
		return err
	}
	svc, err := crmaccess.NewService(ctx, store, engine, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := seed(ctx, db, svc); err != nil {
		return err
	}

	// The host's routes, and the CRM endpoints beside them.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		var list []Account
		if err := db.WithContext(r.Context()).Order("id").Find(&list).Error; err != nil {
			http.Error(w, "cannot list accounts", http.StatusInternalServerError)
			return
		}
		for _, a := range list {
			fmt.Fprintln(w, a.Email)
		}
	})
	mux.Handle("/api/2.0/crm/", httpadapter.New(svc, apiKeyAuth(db), &httpadapter.Options{Logger: log}))

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Listening on %s: GET /accounts (the host's), PUT /api/2.0/crm/... (crmaccess), header X-API-Key.\n", url)

	if selftest {
		err = exercise(url, stdout)
	} else {
		select {
		case err = <-served:
		case <-ctx.Done():
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); err == nil {
		err = serr
	}
	return err
}

// seed fills an empty database: the host's accounts and its CRM data.
func seed(ctx context.Context, db *gorm.DB, svc *crmaccess.Service) error {
	var n int64
	if err := db.WithContext(ctx).Model(&Account{}).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	fx, err := crmaccess.ParseFixture(strings.NewReader(crmData))
	if err != nil {
		return err
	}
	if _, err := svc.Import(ctx, fx); err != nil {
		return err
	}
	return db.WithContext(ctx).Create(&accounts).Error
}

// apiKeyAuth authenticates with the host's own accounts.
func apiKeyAuth(db *gorm.DB) httpadapter.Authenticate {
	return func(r *http.Request) (string, error) {
		key := r.Header.Get("X-API-Key")
		if key == "" {
			return "", errors.New("no API key")
		}
		var a Account
		if err := db.WithContext(r.Context()).Where("api_key = ?", key).First(&a).Error; err != nil {
			return "", err
		}
		return a.CRMUserID, nil
	}
}

// exercise sends the requests of -selftest and prints the answers.
func exercise(url string, w io.Writer) error {
	send := func(method, path, key, body string) error {
		r, err := http.NewRequest(method, url+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			r.Header.Set("X-API-Key", key)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		fmt.Fprintf(w, "%s %s -> %d\n%s\n", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
		return err
	}
	steps := []struct{ method, path, key, body string }{
		{http.MethodGet, "/accounts", "", ""},
		{http.MethodPut, "/api/2.0/crm/opportunity/1/access.xml", "grace-key", `{"isPrivate":true,"accessList":[]}`},
		{http.MethodPut, "/api/2.0/crm/opportunity/1/access", "grace-key", `{"isPrivate":true,"accessList":["bbbbbbbb-2222-4222-8222-222222222222"]}`},
		{http.MethodPut, "/api/2.0/crm/opportunity/1/access", "alan-key", `{"isPrivate":false}`},
		{http.MethodPut, "/api/2.0/crm/opportunity/1/access", "", `{}`},
	}
	for _, s := range steps {
		if err := send(s.method, s.path, s.key, s.body); err != nil {
			return err
		}
	}
	return nil
}
