package accesstest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
)

// The expectations checked in for the demo portal hold on it.
func TestDemoExpectationsHold(t *testing.T) {
	var r recorder
	if !accesstest.ExpectFile(&r, demoService(t), "../examples/audit/demo.expect.json") || len(r.errors) != 0 {
		t.Fatalf("the demo expectations do not hold: %q", r.errors)
	}
}

func TestParseExpectationsExpandsEveryAssertionInFileOrder(t *testing.T) {
	e, err := accesstest.ParseExpectations(strings.NewReader(`{
  "users": {"mike": "{22222222-2222-4222-8222-222222222222}", "lin": "55555555-5555-4555-8555-555555555555"},
  "records": {"fleet": "opportunity:2"},
  "expect": [
    {"users": ["mike", "55555555-5555-4555-8555-555555555555"], "records": ["fleet", "contact:3"],
     "may": ["read"], "mayNot": ["access"], "why": "w"},
    {"mayNot": ["delete"], "records": ["contact:15"], "users": ["lin"]}
  ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Users["mike"] != mike || e.Records["fleet"] != crmaccess.OpportunityRef(2) {
		t.Errorf("names: %v %v", e.Users, e.Records)
	}
	var got []string
	for _, a := range e.Assertions {
		got = append(got, fmt.Sprintf("%d:%d %s=%s %s=%v %s %v %s", a.Line, a.Column, a.UserName, a.User[:8], a.RecordName, a.Record, a.Action, a.May, a.Why))
	}
	want := []string{
		"5:5 mike=22222222 fleet=opportunity:2 read true w",
		"5:5 mike=22222222 fleet=opportunity:2 access false w",
		"5:5 mike=22222222 contact:3=contact:3 read true w",
		"5:5 mike=22222222 contact:3=contact:3 access false w",
		"5:5 55555555-5555-4555-8555-555555555555=55555555 fleet=opportunity:2 read true w",
		"5:5 55555555-5555-4555-8555-555555555555=55555555 fleet=opportunity:2 access false w",
		"5:5 55555555-5555-4555-8555-555555555555=55555555 contact:3=contact:3 read true w",
		"5:5 55555555-5555-4555-8555-555555555555=55555555 contact:3=contact:3 access false w",
		"7:5 lin=55555555 contact:15=contact:15 delete false ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("assertions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseExpectationsIsStrict(t *testing.T) {
	const users = `"users": {"mike": "22222222-2222-4222-8222-222222222222"}`
	for _, tc := range []struct {
		name, file string
		line, col  int
		msg        string
	}{
		{"unknown top field", "{\n  \"user\": {}\n}", 2, 3, `the file: unknown field "user"`},
		{"unknown expectation field", "{\"expect\": [\n {\"users\": [\"mike\"], \"record\": [\"opportunity:1\"]}]}", 2, 22, `expect[0]: unknown field "record"`},
		{"field case matters", "{\"expect\": [{\"Users\": []}]}", 1, 14, `unknown field "Users"`},
		{"unknown action", "{" + users + ",\n\"expect\": [{\"users\": [\"mike\"], \"records\": [\"opportunity:1\"], \"may\": [\"read\", \"write\"]}]}", 2, 78, `expect[0].may: unknown action "write" (actions: read, edit, delete, access)`},
		{"action given twice", "{\"expect\": [{\"users\": [\"" + mike + "\"], \"records\": [\"contact:1\"], \"may\": [\"read\"], \"mayNot\": [\"read\"]}]}", 1, 119, `expect[0].mayNot: "read" is already expected`},
		{"unknown user name", "{" + users + ", \"expect\": [{\"users\": [\"mik\"], \"records\": [\"contact:1\"], \"may\": [\"read\"]}]}", 1, 83, `expect[0].users: "mik" is neither a name of "users" nor a user id`},
		{"unknown record", "{\"expect\": [{\"users\": [\"" + mike + "\"], \"records\": [\"deal:1\"], \"may\": [\"read\"]}]}", 1, 77, `expect[0].records: "deal:1" is neither a name of "records" nor opportunity:ID or contact:ID`},
		{"record id not positive", "{\"records\": {\"r\": \"opportunity:0\"}}", 1, 19, `records "r": "opportunity:0" is not a record`},
		{"user id not a GUID", "{\"users\": {\"mike\": \"mike\"}}", 1, 20, `users "mike": "mike" is not a user id`},
		{"field given twice", "{\"users\": {}, \"users\": {}}", 1, 15, `the file: "users" given twice`},
		{"name given twice", "{\"users\": {\"a\": \"" + mike + "\", \"a\": \"" + mike + "\"}}", 1, 57, `users: "a" given twice`},
		{"wrong type", "{\"expect\": [{\"users\": \"mike\"}]}", 1, 23, `expect[0].users: want a list, found a string`},
		{"null", "{\"expect\": [{\"users\": [null]}]}", 1, 24, `expect[0].users entry: want a string, found null`},
		{"no actions", "{\"expect\": [\n  {\"users\": [\"" + mike + "\"], \"records\": [\"contact:1\"], \"may\": []}]}", 2, 3, `expect[0]: no actions in may or mayNot`},
		{"no users", "{\"expect\": [{\"records\": [\"contact:1\"], \"may\": [\"read\"]}]}", 1, 13, `expect[0]: no users`},
		{"no records", "{\"expect\": [{\"users\": [\"" + mike + "\"], \"may\": [\"read\"]}]}", 1, 13, `expect[0]: no records`},
		{"data after the object", "{}\n{}", 2, 1, `data after the end of the file's object`},
		{"syntax error", "{\"users\": {\"a\" \"b\"}}", 1, 16, `invalid character '"' after object key`},
		{"truncated", "{\"users\": {", 1, 12, `unexpected end of the file`},
		{"empty", "", 1, 1, `unexpected end of the file`},
		{"not an object", "[]", 1, 1, `the file: want an object, found a list`},
		{"column counts characters", "{\"users\": {\"é\": \"x\"}}", 1, 17, `users "é": "x" is not a user id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := accesstest.ParseExpectations(strings.NewReader(tc.file))
			var pe *accesstest.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if pe.Line != tc.line || pe.Column != tc.col || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("got %v,\nwant line %d, column %d: …%s…", err, tc.line, tc.col, tc.msg)
			}
		})
	}
}

func TestCheckReturnsEveryViolationInFileOrder(t *testing.T) {
	svc := demoService(t)
	e, err := accesstest.ParseExpectations(strings.NewReader(`{
  "users": {"mike": "22222222-2222-4222-8222-222222222222", "lin": "55555555-5555-4555-8555-555555555555",
            "ghost": "99999999-9999-4999-8999-999999999999"},
  "records": {"fleet": "opportunity:2"},
  "expect": [
    {"users": ["mike", "lin"], "records": ["fleet"], "may": ["read"], "mayNot": ["access"], "why": "the team"},
    {"users": ["lin"], "records": ["contact:1"], "mayNot": ["edit"]},
    {"users": ["ghost"], "records": ["opportunity:1"], "may": ["read"], "mayNot": ["edit"]}
  ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	violations, err := e.Check(context.Background(), svc, &accesstest.CheckOptions{Progress: func(d, total int) {
		done = append(done, fmt.Sprintf("%d/%d", d, total))
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range violations {
		got = append(got, v.String())
	}
	want := []string{
		"line 6, column 5: want lin may read fleet (opportunity:2), but lin may not: denied (why: the team)",
		"line 7, column 5: want lin may not edit contact:1, but lin may: shared read-write",
		"line 8, column 5: want ghost may read opportunity:1, but ghost may not: not a known, active user",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(done, " ") != "1/7 2/7 3/7 4/7 5/7 6/7 7/7" {
		t.Errorf("progress %q", done)
	}

	// Expect reports the same violations through t.
	var r recorder
	if accesstest.Expect(&r, svc, e) {
		t.Errorf("Expect returned true")
	}
	for i := range want {
		want[i] = "accesstest: " + want[i]
	}
	if strings.Join(r.errors, "\n") != strings.Join(want, "\n") {
		t.Errorf("Expect reported:\n%s\nwant:\n%s", strings.Join(r.errors, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckStopsWhenTheContextEnds(t *testing.T) {
	svc := demoService(t)
	e, err := accesstest.ParseExpectations(strings.NewReader(`{"expect": [
  {"users": ["22222222-2222-4222-8222-222222222222"], "records": ["opportunity:1"], "may": ["read", "edit"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Check(ctx, svc, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check on an ended context: %v", err)
	}
}

func TestExpectFileReportsAFileThatDoesNotParse(t *testing.T) {
	var r recorder
	if accesstest.ExpectFile(&r, demoService(t), "testdata/bad.expect.json") {
		t.Fatal("ExpectFile returned true")
	}
	want := `accesstest: testdata/bad.expect.json: line 3, column 70: expect[0].mayNot: unknown action "view" (actions: read, edit, delete, access)`
	if len(r.errors) != 1 || r.errors[0] != want {
		t.Fatalf("reported %q, want %q", r.errors, want)
	}
}

// failingChecker fails every check as a broken database would.
type failingChecker struct{}

func (failingChecker) Check(context.Context, string, crmaccess.Ref, crmaccess.Action) (crmaccess.Decision, error) {
	return crmaccess.Decision{}, crmaccess.Errorf(crmaccess.EINTERNAL, "database is gone")
}

// A check that fails is never what the file expects: "may not" does not
// hold by accident when the database is down.
func TestCheckCountsAFailedCheckAsAViolation(t *testing.T) {
	e, err := accesstest.ParseExpectations(strings.NewReader(`{"expect": [
  {"users": ["22222222-2222-4222-8222-222222222222"], "records": ["opportunity:1"], "may": ["read"], "mayNot": ["access"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	violations, err := e.Check(context.Background(), failingChecker{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) != 2 {
		t.Fatalf("%d violations, want 2: %v", len(violations), violations)
	}
	for _, v := range violations {
		if crmaccess.ErrorCode(v.Err) != crmaccess.EINTERNAL || !strings.Contains(v.String(), "but the check failed: crmaccess: internal: database is gone") {
			t.Errorf("violation %s (err %v)", v, v.Err)
		}
	}
}
