package crmaccess_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// Who could read a deal last Tuesday, which deals a user could read then,
// and what changed since: the questions of an incident review, answered
// from the change log.
func ExampleService_WhoCould() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "crmaccess-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := storage.Open(ctx, filepath.Join(dir, "crm.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	engine, err := policy.New()
	if err != nil {
		log.Fatal(err)
	}
	// A clock that says Tuesday, then Wednesday.
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	svc, err := crmaccess.NewService(ctx, store, engine, &crmaccess.Options{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	portal, err := fixture.Parse(strings.NewReader(examplePortal))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Import(ctx, portal.DataSet()); err != nil {
		log.Fatal(err)
	}
	// Tuesday: Ann makes her deal private to Ben.
	if _, err := svc.SetOpportunityAccess(ctx, ann, 1, true, []string{ben}); err != nil {
		log.Fatal(err)
	}
	// Wednesday: she makes it public again.
	now = now.Add(24 * time.Hour)
	if _, err := svc.SetOpportunityAccess(ctx, ann, 1, false, nil); err != nil {
		log.Fatal(err)
	}

	tuesday := crmaccess.Moment{Time: time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)}
	deal := crmaccess.OpportunityRef(1)
	then, err := svc.WhoCould(ctx, deal, crmaccess.ActionRead, tuesday)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Tuesday evening, position %d: private %v, everyone %q\n", then.Position, then.Access.IsPrivate, then.Everyone)
	for _, g := range then.Users {
		fmt.Printf("  %s: %s\n", g.User, g.Reason)
	}
	nowAnswer, err := svc.WhoCould(ctx, deal, crmaccess.ActionRead, crmaccess.Moment{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("now: everyone active %q\n", nowAnswer.Everyone)
	all, err := svc.UsersWhoCould(ctx, deal, crmaccess.ActionRead, crmaccess.Moment{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("  that is %d users\n", len(all))

	readable, err := svc.ReadableAt(ctx, cy, crmaccess.KindOpportunity, tuesday)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Cy could read deals %v on Tuesday\n", readable.IDs)

	page, err := svc.FindChanges(ctx, crmaccess.ChangeFilter{Actor: ann})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range page.Changes {
		fmt.Printf("%s %v: private %v → %v, list %v → %v\n", c.At.Format("Mon"), c.Entity,
			c.Before.IsPrivate, c.After.IsPrivate, c.Before.List, c.After.List)
	}
	if _, err := svc.ExportChanges(ctx, crmaccess.ChangeFilter{Actor: ann, From: now}, os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Tuesday evening, position 2: private true, everyone ""
	//   11111111-1111-1111-1111-111111111111: in accessList
	//   22222222-2222-2222-2222-222222222222: in accessList
	// now: everyone active "public"
	//   that is 3 users
	// Cy could read deals [] on Tuesday
	// Tue opportunity:1: private false → true, list [] → [11111111-1111-1111-1111-111111111111 22222222-2222-2222-2222-222222222222]
	// Wed opportunity:1: private true → false, list [11111111-1111-1111-1111-111111111111 22222222-2222-2222-2222-222222222222] → []
	// {"seq":8,"position":3,"at":"2026-11-25T09:00:00Z","actor":"11111111-1111-1111-1111-111111111111","kind":"opportunity","id":1,"before":{"isPrivate":true,"list":["11111111-1111-1111-1111-111111111111","22222222-2222-2222-2222-222222222222"],"creator":"11111111-1111-1111-1111-111111111111","responsible":"11111111-1111-1111-1111-111111111111"},"after":{"isPrivate":false,"list":[],"creator":"11111111-1111-1111-1111-111111111111","responsible":"11111111-1111-1111-1111-111111111111"}}
}
