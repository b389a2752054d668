package crmaccess_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// A host whose pgx connections use the simple query protocol (as hosts
// behind a pooler such as PgBouncer configure them: no prepared
// statements) writes through every path of the Store: the pipelined
// single writes, the grouped ones, and the bulk path of COPY and arrays.
// Another instance, on the extended protocol, follows each write and
// decides as the writer does, and a service opened afresh on the
// database decides the same: nothing written through simple protocol is
// written otherwise.
func TestSimpleProtocolHost(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	simple := gormOver(t, cfg)
	place := testportal.NewStore(t, testportal.PostgreSQL)
	a := serviceOver(t, place.OpenOn(t, simple))
	fx := portalFixture(t)
	first := int64(1000)
	for i := range int64(bulkRecords) { // past one statement: the bulk path
		fx.Contacts = append(fx.Contacts, crmaccess.Contact{ID: first + i, FirstName: "Bulk", Tags: []string{"bulk"},
			CreateBy: alice, ShareType: crmaccess.ShareReadWrite})
	}
	if _, err := a.Import(ctx, fx); err != nil {
		t.Fatal(err)
	}
	b := instance(t, sharedDB{place: place}, 0)
	bulk := crmaccess.ContactFilter{Tags: []string{"bulk"}}
	sample := []crmaccess.Ref{crmaccess.ContactRef(first), crmaccess.ContactRef(first + bulkRecords/2), crmaccess.ContactRef(first + bulkRecords - 1)}
	users := []string{admin, alice, bob, carol, dave, erin}
	steps := []struct {
		name  string
		write func() (crmaccess.Token, error)
	}{
		{"create an opportunity", func() (crmaccess.Token, error) {
			return resultToken(a.CreateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "new", Members: []int64{1}, Tags: []string{"t"}}, true, []string{bob}))
		}},
		{"update it", func() (crmaccess.Token, error) {
			return resultToken(a.UpdateOpportunity(ctx, dave, crmaccess.Opportunity{ID: 10, Title: "edited", Responsible: carol}))
		}},
		{"set its access", func() (crmaccess.Token, error) {
			return resultToken(a.SetOpportunityAccess(ctx, dave, 10, true, []string{alice, bob}))
		}},
		{"create a contact", func() (crmaccess.Token, error) {
			c, err := a.CreateContact(ctx, alice, crmaccess.Contact{ID: 10, FirstName: "New", ShareType: crmaccess.ShareNone, ManagerList: []string{dave}})
			if err != nil {
				return "", err
			}
			return c.Token, nil
		}},
		{"grant the admin role", func() (crmaccess.Token, error) { return a.GrantAdmin(ctx, admin, bob) }},
		{"the filter call to private", func() (crmaccess.Token, error) {
			r, err := a.SetContactsAccess(ctx, admin, bulk, true, []string{carol, dave})
			return bulkToken(r), err
		}},
		{"remove a user on every list", func() (crmaccess.Token, error) { return a.RemoveUser(ctx, admin, dave) }},
		{"the filter call back to shared", func() (crmaccess.Token, error) {
			r, err := a.SetContactsAccess(ctx, admin, bulk, false, nil)
			return bulkToken(r), err
		}},
		{"delete an opportunity", func() (crmaccess.Token, error) { return a.DeleteOpportunity(ctx, alice, 1) }},
		{"delete a contact", func() (crmaccess.Token, error) { return a.DeleteContact(ctx, admin, 5) }},
		{"add a user", func() (crmaccess.Token, error) {
			return a.PutUser(ctx, admin, crmaccess.User{ID: erin, DisplayName: "Erin"})
		}},
	}
	check := func(name string, other *crmaccess.Service) {
		t.Helper()
		if !mapsEqual(decisions(t, a), decisions(t, other)) {
			t.Fatalf("%s: the instances decide otherwise", name)
		}
		if !mapsEqual(decisionsOf(t, a, users, sample, "unauthorized"), decisionsOf(t, other, users, sample, "unauthorized")) {
			t.Fatalf("%s: the instances decide otherwise on the bulk contacts", name)
		}
	}
	for _, step := range steps {
		tok, err := step.write()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = b.WaitFor(wctx, tok)
		cancel()
		if err != nil {
			t.Fatalf("%s: the other instance: %v", step.name, err)
		}
		check(step.name, b)
	}
	// The create and the delete of an opportunity were made ahead of the
	// writer lock (ahead.go), in a multi-statement simple query.
	if made, _ := crmaccess.AheadWrites(a); made < 2 {
		t.Errorf("%d writes made ahead of the lock, want the create and the delete of an opportunity", made)
	}
	check("a service opened afresh", instance(t, sharedDB{place: place}, -1))
	if d, err := b.Check(ctx, carol, crmaccess.ContactRef(first), crmaccess.ActionRead); err != nil || !d.Allowed {
		t.Fatalf("a bulk contact back to shared: %+v, %v", d, err)
	}
}
