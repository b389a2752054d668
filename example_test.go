package crmaccess_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// A small portal: Ann created a deal with Tadjeddine Bachir; Ben works with her.
const examplePortal = `{
  "users": [
    {"id": "11111111-1111-1111-1111-111111111111", "displayName": "Ann", "admin": false},
    {"id": "22222222-2222-2222-2222-222222222222", "displayName": "Ben"},
    {"id": "33333333-3333-3333-3333-333333333333", "displayName": "Cy"}
  ],
  "contacts": [
    {"id": 1, "firstName": "Tadjeddine", "lastName": "Bachir", "tags": ["lead"], "created": "2021-04-23T05:12:39Z"},
    {"id": 2, "isCompany": true, "companyName": "Food and Culture Project", "tags": ["Lead", "partner"], "created": "2021-04-24T00:00:00Z"}
  ],
  "opportunities": [
    {"id": 1, "title": "Hotel catalogue", "createBy": "11111111-1111-1111-1111-111111111111",
     "responsible": "11111111-1111-1111-1111-111111111111", "contactId": 1}
  ]
}`

const (
	ann = "11111111-1111-1111-1111-111111111111"
	ben = "22222222-2222-2222-2222-222222222222"
	cy  = "33333333-3333-3333-3333-333333333333"
)

// openExample opens a service over a new SQLite file loaded with examplePortal.
func openExample(ctx context.Context, dir string) (*crmaccess.Service, func()) {
	store, err := storage.Open(ctx, filepath.Join(dir, "crm.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	engine, err := policy.New()
	if err != nil {
		log.Fatal(err)
	}
	svc, err := crmaccess.NewService(ctx, store, engine, nil)
	if err != nil {
		log.Fatal(err)
	}
	portal, err := fixture.Parse(strings.NewReader(examplePortal))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Import(ctx, portal.DataSet()); err != nil {
		log.Fatal(err)
	}
	return svc, func() { svc.Close(); store.Close() }
}

// Two instances over one database, as two processes would be: a write on
// one returns a token, and a check given it on the other is decided on a
// state that holds the write.
func ExampleWithToken() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crmaccess-example")
	defer os.RemoveAll(dir)
	first, done := openExample(ctx, dir)
	defer done()
	store, err := storage.Open(ctx, filepath.Join(dir, "crm.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	engine, err := policy.New()
	if err != nil {
		log.Fatal(err)
	}
	second, err := crmaccess.NewService(ctx, store, engine, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer second.Close()

	opp, err := first.SetOpportunityAccess(ctx, ann, 1, true, []string{ann})
	if err != nil {
		log.Fatal(err)
	}
	d, err := second.Check(crmaccess.WithToken(ctx, opp.Token), ben, crmaccess.OpportunityRef(1), crmaccess.ActionRead)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Ben may read it:", d.Allowed)
	// Output:
	// Ben may read it: false
}

// A deal's life: created private to a team, handed to another responsible
// user (who gains access; the old one loses it), deleted.
func ExampleService_CreateOpportunity() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crmaccess-example")
	defer os.RemoveAll(dir)
	svc, done := openExample(ctx, dir)
	defer done()

	reads := func(user string) bool {
		d, err := svc.Check(ctx, user, crmaccess.OpportunityRef(2), crmaccess.ActionRead)
		if err != nil {
			log.Fatal(err)
		}
		return d.Allowed
	}
	o, err := svc.CreateOpportunity(ctx, ann, crmaccess.Opportunity{ID: 2, Title: "Renewal", Responsible: ben}, true, []string{ann})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(o.Title, "by", o.CreateBy == ann, "private", o.IsPrivate, "Ben reads", reads(ben), "Cy reads", reads(cy))
	if _, err := svc.UpdateOpportunity(ctx, ann, crmaccess.Opportunity{ID: 2, Title: "Renewal", Responsible: cy}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("handed to Cy: Ben reads", reads(ben), "Cy reads", reads(cy))
	if _, err := svc.DeleteOpportunity(ctx, ann, 2); err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted: Ann reads", reads(ann))
	// Output:
	// Renewal by true private true Ben reads true Cy reads false
	// handed to Cy: Ben reads false Cy reads true
	// deleted: Ann reads false
}

func ExampleService_SetOpportunityAccess() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crmaccess-example")
	defer os.RemoveAll(dir)
	svc, done := openExample(ctx, dir)
	defer done()

	// Ann makes her opportunity private to Ben (any case, braces allowed);
	// she is added to the list herself.
	opp, err := svc.SetOpportunityAccess(ctx, ann, 1, true, []string{"{22222222-2222-2222-2222-222222222222}"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(opp.Title, opp.IsPrivate, opp.AccessList)

	// Cy may not change it, and cannot even see it.
	_, err = svc.SetOpportunityAccess(ctx, cy, 1, false, nil)
	fmt.Println(crmaccess.ErrorCode(err), crmaccess.ErrorMessage(err))
	// Output:
	// Hotel catalogue true [11111111-1111-1111-1111-111111111111 22222222-2222-2222-2222-222222222222]
	// not_found opportunity 1 not found
}

func ExampleService_Check() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crmaccess-example")
	defer os.RemoveAll(dir)
	svc, done := openExample(ctx, dir)
	defer done()

	if _, err := svc.SetOpportunityAccess(ctx, ann, 1, true, []string{ben}); err != nil {
		log.Fatal(err)
	}
	for _, user := range []string{ann, ben, cy} {
		read, _ := svc.Check(ctx, user, crmaccess.OpportunityRef(1), crmaccess.ActionRead)
		change, _ := svc.Check(ctx, user, crmaccess.OpportunityRef(1), crmaccess.ActionChangeAccess)
		fmt.Printf("read: %-5v %-15q change access: %-5v %q\n", read.Allowed, read.Reason, change.Allowed, change.Reason)
	}
	// Output:
	// read: true  "in accessList" change access: true  "creator"
	// read: true  "in accessList" change access: false "denied"
	// read: false "denied"        change access: false "denied"
}

func ExampleService_SetContactsAccess() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crmaccess-example")
	defer os.RemoveAll(dir)
	svc, done := openExample(ctx, dir)
	defer done()

	// Make every contact tagged "lead" private to Ben.
	res, err := svc.SetContactsAccess(ctx, ann, crmaccess.ContactFilter{Tags: []string{"LEAD"}}, true, []string{ben})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range res.Contacts {
		fmt.Println(c.DisplayName(), c.ShareType, c.ManagerList, "canEdit:", c.CanEdit)
	}
	fmt.Println("skipped:", res.Skipped)
	// Output:
	// Tadjeddine Bachir None [22222222-2222-2222-2222-222222222222] canEdit: false
	// Food and Culture Project None [22222222-2222-2222-2222-222222222222] canEdit: false
	// skipped: 0
}
