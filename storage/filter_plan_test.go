package storage_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// A filter by tags on PostgreSQL reads the records carrying them by their
// key, even while the record table has no statistics (a fresh import,
// before autovacuum analyzes it) and the tags table has: joined to the
// ids carrying the tags instead, PostgreSQL expected a handful of records
// of the filter's other conditions and compared each with every id (a
// nested loop with a join filter), minutes for 100k contacts.
func TestFilterByTagsProbesRecordsWithoutStatistics(t *testing.T) {
	if !slices.Contains(testportal.Databases(), testportal.PostgreSQL) {
		t.Skip("PostgreSQL only: CRMACCESS_POSTGRES_DSN is not set")
	}
	place := testportal.NewStore(t, testportal.PostgreSQL)
	db := place.Gorm(t)
	st := place.Open(t)
	prefix := place.Tables.TablePrefix
	for _, table := range []string{"contacts", "contact_tags", "opportunities", "opportunity_tags"} {
		if err := db.Exec(`ALTER TABLE ` + prefix + table + ` SET (autovacuum_enabled = false)`).Error; err != nil {
			t.Fatal(err)
		}
	}
	fx := dataset.Contacts(20_000)
	grants := dataset.Grants(20_000)
	fx.Opportunities = grants.Opportunities
	fx.Stages = grants.Stages
	for i := range fx.Opportunities {
		o := &fx.Opportunities[i]
		o.ContactID, o.Members, o.StageID, o.Tags = 0, nil, fx.Stages[0].ID, []string{"hot"}
	}
	testportal.Over(t, place, &testportal.Options{Data: fx})
	for _, table := range []string{"contact_tags", "opportunity_tags"} {
		if err := db.Exec(`ANALYZE ` + prefix + table).Error; err != nil {
			t.Fatal(err)
		}
	}
	contacts := dataset.Filter()
	stage := fx.Stages[0].ID
	opportunities := crmaccess.OpportunityFilter{Tags: []string{"hot"}, Stage: &stage, Responsible: fx.Opportunities[0].Responsible}
	for _, c := range []struct {
		table string
		query string
		args  []any
	}{
		{"contacts", "", nil},
		{"opportunities", "", nil},
	} {
		switch c.table {
		case "contacts":
			c.query, c.args = storage.ContactsQuery(st, &contacts)
		default:
			c.query, c.args = storage.OpportunitiesQuery(st, &opportunities)
		}
		var steps []string
		if err := db.Raw(`EXPLAIN `+c.query, c.args...).Scan(&steps).Error; err != nil {
			t.Fatal(err)
		}
		text := strings.Join(steps, "\n")
		if !strings.Contains(text, "Index Scan using "+prefix+c.table+"_pkey") || strings.Contains(text, "Join Filter") {
			t.Errorf("the filter's %s are not probed by their key:\n%s", c.table, text)
		}
	}
}
