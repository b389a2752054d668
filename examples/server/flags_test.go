package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBusyPortFailsBeforeTheDatabase: when the address is taken, the
// program exits with status 1 naming it, and has not created the database.
func TestBusyPortFailsBeforeTheDatabase(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := filepath.Join(t.TempDir(), "crm.db")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-addr", busy.Addr().String(), "-db", db}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), busy.Addr().String()) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was created (%v) although the port was busy", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("printed %q", stdout.String())
	}
}

// TestLocationFlag: -location names the portal's zone: dates are written in
// it, and a date without an offset is read in it; a bad name is exit 1
// with a message naming it, before the database is created.
func TestLocationFlag(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	db := filepath.Join(dir, "bad.db")
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", db, "-location", "Mars/Olympus_Mons"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `-location "Mars/Olympus_Mons"`) {
		t.Errorf("bad location: exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was created (%v) for a bad location", err)
	}

	// Kolkata is UTC+05:30 all year. Tailspin Toys (6) was created at
	// 2024-06-30T10:10Z, 15:40 in Kolkata: a filter from 15:30 without an
	// offset includes it there, and would not in UTC.
	s := start(t, "-db", filepath.Join(dir, "kolkata.db"), "-location", "Asia/Kolkata")
	code, _, body := s.put(t, "/api/2.0/crm/opportunity/1/access", "mike-token", `{}`)
	if code != 200 || !strings.Contains(body, `"created":"2024-02-01T15:30:00.0000000+05:30"`) {
		t.Errorf("opportunity in Kolkata: %d %s", code, body)
	}
	code, _, body = s.put(t, "/api/2.0/crm/contact/filter/access", "ada-token",
		`{"isPrivate":true,"managerList":["11111111-1111-4111-8111-111111111111"],"tags":["competitor"],"fromDate":"2024-06-30T15:30:00","toDate":"2024-06-30"}`)
	if code != 200 || !strings.Contains(body, `"count":1,`) || !strings.Contains(body, `"created":"2024-06-30T15:40:00.0000000+05:30"`) {
		t.Errorf("contacts from 15:30 in Kolkata: %d %s", code, body)
	}
	u := start(t, "-db", filepath.Join(dir, "utc.db"))
	code, _, body = u.put(t, "/api/2.0/crm/contact/filter/access", "ada-token",
		`{"isPrivate":true,"managerList":["11111111-1111-4111-8111-111111111111"],"tags":["competitor"],"fromDate":"2024-06-30T15:30:00","toDate":"2024-06-30"}`)
	if code != 200 || strings.Contains(body, `"count"`) {
		t.Errorf("contacts from 15:30 in UTC: %d %s", code, body)
	}
}

// TestBadFixtureNamesThePosition: a fixture file that does not parse or
// check is refused with its line and column, before the database is
// created.
func TestBadFixtureNamesThePosition(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, text, want string }{
		{"syntax", "{\n  \"users\": [\n    {\"id\": \"99999999-9999-4999-8999-999999999999\",}\n  ]\n}", "line 3, column 51: invalid character '}'"},
		{"unknown field", "{\"users\": [],\n \"contacts\": [{\"id\": 1, \"colour\": \"red\"}]}", `line 2, column 25: contacts[0]: json: unknown field "colour"`},
		{"wrong type", "{\"opportunities\": [\n  {\"id\": \"one\"}]}", "line 2, column 10: opportunities[0]: json: cannot unmarshal string"},
		{"not a GUID", "{\"users\": [\n  {\"id\": \"99999999-9999-4999-8999-999999999999\"},\n  {\"id\": \"not-a-guid\"}\n]}", `line 3, column 10: users[1]: id "not-a-guid" is not a GUID`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".json")
			if err := os.WriteFile(file, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(dir, tc.name+".db")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", db, "-fixtures", file}, &stdout, &stderr)
			if want := "server: " + file + ": " + tc.want; code != 1 || !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("exit %d, stderr %q\nwant %q…", code, stderr.String(), want)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created (%v) for a bad fixture file", err)
			}
		})
	}
}

// TestUnauthorizedNamesTheScheme: the server's 401 carries the adapter's
// WWW-Authenticate, naming the bearer scheme it expects.
func TestUnauthorizedNamesTheScheme(t *testing.T) {
	s := start(t, "-db", filepath.Join(t.TempDir(), "crm.db"))
	for _, token := range []string{"", "forged"} {
		code, h, _ := s.put(t, "/api/2.0/crm/opportunity/1/access", token, `{}`)
		if code != http.StatusUnauthorized || h.Get("WWW-Authenticate") != `Bearer realm="crmaccess"` {
			t.Errorf("token %q: %d, WWW-Authenticate %q", token, code, h.Get("WWW-Authenticate"))
		}
	}
}
