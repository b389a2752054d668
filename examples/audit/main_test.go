package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess/internal/testportal"
)

const demoFixture = "../server/demo.json"

// The demo portal's users.
const (
	ada   = "11111111-1111-4111-8111-111111111111"
	mike  = "22222222-2222-4222-8222-222222222222"
	nadia = "33333333-3333-4333-8333-333333333333"
	lin   = "55555555-5555-4555-8555-555555555555"
)

// audited is one run of the program.
type audited struct {
	code           int
	stdout, stderr string
}

func runAudit(t *testing.T, args ...string) audited {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return audited{code, stdout.String(), stderr.String()}
}

// demoDB is a new SQLite file holding the demo portal, loaded by the
// program itself (-load).
func demoDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "demo.db")
	r := runAudit(t, "who", "-db", db, "-load", demoFixture, "-record", "opportunity:1")
	if r.code != 0 || r.stderr != "audit: loaded "+demoFixture+" into "+db+"\n" {
		t.Fatalf("loading the demo: exit %d, stderr %q", r.code, r.stderr)
	}
	return db
}

// writeFile writes a file in a new temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckDemoExpectationsHold(t *testing.T) {
	db := demoDB(t)
	r := runAudit(t, "check", "-db", db, "demo.expect.json")
	if r.code != exitOK || r.stdout != "All 132 assertions of demo.expect.json hold on "+db+".\n" || r.stderr != "" {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
}

const violated = `{
  "users": {"mike": "22222222-2222-4222-8222-222222222222", "lin": "55555555-5555-4555-8555-555555555555"},
  "records": {"fleet": "opportunity:2"},
  "expect": [
    {"users": ["mike"], "records": ["fleet"], "may": ["read", "access"], "why": "mike runs the deal"},
    {"users": ["lin"], "records": ["contact:1", "fleet"], "mayNot": ["edit"]}
  ]
}
`

func TestCheckReportsViolationsWithExitStatus1(t *testing.T) {
	db := demoDB(t)
	file := writeFile(t, "team.expect.json", violated)
	r := runAudit(t, "check", "-db", db, file)
	want := `WHERE  USER  ACTION  RECORD                 WANT     GOT                     WHY
5:5    mike  access  fleet (opportunity:2)  may      may not: denied         mike runs the deal
6:5    lin   edit    contact:1              may not  may: shared read-write
2 of 4 assertions of ` + file + ` violated on ` + db + `.
`
	if r.code != exitViolation || r.stdout != want || r.stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr %q", r.code, r.stdout, want, r.stderr)
	}

	r = runAudit(t, "check", "-db", db, "-json", file)
	var report checkReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("exit %d, stdout %q: %v", r.code, r.stdout, err)
	}
	if r.code != exitViolation || report.Assertions != 4 || len(report.Violations) != 2 || report.Token == "" {
		t.Fatalf("exit %d, report %+v", r.code, report)
	}
	v := report.Violations[1]
	if v != (violationJSON{Line: 6, Column: 5, User: lin, UserName: "lin", Record: "contact:1", RecordName: "contact:1",
		Action: "edit", Want: "may not", Allowed: true, Reason: "shared read-write"}) {
		t.Errorf("violation %+v", v)
	}
}

// The audit reads the database as it is when it starts: a change by
// another process is in the next run's answer.
func TestCheckSeesTheLiveDatabase(t *testing.T) {
	db := demoDB(t)
	file := writeFile(t, "lin.expect.json", `{"expect": [
  {"users": ["55555555-5555-4555-8555-555555555555"], "records": ["opportunity:2"], "may": ["read"]}]}`)
	if r := runAudit(t, "check", "-db", db, file); r.code != exitViolation {
		t.Fatalf("before the grant: exit %d, stdout %q", r.code, r.stdout)
	}

	ctx := context.Background()
	svc := testportal.Service(t, testportal.SQLiteAt(db).Open(t), nil)
	if _, err := svc.SetOpportunityAccess(ctx, nadia, 2, true, []string{lin}); err != nil {
		t.Fatal(err)
	}

	if r := runAudit(t, "check", "-db", db, file); r.code != exitOK {
		t.Fatalf("after the grant: exit %d, stdout %q", r.code, r.stdout)
	}
	r := runAudit(t, "who", "-db", db, "-record", "opportunity:2")
	want := `Who may act on opportunity:2 (Northwind fleet renewal) now: 3 of 5 known users.
USER                                  NAME           READ           EDIT           DELETE         ACCESS
11111111-1111-4111-8111-111111111111  Ada Lovelace   admin          admin          admin          admin
33333333-3333-4333-8333-333333333333  Nadia Petrova  in accessList  in accessList  in accessList  creator
55555555-5555-4555-8555-555555555555  Lin Chen       in accessList  in accessList  in accessList  -
`
	if r.code != exitOK || r.stdout != want {
		t.Fatalf("who after the grant: exit %d\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
}

func TestUsageErrorsExitWith2AndTouchNothing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "never.db")
	bad := writeFile(t, "bad.expect.json", `{"expect": [{"users": ["`+mike+`"], "records": ["contact:1"], "may": ["reed"]}]}`)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{nil, "usage:"},
		{[]string{"audit"}, `unknown command "audit"`},
		{[]string{"check", "-db", db}, "want one expectations file, got 0 arguments"},
		{[]string{"check", "-db", db, "a.json", "b.json"}, "got 2 arguments"},
		{[]string{"check", "-db", db, "-load", demoFixture, bad}, bad + `: line 1, column 99: expect[0].may: unknown action "reed"`},
		{[]string{"check", "-db", db, filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"check", "-db", db, "-load", bad, "demo.expect.json"}, "-load " + bad + `: line 1, column 2: json: unknown field "expect"`},
		{[]string{"check", "-db", db, "-load", filepath.Join(dir, "missing.json"), "demo.expect.json"}, "no such file"},
		{[]string{"check", "-bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"explain", "-db", db, "-record", "opportunity:1"}, "-user and -record are required"},
		{[]string{"explain", "-db", db, "-user", mike, "-record", "deal:1"}, `-record: "deal:1" is not a record`},
		{[]string{"explain", "-db", db, "-user", mike, "-record", "opportunity:1", "-action", "view"}, `-action: unknown action "view"`},
		{[]string{"explain", "-db", db, "-user", "mike", "-record", "opportunity:1"}, `-user "mike" is not a user id`},
		{[]string{"who", "-db", db}, "-record is required"},
		{[]string{"who", "-db", db, "-record", "contact:0"}, `"contact:0" is not a record`},
		{[]string{"who", "-db", db, "-record", "contact:1", "extra"}, `unexpected arguments ["extra"]`},
	} {
		r := runAudit(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
			t.Errorf("audit %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.stderr)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a usage error created the database: %v", err)
	}
}

func TestMissingDatabaseIsNotCreated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo.db")
	r := runAudit(t, "check", "-db", db, "demo.expect.json")
	if r.code != exitViolation || !strings.Contains(r.stderr, "no database file "+db) {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the audit created %s: %v", db, err)
	}
}

func TestLoadKeepsADatabaseThatHoldsData(t *testing.T) {
	db := demoDB(t)
	r := runAudit(t, "check", "-db", db, "-load", demoFixture, "demo.expect.json")
	if r.code != exitOK || r.stderr != "audit: "+db+" already holds data: auditing it as it is (-load skipped)\n" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestExplain(t *testing.T) {
	db := demoDB(t)
	r := runAudit(t, "explain", "-db", db, "-user", strings.ToUpper(mike), "-record", "opportunity:5", "-action", "access")
	want := `user      22222222-2222-4222-8222-222222222222 (Mike Zanyatski)
record    opportunity:5 (Litware research licence)
action    access
decision  denied
reason    denied
rule      an admin or the opportunity's creator may change its access
`
	if r.code != exitOK || r.stdout != want {
		t.Fatalf("exit %d\n%s\nwant:\n%s\nstderr %q", r.code, r.stdout, want, r.stderr)
	}

	for _, tc := range []struct {
		user, record, action string
		allowed              bool
		reason, title        string
	}{
		{nadia, "opportunity:5", "access", true, "creator", "Litware research licence"},
		{mike, "opportunity:5", "edit", true, "responsible", "Litware research licence"},
		{lin, "contact:3", "read", true, "public", "Contoso Logistics"},
		{lin, "contact:3", "edit", false, "denied", "Contoso Logistics"},
		{ada, "contact:99", "delete", true, "admin", ""},
		{"99999999-9999-4999-8999-999999999999", "opportunity:1", "read", false, "not a known, active user", "Hotel catalogue"},
	} {
		r := runAudit(t, "explain", "-db", db, "-json", "-user", tc.user, "-record", tc.record, "-action", tc.action)
		var x explanation
		if err := json.Unmarshal([]byte(r.stdout), &x); err != nil || r.code != exitOK {
			t.Fatalf("exit %d, stdout %q: %v", r.code, r.stdout, err)
		}
		if x.User != tc.user || x.Record != tc.record || x.Action != tc.action || x.Allowed != tc.allowed ||
			x.Reason != tc.reason || x.Title != tc.title || x.Exists != (tc.title != "") {
			t.Errorf("%s %s %s: %+v", tc.user, tc.action, tc.record, x)
		}
	}
}

func TestWhoAsJSON(t *testing.T) {
	db := demoDB(t)
	r := runAudit(t, "who", "-db", db, "-json", "-record", "contact:15")
	var answer whoAnswer
	if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil || r.code != exitOK {
		t.Fatalf("exit %d, stdout %q: %v", r.code, r.stdout, err)
	}
	got, _ := json.Marshal(answer.Users)
	want := `[{"id":"11111111-1111-4111-8111-111111111111","displayName":"Ada Lovelace","may":{"access":"admin","delete":"admin","edit":"admin","read":"admin"}},` +
		`{"id":"22222222-2222-4222-8222-222222222222","displayName":"Mike Zanyatski","may":{"access":"in managerList","delete":"in managerList","edit":"in managerList","read":"in managerList"}},` +
		`{"id":"33333333-3333-4333-8333-333333333333","displayName":"Nadia Petrova","may":{"access":"in managerList","delete":"in managerList","edit":"in managerList","read":"in managerList"}}]`
	if string(got) != want || answer.Record != "contact:15" || answer.Title != "Lucas Martin" || !answer.Exists ||
		answer.At != "now" || answer.KnownUsers != 5 || answer.Token == "" {
		t.Fatalf("answer %+v\nusers %s\nwant  %s", answer, got, want)
	}
}

func TestProgressBarOnlyWhenAsked(t *testing.T) {
	db := demoDB(t)
	r := runAudit(t, "check", "-db", db, "-progress", "demo.expect.json")
	if r.code != exitOK || !strings.HasSuffix(r.stderr, "\rchecking [==============================] 132/132\n") {
		t.Fatalf("with -progress: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runAudit(t, "who", "-db", db, "-progress", "-record", "opportunity:1")
	if r.code != exitOK || !strings.HasSuffix(r.stderr, "\rchecking users [==============================] 5/5\n") {
		t.Fatalf("who with -progress: exit %d, stderr %q", r.code, r.stderr)
	}
	// A buffer is not a terminal: no bar.
	if r := runAudit(t, "check", "-db", db, "demo.expect.json"); r.stderr != "" {
		t.Fatalf("without -progress: stderr %q", r.stderr)
	}
}

// "May not" holds on a record that does not exist and for a user that is
// not known: check says so, lest a mistyped id pass unseen.
func TestCheckWarnsAboutNamesThatAreNotThere(t *testing.T) {
	db := demoDB(t)
	file := writeFile(t, "typo.expect.json", `{
  "users": {"ghost": "99999999-9999-4999-8999-999999999999", "lin": "55555555-5555-4555-8555-555555555555"},
  "records": {"fleet": "opportunity:2", "gone": "opportunity:99"},
  "expect": [
    {"users": ["lin", "ghost"], "records": ["fleet", "gone", "contact:999"], "mayNot": ["read"]}
  ]
}`)
	r := runAudit(t, "check", "-db", db, file)
	want := `audit check: warning: line 5, column 5: opportunity:99 (gone) does not exist: "may not" holds on it whatever the rules
audit check: warning: line 5, column 5: contact:999 does not exist: "may not" holds on it whatever the rules
audit check: warning: line 5, column 5: 99999999-9999-4999-8999-999999999999 (ghost) is not a known, active user: "may not" holds for it whatever the rules
`
	if r.code != exitOK || r.stderr != want || !strings.HasPrefix(r.stdout, "All 6 assertions") {
		t.Fatalf("exit %d, stdout %q\nstderr:\n%s\nwant:\n%s", r.code, r.stdout, r.stderr, want)
	}

	r = runAudit(t, "check", "-db", db, "-json", file)
	var report checkReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != exitOK {
		t.Fatalf("exit %d, stdout %q: %v", r.code, r.stdout, err)
	}
	got, _ := json.Marshal([]any{report.MissingRecords, report.UnknownUsers})
	wantJSON := `[[{"name":"gone","id":"opportunity:99","line":5,"column":5},{"name":"contact:999","id":"contact:999","line":5,"column":5}],` +
		`[{"name":"ghost","id":"99999999-9999-4999-8999-999999999999","line":5,"column":5}]]`
	if string(got) != wantJSON {
		t.Fatalf("JSON %s\nwant %s", got, wantJSON)
	}

	// A file that names only what is there warns about nothing: [] in JSON.
	r = runAudit(t, "check", "-db", db, "-json", "demo.expect.json")
	if !strings.Contains(r.stdout, `"missingRecords": [],`) || !strings.Contains(r.stdout, `"unknownUsers": []`) || r.stderr != "" {
		t.Fatalf("demo: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

// who -at answers from the history: after a change, asking at the token of
// the state before it gives the old answer, asking now the new one, and a
// time before the first write an empty one.
func TestWhoAtAPointInTime(t *testing.T) {
	db := demoDB(t)
	whoJSON := func(args ...string) whoAnswer {
		t.Helper()
		r := runAudit(t, append([]string{"who", "-db", db, "-json", "-record", "opportunity:2"}, args...)...)
		var answer whoAnswer
		if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil || r.code != exitOK {
			t.Fatalf("who %q: exit %d, stdout %q, stderr %q: %v", args, r.code, r.stdout, r.stderr, err)
		}
		return answer
	}
	before := whoJSON()
	ctx := context.Background()
	svc := testportal.Service(t, testportal.SQLiteAt(db).Open(t), nil)
	if _, err := svc.SetOpportunityAccess(ctx, nadia, 2, true, []string{lin}); err != nil {
		t.Fatal(err)
	}
	now := whoJSON()
	then := whoJSON("-at", before.Token)
	mayRead := func(a whoAnswer, user string) string {
		for _, u := range a.Users {
			if u.ID == user {
				return u.May["read"]
			}
		}
		return ""
	}
	if mayRead(before, lin) != "" || mayRead(now, lin) != "in accessList" {
		t.Fatalf("Lin reads opportunity 2 before: %q, now: %q; want no, then in accessList", mayRead(before, lin), mayRead(now, lin))
	}
	gotThen, _ := json.Marshal(then.Users)
	wantThen, _ := json.Marshal(before.Users)
	if string(gotThen) != string(wantThen) || then.At != "at "+before.Token {
		t.Fatalf("who -at %s = %s (%s)\nwant %s", before.Token, gotThen, then.At, wantThen)
	}
	if early := whoJSON("-at", "2000-01-01T00:00:00Z"); len(early.Users) != 0 {
		t.Fatalf("who before the first write: %+v; want no one", early.Users)
	}
	if r := runAudit(t, "who", "-db", db, "-record", "opportunity:2", "-at", "last tuesday"); r.code != exitUsage {
		t.Fatalf("-at last tuesday: exit %d, stderr %q; want a usage error", r.code, r.stderr)
	}
}
