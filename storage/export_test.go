package storage

import (
	"strings"

	"github.com/crmaccess/crmaccess"
)

// ContactsQuery is the query FindContacts makes for f (f with at most
// maxTagVars tags), and its arguments.
func ContactsQuery(s *Store, f *crmaccess.ContactFilter) (string, []any) {
	from, where, args, order := reader{s, s.reads()}.contactsFrom(f, true)
	query := `SELECT ` + contactColumns + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	return s.d.bind(query + ` ORDER BY ` + order), args
}

// OpportunitiesQuery is the query FindOpportunities makes for f (f with at
// most maxTagVars tags), and its arguments.
func OpportunitiesQuery(s *Store, f *crmaccess.OpportunityFilter) (string, []any) {
	from, where, args, order, _ := reader{s, s.reads()}.opportunitiesFrom(f)
	query := `SELECT ` + opportunityColumns + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	return s.d.bind(query + ` ORDER BY ` + order), args
}
