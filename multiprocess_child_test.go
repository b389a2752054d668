package crmaccess_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/httpadapter"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// The environment of a child of TestSeveralProcesses.
const (
	multiChildEnv  = "CRMACCESS_MULTI_CHILD"  // set in a child: its database engine, sqlite or postgres
	multiTargetEnv = "CRMACCESS_MULTI_TARGET" // the SQLite file, or the PostgreSQL table prefix
)

// markListening starts the line on which a child tells its address.
const markListening = "multi: listening on "

// headerToken is the freshness header of SPEC §4.
const headerToken = "X-Consistency-Token"

// multiDB is the database the processes of TestSeveralProcesses share.
type multiDB struct {
	engine string // "sqlite" or "postgres"
	target string // the SQLite file, or the PostgreSQL table prefix
}

// table returns the name of one of the store's tables ("log", "changes").
func (m multiDB) table(name string) string {
	if m.engine == "postgres" {
		return m.target + name
	}
	return storage.DefaultTablePrefix + name
}

// ruleTable is the name of the policy table.
func (m multiDB) ruleTable() string {
	if m.engine == "postgres" {
		return postgresOptions(m.target).RuleTable
	}
	return storage.DefaultRuleTable
}

// openStore opens the store as an instance of the application would:
// storage.Open for the SQLite file, storage.New over its own connection
// for PostgreSQL. It is closed when the test ends.
func (m multiDB) openStore(t testing.TB) *storage.Store {
	t.Helper()
	switch m.engine {
	case "sqlite":
		return testportal.SQLiteAt(m.target).Open(t)
	case "postgres":
		postgresDSN(t) // skips without one
		return testportal.PostgreSQLAt(m.target).Open(t)
	}
	t.Fatalf("unknown database engine %q", m.engine)
	return nil
}

// TestMultiChild is one instance of TestSeveralProcesses: a Service over
// the shared database, serving the HTTP adapter and the test endpoints
// (multiHandler) on a port of its own, until its standard input ends or it
// is killed.
func TestMultiChild(t *testing.T) {
	engine := os.Getenv(multiChildEnv)
	if engine == "" {
		t.Skip("runs only as a child of TestSeveralProcesses")
	}
	db := multiDB{engine: engine, target: os.Getenv(multiTargetEnv)}
	svc := serviceWith(t, db.openStore(t), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: multiHandler(svc), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	fmt.Fprintf(os.Stdout, "%s%s\n", markListening, ln.Addr())
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // the parent closes stdin to stop the child
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx) //nolint:errcheck // the process ends anyway
}

// bearerUser authenticates "Authorization: Bearer USER-ID": the test
// trusts its own requests.
func bearerUser(r *http.Request) (string, error) {
	user, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return user, nil
}

// multiHandler serves the HTTP adapter under its default prefix and the
// test's own endpoints, which honour X-Consistency-Token as the adapter
// does and answer with the token of the state they used:
//
//	POST /test/admin?user=U&admin=true|false  grant or revoke (actor: the bearer)
//	GET  /test/check?user=U&kind=K&id=N&action=A  {"allowed":…,"reason":…}
//	GET  /test/decisions  every (user, record, action) of multiDecisions
//	GET  /test/token  the state memory holds now, without catching up
func multiHandler(svc *crmaccess.Service) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(httpadapter.DefaultPrefix+"/", httpadapter.New(svc, bearerUser, nil))
	mux.HandleFunc("POST /test/admin", func(w http.ResponseWriter, r *http.Request) {
		wait, cancel, err := freshnessContext(r)
		defer cancel()
		if err == nil {
			err = svc.WaitFor(wait, tokenOf(wait))
		}
		if err != nil {
			writeTestError(w, err)
			return
		}
		actor, _ := bearerUser(r)
		grant := r.FormValue("admin") == "true"
		var tok crmaccess.Token
		if grant {
			tok, err = svc.GrantAdmin(r.Context(), actor, r.FormValue("user"))
		} else {
			tok, err = svc.RevokeAdmin(r.Context(), actor, r.FormValue("user"))
		}
		if err != nil {
			writeTestError(w, err)
			return
		}
		writeTestJSON(w, tok, map[string]bool{"admin": grant})
	})
	// Records created, updated and deleted: POST op=create|update|delete,
	// kind, id (on creation private, list; on an opportunity's update
	// responsible).
	mux.HandleFunc("POST /test/lifecycle", func(w http.ResponseWriter, r *http.Request) {
		actor, _ := bearerUser(r)
		id, _ := strconv.ParseInt(r.FormValue("id"), 10, 64)
		private, list := r.FormValue("private") == "true", r.Form["list"]
		var tok crmaccess.Token
		var answer any
		var err error
		switch r.FormValue("op") + " " + r.FormValue("kind") {
		case "create opportunity":
			var o *crmaccess.OpportunityResult
			if o, err = svc.CreateOpportunity(r.Context(), actor, crmaccess.Opportunity{ID: id, Title: "created"}, private, list); err == nil {
				tok, answer = o.Token, map[string]any{"isPrivate": o.IsPrivate, "list": o.AccessList}
			}
		case "create contact":
			share := crmaccess.ShareReadWrite
			if private {
				share = crmaccess.ShareNone
			}
			var c *crmaccess.ContactResult
			if c, err = svc.CreateContact(r.Context(), actor, crmaccess.Contact{ID: id, FirstName: "Created", ShareType: share, ManagerList: list}); err == nil {
				tok, answer = c.Token, map[string]any{"shareType": c.ShareType, "list": c.ManagerList}
			}
		case "update opportunity":
			var o *crmaccess.OpportunityResult
			if o, err = svc.UpdateOpportunity(r.Context(), actor, crmaccess.Opportunity{ID: id, Title: "updated",
				Responsible: r.FormValue("responsible")}); err == nil {
				tok, answer = o.Token, map[string]any{"isPrivate": o.IsPrivate, "list": o.AccessList}
			}
		case "update contact":
			var c *crmaccess.ContactResult
			if c, err = svc.UpdateContact(r.Context(), actor, crmaccess.Contact{ID: id, FirstName: "Updated"}); err == nil {
				tok, answer = c.Token, map[string]any{"shareType": c.ShareType, "list": c.ManagerList}
			}
		case "delete opportunity":
			tok, err = svc.DeleteOpportunity(r.Context(), actor, id)
			answer = map[string]bool{"deleted": true}
		case "delete contact":
			tok, err = svc.DeleteContact(r.Context(), actor, id)
			answer = map[string]bool{"deleted": true}
		default:
			http.Error(w, "unknown op", http.StatusBadRequest)
			return
		}
		if crmaccess.ErrorCode(err) == crmaccess.ECONFLICT {
			http.Error(w, crmaccess.ErrorMessage(err), http.StatusConflict) // already there
			return
		}
		if err != nil {
			writeTestError(w, err)
			return
		}
		writeTestJSON(w, tok, answer)
	})
	mux.HandleFunc("GET /test/check", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel, err := freshnessContext(r)
		defer cancel()
		if err != nil {
			writeTestError(w, err)
			return
		}
		if err := svc.WaitFor(ctx, tokenOf(ctx)); err != nil {
			writeTestError(w, err)
			return
		}
		// Read before deciding: the decision is at least this fresh.
		tok := svc.Token()
		id, _ := strconv.ParseInt(r.FormValue("id"), 10, 64)
		ref := crmaccess.Ref{Kind: crmaccess.Kind(r.FormValue("kind")), ID: id}
		d, err := svc.Check(ctx, r.FormValue("user"), ref, crmaccess.Action(r.FormValue("action")))
		if err != nil {
			writeTestError(w, err)
			return
		}
		writeTestJSON(w, tok, map[string]any{"allowed": d.Allowed, "reason": d.Reason})
	})
	mux.HandleFunc("GET /test/decisions", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel, err := freshnessContext(r)
		defer cancel()
		if err == nil {
			err = svc.WaitFor(ctx, tokenOf(ctx))
		}
		if err != nil {
			writeTestError(w, err)
			return
		}
		tok := svc.Token()
		out, err := multiDecisions(ctx, svc)
		if err != nil {
			writeTestError(w, err)
			return
		}
		writeTestJSON(w, tok, out)
	})
	mux.HandleFunc("GET /test/token", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, svc.Token(), nil)
	})
	return mux
}

// tokenKey carries the request's token in the freshness context.
type tokenKey struct{}

// freshnessContext returns the context of a request: bounded by the
// adapter's default freshness wait, asking for the state of the request's
// X-Consistency-Token if it carries one.
func freshnessContext(r *http.Request) (context.Context, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(r.Context(), httpadapter.DefaultFreshnessWait)
	text := r.Header.Get(headerToken)
	if text == "" {
		return ctx, cancel, nil
	}
	tok, err := crmaccess.ParseToken(text)
	if err != nil {
		return ctx, cancel, err
	}
	return context.WithValue(crmaccess.WithToken(ctx, tok), tokenKey{}, tok), cancel, nil
}

func tokenOf(ctx context.Context) crmaccess.Token {
	tok, _ := ctx.Value(tokenKey{}).(crmaccess.Token)
	return tok
}

// writeTestError answers an error with the adapter's status of its code.
func writeTestError(w http.ResponseWriter, err error) {
	status := map[string]int{
		crmaccess.EINVALID:      http.StatusBadRequest,
		crmaccess.EUNAUTHORIZED: http.StatusUnauthorized,
		crmaccess.EFORBIDDEN:    http.StatusForbidden,
		crmaccess.ENOTFOUND:     http.StatusNotFound,
		crmaccess.EUNAVAILABLE:  http.StatusServiceUnavailable,
	}[crmaccess.ErrorCode(err)]
	if status == 0 {
		status = http.StatusInternalServerError
		fmt.Fprintf(os.Stderr, "multi: internal error: %v\n", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	http.Error(w, crmaccess.ErrorMessage(err), status)
}

func writeTestJSON(w http.ResponseWriter, tok crmaccess.Token, v any) {
	w.Header().Set(headerToken, string(tok))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client sees a cut answer
}
