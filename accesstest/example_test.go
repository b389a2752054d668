package accesstest_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// printer is an accesstest.T that prints: in a real test it is t.
type printer struct{}

func (printer) Helper()                           {}
func (printer) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

// exampleService opens a Service over a new SQLite file holding the demo
// portal of examples/server, and returns a function that closes it.
func exampleService() (*crmaccess.Service, func()) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "accesstest-example")
	if err != nil {
		log.Fatal(err)
	}
	st, err := storage.Open(ctx, filepath.Join(dir, "demo.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	eng, err := policy.New()
	if err != nil {
		log.Fatal(err)
	}
	svc, err := crmaccess.NewService(ctx, st, eng, nil)
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile("../examples/server/demo.json")
	if err != nil {
		log.Fatal(err)
	}
	fx, err := fixture.Parse(bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Import(ctx, fx.DataSet()); err != nil {
		log.Fatal(err)
	}
	return svc, func() { svc.Close(); st.Close(); os.RemoveAll(dir) }
}

// In a host's test, t is the *testing.T. A failed assertion names the user,
// the record and the reason of the decision.
func ExampleMayRead() {
	svc, done := exampleService()
	defer done()
	t := printer{}
	const mike = "22222222-2222-4222-8222-222222222222" // on the Northwind deal's accessList
	const lin = "55555555-5555-4555-8555-555555555555"  // on no list

	accesstest.MayRead(t, svc, mike, crmaccess.OpportunityRef(2))            // holds: prints nothing
	accesstest.MayNotChangeAccess(t, svc, mike, crmaccess.OpportunityRef(2)) // holds: only the creator or an admin
	accesstest.MayRead(t, svc, lin, crmaccess.OpportunityRef(2))
	accesstest.MayNotEdit(t, svc, lin, crmaccess.ContactRef(1))
	// Output:
	// accesstest: want user 55555555-5555-4555-8555-555555555555 may read opportunity:2, but user 55555555-5555-4555-8555-555555555555 may not: denied
	// accesstest: want user 55555555-5555-4555-8555-555555555555 may not edit contact:1, but user 55555555-5555-4555-8555-555555555555 may: shared read-write
}

// A program checks an expectations file and gets every violation; a test
// calls accesstest.ExpectFile(t, svc, path) instead.
func ExampleExpectations_Check() {
	svc, done := exampleService()
	defer done()
	e, err := accesstest.ParseExpectations(strings.NewReader(`{
  "users":   {"mike": "22222222-2222-4222-8222-222222222222",
              "omar": "44444444-4444-4444-8444-444444444444"},
  "records": {"fleet": "opportunity:2", "study": "opportunity:6"},
  "expect": [
    {"users": ["mike"], "records": ["fleet"], "may": ["read", "edit"], "mayNot": ["access"]},
    {"users": ["mike", "omar"], "records": ["study", "contact:15"], "mayNot": ["read"],
     "why": "board only"}
  ]
}`))
	if err != nil {
		log.Fatal(err)
	}
	violations, err := e.Check(context.Background(), svc, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d assertions checked, %d violated\n", len(e.Assertions), len(violations))
	for _, v := range violations {
		fmt.Println(v)
	}
	// Output:
	// 7 assertions checked, 1 violated
	// line 7, column 5: want mike may not read contact:15, but mike may: in managerList (why: board only)
}

// A file is read strictly: a mistake is reported where it is.
func ExampleParseExpectations() {
	_, err := accesstest.ParseExpectations(strings.NewReader(`{
  "expect": [
    {"users": ["22222222-2222-4222-8222-222222222222"], "records": ["opportunity:1"],
     "may": ["read", "share"]}
  ]
}`))
	fmt.Println(err)
	// Output:
	// line 4, column 22: expect[0].may: unknown action "share" (actions: read, edit, delete, access)
}
