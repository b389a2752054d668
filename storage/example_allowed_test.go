package storage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// Restrict the host's own query over its deals table to the deals a user
// may read: opportunity 1 is public, opportunity 2 is private and open to
// Ann only.
func ExampleStore_Allowed() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "crmaccess-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "app.db")), &gorm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		log.Fatal(err)
	}
	defer sqlDB.Close()

	store, err := storage.New(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	eng, err := policy.New()
	if err != nil {
		log.Fatal(err)
	}
	svc, err := crmaccess.NewService(ctx, store, eng, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	const ann, bob = "9924256a-739c-462b-af15-e652a3b1b6eb", "646a6cff-df57-4b83-8ffb-ad1d25f0ec39"
	_, err = svc.Import(ctx, &crmaccess.DataSet{
		Users: []crmaccess.User{{ID: ann, DisplayName: "Ann"}, {ID: bob, DisplayName: "Bob"}},
		Opportunities: []crmaccess.Opportunity{
			{ID: 1, Title: "Hotel catalogue", CreateBy: ann},
			{ID: 2, Title: "Secret deal", CreateBy: ann, IsPrivate: true, AccessList: []string{ann}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The host's table, one row per opportunity.
	type Deal struct {
		ID    int64
		Title string
	}
	if err := db.AutoMigrate(&Deal{}); err != nil {
		log.Fatal(err)
	}
	db.Create(&[]Deal{{1, "Hotel catalogue"}, {2, "Secret deal"}})

	for _, user := range []string{ann, bob} {
		var deals []Deal
		err := db.Scopes(store.Allowed(user, crmaccess.KindOpportunity, crmaccess.ActionRead, "deals.id")).
			Order("id").Find(&deals).Error
		if err != nil {
			log.Fatal(err)
		}
		page, err := svc.AllowedIDs(ctx, user, crmaccess.KindOpportunity, crmaccess.ActionRead, 0, 100)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(deals), page.IDs, page.Total)
	}
	// Output:
	// 2 [1 2] 2
	// 1 [1] 1
}
