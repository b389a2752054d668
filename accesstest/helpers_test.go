package accesstest_test

import (
	"fmt"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// The users of the demo portal (examples/server/demo.json).
const (
	ada    = "11111111-1111-4111-8111-111111111111" // admin
	mike   = "22222222-2222-4222-8222-222222222222" // on opportunity 2's accessList; responsible of 5
	nadia  = "33333333-3333-4333-8333-333333333333" // creator of opportunities 2 and 5; manager of contact 15
	omar   = "44444444-4444-4444-8444-444444444444" // manager of contact 3 (shared read-only)
	lin    = "55555555-5555-4555-8555-555555555555" // on no list
	nobody = "99999999-9999-4999-8999-999999999999" // not a user
)

// demoService is a Service over a fresh SQLite file holding the demo portal.
func demoService(t testing.TB) *crmaccess.Service {
	t.Helper()
	svc, _ := demoServiceAt(t)
	return svc
}

// demoServiceAt is demoService, and the path of its database file.
func demoServiceAt(t testing.TB) (*crmaccess.Service, string) {
	t.Helper()
	p := testportal.New(t, testportal.SQLite, &testportal.Options{File: "../examples/server/demo.json"})
	return p.Service, p.Place.Path
}

// serviceOver starts a Service with opts over the SQLite file at path.
func serviceOver(t testing.TB, path string, opts *crmaccess.Options) *crmaccess.Service {
	t.Helper()
	return testportal.Service(t, testportal.SQLiteAt(path).Open(t), opts)
}

// recorder is an accesstest.T that keeps what it is told.
type recorder struct {
	helpers int
	errors  []string
}

func (r *recorder) Helper() { r.helpers++ }
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
