package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess/internal/testdb"
)

// postgresURL returns a postgres:// URL of the test database
// (CRMACCESS_POSTGRES_DSN, a key=value DSN or a URL) whose connections
// use a new schema of their own, dropped when the test ends; the test is
// skipped without a database.
func postgresURL(t *testing.T) string {
	t.Helper()
	db := testdb.Postgres(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "audit_" + hex.EncodeToString(b)
	if err := db.Exec(`CREATE SCHEMA ` + schema).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`).Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	dsn := testdb.PostgresDSN()
	u := &url.URL{Scheme: "postgres"}
	q := url.Values{}
	if isPostgres(dsn) {
		var err error
		if u, err = url.Parse(dsn); err != nil {
			t.Fatal(err)
		}
		q = u.Query()
	} else {
		host, port := "", ""
		for _, field := range strings.Fields(dsn) {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "host":
				host = v
			case "port":
				port = ":" + v
			case "user":
				u.User = url.User(v)
			case "dbname":
				u.Path = "/" + v
			default:
				q.Set(k, v)
			}
		}
		u.Host = host + port
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestAuditOnPostgreSQL(t *testing.T) {
	db := postgresURL(t)
	r := runAudit(t, "check", "-db", db, "-load", demoFixture, "demo.expect.json")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "All 132 assertions of demo.expect.json hold on postgres://") {
		t.Fatalf("check: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	file := writeFile(t, "team.expect.json", violated)
	if r := runAudit(t, "check", "-db", db, file); r.code != exitViolation || !strings.Contains(r.stdout, "2 of 4 assertions") {
		t.Fatalf("violated: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runAudit(t, "who", "-db", db, "-record", "opportunity:2")
	want := `Who may act on opportunity:2 (Northwind fleet renewal) now: 3 of 5 known users.
USER                                  NAME            READ           EDIT           DELETE         ACCESS
11111111-1111-4111-8111-111111111111  Ada Lovelace    admin          admin          admin          admin
22222222-2222-4222-8222-222222222222  Mike Zanyatski  in accessList  in accessList  in accessList  -
33333333-3333-4333-8333-333333333333  Nadia Petrova   in accessList  in accessList  in accessList  creator
`
	if r.code != exitOK || r.stdout != want {
		t.Fatalf("who: exit %d\n%s\nwant:\n%s\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	r = runAudit(t, "explain", "-db", db, "-user", mike, "-record", "opportunity:5", "-action", "edit")
	if r.code != exitOK || !strings.Contains(r.stdout, "reason    responsible\n") {
		t.Fatalf("explain: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
