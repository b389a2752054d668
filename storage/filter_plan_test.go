package storage_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// A filter by tags on PostgreSQL reads the contacts carrying them by their
// key, even while the contacts table has no statistics (a fresh import,
// before autovacuum analyzes it) and the tags table has: joined to the
// ids carrying the tags instead, PostgreSQL expected a handful of contacts
// of the filter's stage and type and compared each with every id (a
// nested loop with a join filter), minutes for 100k contacts.
func TestFilterByTagsProbesContactsWithoutStatistics(t *testing.T) {
	if !slices.Contains(testportal.Databases(), testportal.PostgreSQL) {
		t.Skip("PostgreSQL only: CRMACCESS_POSTGRES_DSN is not set")
	}
	place := testportal.NewStore(t, testportal.PostgreSQL)
	db := place.Gorm(t)
	st := place.Open(t)
	prefix := place.Tables.TablePrefix
	for _, table := range []string{"contacts", "contact_tags"} {
		if err := db.Exec(`ALTER TABLE ` + prefix + table + ` SET (autovacuum_enabled = false)`).Error; err != nil {
			t.Fatal(err)
		}
	}
	testportal.Over(t, place, &testportal.Options{Data: dataset.Contacts(20_000)})
	if err := db.Exec(`ANALYZE ` + prefix + `contact_tags`).Error; err != nil {
		t.Fatal(err)
	}
	f := dataset.Filter()
	query, args := storage.ContactsQuery(st, &f)
	var steps []string
	if err := db.Raw(`EXPLAIN `+query, args...).Scan(&steps).Error; err != nil {
		t.Fatal(err)
	}
	text := strings.Join(steps, "\n")
	if !strings.Contains(text, "Index Scan using "+prefix+"contacts_pkey") || strings.Contains(text, "Join Filter") {
		t.Errorf("the filter's contacts are not probed by their key:\n%s", text)
	}
}
