package storage_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/storage"
)

// A filter may name more tags than one statement can bind (SQLite: 32,766
// variables): FindContacts still answers, with the contacts that carry
// every one of them, instead of failing with "too many SQL variables".
func TestFindContactsWithMoreTagsThanVariables(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			db, prefix := b.open(t)
			s, err := storage.New(t.Context(), db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			const n = 40_000
			many := make([]string, n)
			for i := range many {
				many[i] = fmt.Sprint("tag", i)
			}
			commit(t, s, &crmaccess.Batch{Contacts: []crmaccess.Contact{
				{ID: 1, FirstName: "All", Tags: many},
				{ID: 2, FirstName: "Most", Tags: many[:n-1]},
				{ID: 3, FirstName: "One", Tags: many[:1]},
			}})
			for _, tc := range []struct {
				name string
				f    crmaccess.ContactFilter
				want []int64
			}{
				{"all the tags", crmaccess.ContactFilter{Tags: many}, []int64{1}},
				{"all but the last", crmaccess.ContactFilter{Tags: many[:n-1]}, []int64{1, 2}},
				{"with other fields", crmaccess.ContactFilter{Tags: many[:n-1], Search: "mo", ListView: crmaccess.ListPerson}, []int64{2}},
				{"one more than any contact carries", crmaccess.ContactFilter{Tags: append(slices.Clone(many), "other")}, nil},
			} {
				got, err := s.FindContacts(t.Context(), &tc.f)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				var ids []int64
				for _, c := range got {
					ids = append(ids, c.ID)
				}
				if !slices.Equal(ids, tc.want) {
					t.Errorf("%s: %v, want %v", tc.name, ids, tc.want)
				}
			}
		})
	}
}
