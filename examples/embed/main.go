package main

import (
	"context"
	"encoding/json"
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
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

// Deal is the host's own table of deals: each is a crmaccess opportunity
// of the same id, written in the same transaction.
type Deal struct {
	ID     int64 `gorm:"primaryKey;autoIncrement:false"`
	Title  string
	Amount int64
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
	db, err := gorm.Open(sqlite.Open(storage.SQLiteDSN(dbPath)), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	if err := db.WithContext(ctx).AutoMigrate(&Account{}, &Deal{}); err != nil {
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
	deals := &dealRoutes{db: db, store: store, svc: svc, auth: apiKeyAuth(db)}
	mux.HandleFunc("POST /deals", deals.create)
	mux.HandleFunc("PUT /deals/{id}", deals.edit)
	mux.HandleFunc("DELETE /deals/{id}", deals.remove)
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
	fmt.Fprintf(stdout, "Listening on %s: GET /accounts, POST /deals, PUT and DELETE /deals/{id} (the host's), /api/2.0/crm/... (crmaccess), header X-API-Key.\n", url)

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
	fx, err := fixture.Parse(strings.NewReader(crmData))
	if err != nil {
		return err
	}
	if _, err := svc.Import(ctx, fx.DataSet()); err != nil {
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

// dealRoutes are the host's deal routes: each writes the host's deal and
// crmaccess's opportunity in one transaction of the host's. The answer
// carries crmaccess's consistency token: a later request that sends it back
// is decided on a state that holds the write, on any instance.
type dealRoutes struct {
	db    *gorm.DB
	store *storage.Store
	svc   *crmaccess.Service
	auth  httpadapter.Authenticate
}

// errRolledBack is what a request asking for a rollback (to show that
// nothing stays) ends its transaction with.
var errRolledBack = errors.New("rolled back as asked")

// dealRequest is the body of POST and PUT /deals.
type dealRequest struct {
	ID          int64    `json:"id"`
	Title       string   `json:"title"`
	Amount      int64    `json:"amount"`
	Responsible string   `json:"responsible"`
	IsPrivate   bool     `json:"isPrivate"`
	AccessList  []string `json:"accessList"`
	Rollback    bool     `json:"rollback"` // roll the transaction back at the end, on purpose
}

// inTransaction runs write in one transaction of the host's, with
// crmaccess's view of it, and answers.
func (d *dealRoutes) inTransaction(w http.ResponseWriter, r *http.Request, write func(tx *gorm.DB, crm *crmaccess.Service, user string) (crmaccess.Token, error)) {
	user, err := d.auth(r)
	if err != nil {
		http.Error(w, "no or bad API key", http.StatusUnauthorized)
		return
	}
	var tok crmaccess.Token
	err = d.db.WithContext(r.Context()).Transaction(func(tx *gorm.DB) error {
		inTx, err := d.store.InTx(tx)
		if err != nil {
			return err
		}
		tok, err = write(tx, d.svc.InTransaction(inTx), user)
		return err
	})
	switch {
	case errors.Is(err, errRolledBack):
		http.Error(w, "rolled back: neither the deal nor crmaccess's opportunity was written", http.StatusConflict)
	case crmaccess.ErrorCode(err) == crmaccess.ENOTFOUND:
		http.Error(w, crmaccess.ErrorMessage(err), http.StatusNotFound)
	case crmaccess.ErrorCode(err) == crmaccess.EFORBIDDEN:
		http.Error(w, crmaccess.ErrorMessage(err), http.StatusForbidden)
	case crmaccess.ErrorCode(err) == crmaccess.EINVALID || crmaccess.ErrorCode(err) == crmaccess.ECONFLICT:
		http.Error(w, crmaccess.ErrorMessage(err), http.StatusBadRequest)
	case err != nil:
		http.Error(w, "internal error", http.StatusInternalServerError)
	default:
		w.Header().Set("X-Consistency-Token", string(tok))
		fmt.Fprintln(w, "ok")
	}
}

func (d *dealRoutes) create(w http.ResponseWriter, r *http.Request) {
	var in dealRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	d.inTransaction(w, r, func(tx *gorm.DB, crm *crmaccess.Service, user string) (crmaccess.Token, error) {
		if err := tx.Create(&Deal{ID: in.ID, Title: in.Title, Amount: in.Amount}).Error; err != nil {
			return "", err
		}
		o, err := crm.CreateOpportunity(r.Context(), user, crmaccess.Opportunity{ID: in.ID, Title: in.Title,
			Responsible: in.Responsible}, in.IsPrivate, in.AccessList)
		if err != nil {
			return "", err
		}
		if in.Rollback {
			return "", errRolledBack
		}
		return o.Token, nil
	})
}

func (d *dealRoutes) edit(w http.ResponseWriter, r *http.Request) {
	var in dealRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	d.inTransaction(w, r, func(tx *gorm.DB, crm *crmaccess.Service, user string) (crmaccess.Token, error) {
		// crmaccess first: it refuses a user who may not edit the deal.
		o, err := crm.UpdateOpportunity(r.Context(), user, crmaccess.Opportunity{ID: id, Title: in.Title, Responsible: in.Responsible})
		if err != nil {
			return "", err
		}
		if err := tx.Model(&Deal{ID: id}).Updates(map[string]any{"title": in.Title, "amount": in.Amount}).Error; err != nil {
			return "", err
		}
		return o.Token, nil
	})
}

func (d *dealRoutes) remove(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	d.inTransaction(w, r, func(tx *gorm.DB, crm *crmaccess.Service, user string) (crmaccess.Token, error) {
		tok, err := crm.DeleteOpportunity(r.Context(), user, id)
		if err != nil {
			return "", err
		}
		return tok, tx.Delete(&Deal{ID: id}).Error
	})
}

// exercise sends the requests of -selftest and prints the answers.
func exercise(url string, w io.Writer) error {
	var token string // the last write's, sent with every request: read your writes
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
		if token != "" {
			r.Header.Set("X-Consistency-Token", token)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if t := resp.Header.Get("X-Consistency-Token"); t != "" {
			token = t
		}
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
		// The host's deals: its row and crmaccess's opportunity in one
		// transaction; the third is rolled back on purpose.
		{http.MethodPost, "/deals", "grace-key", `{"id":2,"title":"Analytical engine","amount":1000,"isPrivate":true,"accessList":["bbbbbbbb-2222-4222-8222-222222222222"]}`},
		{http.MethodGet, "/api/2.0/crm/opportunity/2", "alan-key", ""},
		{http.MethodPost, "/deals", "grace-key", `{"id":3,"title":"Never","rollback":true}`},
		{http.MethodGet, "/api/2.0/crm/opportunity/3", "grace-key", ""},
		{http.MethodPut, "/deals/2", "alan-key", `{"title":"Analytical engine, phase 2","amount":2000}`},
		{http.MethodPut, "/deals/2", "grace-key", `{"title":"Analytical engine, phase 2","amount":2000,"responsible":"bbbbbbbb-2222-4222-8222-222222222222"}`},
		{http.MethodDelete, "/deals/2", "grace-key", ""},
		{http.MethodGet, "/api/2.0/crm/opportunity/2", "grace-key", ""},
	}
	for _, s := range steps {
		if err := send(s.method, s.path, s.key, s.body); err != nil {
			return err
		}
	}
	return nil
}
