package httpadapter_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess/httpadapter"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// newPostgresPortal serves the test portal over tables of a fresh prefix in
// the PostgreSQL database CRMACCESS_POSTGRES_DSN names (the test is skipped
// without it); the tables are dropped when the test ends.
func newPostgresPortal(t *testing.T) *portal {
	t.Helper()
	p := postgresPortal(t, nil)
	if p == nil {
		t.Skip("CRMACCESS_POSTGRES_DSN is not set")
	}
	return p
}

// postgresPortal is newPostgresPortal with options, for tests and fuzz
// targets that also run without PostgreSQL: nil when
// CRMACCESS_POSTGRES_DSN is not set.
func postgresPortal(t testing.TB, opts *httpadapter.Options) *portal {
	t.Helper()
	if testdb.PostgresDSN() == "" {
		return nil
	}
	p, _ := servePortal(t, testportal.PostgreSQL, nil, opts)
	return p
}

// TestNULIsRefusedOnPostgreSQL: PostgreSQL refuses a NUL in text (a tag
// with one was a 500 there, and a 200 on SQLite); the adapter answers 400
// before the database sees it, and nothing changes.
func TestNULIsRefusedOnPostgreSQL(t *testing.T) {
	p := newPostgresPortal(t)
	before := snapshot(t, p.svc)
	for _, r := range []req{
		{path: contactPath, contentType: "application/json", body: `{"isPrivate":true,"tags":["lead\u0000"]}`},
		{path: contactPath, contentType: "application/x-www-form-urlencoded", body: "isPrivate=true&tags=lead%00"},
		{path: contactPath + "?filterValue=" + url.QueryEscape("lou\x00"), contentType: "application/json", body: `{"isPrivate":true,"tags":["lead"]}`},
		{path: contactPath, contentType: "application/json", body: `{"isPrivate":true,"tags":["lead"],"managerList":["` + bob + `\u0000"]}`},
		{path: oppPath, contentType: "application/json", body: `{"isPrivate":true,"accessList":["\u0000"]}`},
	} {
		r.token = "admin-token"
		a := decode(t, p.do(t, r), http.StatusBadRequest)
		if !strings.Contains(a.Error.Message, "NUL") {
			t.Errorf("%s %s: %q", r.path, r.body, a.Error.Message)
		}
	}
	if d := sameSnapshot(before, snapshot(t, p.svc)); d != "" {
		t.Errorf("a refused request changed a decision: %s", d)
	}
	// The same filter without the NUL works on this database.
	decode(t, p.do(t, req{path: contactPath, token: "admin-token", contentType: "application/json", body: `{"tags":["lead"]}`}), http.StatusOK)
}
