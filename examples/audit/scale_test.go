package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
)

// scaleGrants is the size of TestAuditAtScale's data set: the number in
// CRMACCESS_AUDIT_GRANTS, or 100,000 in the long tier (CRMACCESS_LONG);
// 0 skips the test.
func scaleGrants(t *testing.T) int {
	if s := os.Getenv("CRMACCESS_AUDIT_GRANTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("CRMACCESS_AUDIT_GRANTS=%q is not a positive number", s)
		}
		return n
	}
	if v := os.Getenv("CRMACCESS_LONG"); v != "" && v != "0" {
		return 100_000
	}
	return 0
}

// TestAuditAtScale audits a store of many grants (bench/dataset.Grants:
// 1,000 users) on SQLite and, when configured, PostgreSQL: an
// expectations file of 2,000 assertions, who may act on a private
// opportunity, and one explanation, each checked and timed (t.Logf).
func TestAuditAtScale(t *testing.T) {
	n := scaleGrants(t)
	if n == 0 {
		t.Skip("CRMACCESS_LONG or CRMACCESS_AUDIT_GRANTS not set")
	}
	fx := dataset.Grants(n)

	// The private opportunities: their creator may change access, their
	// responsible user may edit, a user on no line of theirs may not read.
	var private []crmaccess.Opportunity
	for _, o := range fx.Opportunities {
		if o.IsPrivate {
			private = append(private, o)
		}
	}
	var expect []string
	for _, o := range private[:min(len(private), 500)] {
		outsider := dataset.UserID(0)
		for i := 0; outsider == o.CreateBy || outsider == o.Responsible || slices.Contains(o.AccessList, outsider); i++ {
			outsider = dataset.UserID(i)
		}
		expect = append(expect, fmt.Sprintf(`{"users": [%q], "records": ["opportunity:%d"], "may": ["access", "edit"]}`, o.CreateBy, o.ID),
			fmt.Sprintf(`{"users": [%q], "records": ["opportunity:%d"], "may": ["read"], "mayNot": ["access"]}`, o.Responsible, o.ID),
			fmt.Sprintf(`{"users": [%q], "records": ["opportunity:%d"], "mayNot": ["read"]}`, outsider, o.ID))
	}
	file := writeFile(t, "scale.expect.json", `{"expect": [`+strings.Join(expect, ",\n")+`]}`)
	target := private[len(private)/2]
	wantWho := map[string]bool{target.CreateBy: true, target.Responsible: true}
	for _, u := range target.AccessList {
		wantWho[u] = true
	}

	sqlite := filepath.Join(t.TempDir(), "scale.db")
	if err := os.WriteFile(sqlite, nil, 0o644); err != nil { // an empty file is an empty database
		t.Fatal(err)
	}
	dbs := map[string]string{"SQLite": sqlite}
	if os.Getenv("CRMACCESS_POSTGRES_DSN") != "" {
		dbs["PostgreSQL"] = postgresURL(t)
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			a := &audit{db: db, stdout: &strings.Builder{}, stderr: &strings.Builder{}}
			if err := a.open(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := a.svc.Import(context.Background(), fx); err != nil {
				t.Fatal(err)
			}
			a.close()
			t.Logf("%s, %d grants: loaded in %v", name, n, time.Since(start).Round(time.Millisecond))

			// Each command runs three times (a shared machine is noisy):
			// the median, and every time.
			timed := func(what string, args ...string) audited {
				var r audited
				var times []time.Duration
				for range 3 {
					start := time.Now()
					r = runAudit(t, args...)
					times = append(times, time.Since(start).Round(time.Millisecond))
				}
				sorted := slices.Clone(times)
				slices.Sort(sorted)
				t.Logf("%s: median %v of %v (exit %d)", what, sorted[1], times, r.code)
				return r
			}
			// The parts: opening (the rules loaded into memory), and the
			// users known, read from the change log.
			start = time.Now()
			a = &audit{db: db, stdout: &strings.Builder{}, stderr: &strings.Builder{}}
			if err := a.open(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			opened := time.Since(start)
			start = time.Now()
			users, err := a.svc.KnownUsers(context.Background())
			if err != nil || len(users) != dataset.UserCount {
				t.Fatalf("KnownUsers: %d users, %v", len(users), err)
			}
			t.Logf("open and load the rules: %v; KnownUsers: %v", opened.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			a.close()

			r := timed(fmt.Sprintf("check %d assertions", 2*len(expect)), "check", "-db", db, file)
			if r.code != exitOK || !strings.HasPrefix(r.stdout, "All ") {
				t.Fatalf("check: exit %d, stdout %.500q, stderr %q", r.code, r.stdout, r.stderr)
			}
			r = timed("who, 1,000 users", "who", "-db", db, "-json", "-record", fmt.Sprintf("opportunity:%d", target.ID))
			var answer whoAnswer
			if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil || r.code != exitOK {
				t.Fatalf("who: exit %d, stdout %.500q: %v", r.code, r.stdout, err)
			}
			got := map[string]bool{}
			for _, u := range answer.Users {
				got[u.ID] = true
			}
			if answer.KnownUsers != dataset.UserCount || len(got) != len(wantWho) {
				t.Fatalf("who: %d known users, %d may act, want %d and %v", answer.KnownUsers, len(got), dataset.UserCount, wantWho)
			}
			for u := range wantWho {
				if !got[u] {
					t.Errorf("who: %s missing", u)
				}
			}
			r = timed("explain", "explain", "-db", db, "-user", target.CreateBy, "-record", fmt.Sprintf("opportunity:%d", target.ID), "-action", "access")
			if r.code != exitOK || !strings.Contains(r.stdout, "reason    creator\n") {
				t.Fatalf("explain: exit %d, stdout %q", r.code, r.stdout)
			}
		})
	}
}
