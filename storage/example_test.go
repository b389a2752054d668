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
	"github.com/crmaccess/crmaccess/storage"
)

// Open a SQLite file, write a contact and the rule that puts a manager on
// its list in one batch, and find it by tag.
func Example() {
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

	err = store.Commit(ctx, &crmaccess.Batch{
		Contacts: []crmaccess.Contact{{ID: 1, IsCompany: true, CompanyName: "Food and Culture Project",
			Tags: []string{"Partner"}, ShareType: crmaccess.ShareNone}},
		AddRules: []crmaccess.Rule{{Type: "g", From: "contact:1", To: "9924256a-739c-462b-af15-e652a3b1b6eb"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	contacts, err := store.FindContacts(ctx, &crmaccess.ContactFilter{Tags: []string{" PARTNER"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range contacts {
		fmt.Println(c.ID, c.DisplayName(), c.Tags, c.IsPrivate())
	}
	// Output: 1 Food and Culture Project [Partner] true
}

// Keep the store's tables beside the application's own, in the
// application's database; the application closes it.
func ExampleNew() {
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

	store, err := storage.New(ctx, db, &storage.Options{TablePrefix: "acl_", RuleTable: "acl_policy"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // leaves db open

	fmt.Println(db.Migrator().HasTable("acl_contacts"), db.Migrator().HasTable("acl_policy"))
	// Output: true true
}
