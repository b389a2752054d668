package crmaccess

import (
	"strconv"
	"strings"
	"time"
)

// ListView narrows a contact filter to a kind of contact.
type ListView int

const (
	ListAll             ListView = 0 // every contact
	ListCompany         ListView = 1 // companies
	ListPerson          ListView = 2 // persons
	ListWithOpportunity ListView = 3 // main contact or member of an opportunity
)

var listViewNames = [...]string{"all", "company", "person", "withopportunity"}

func (v ListView) String() string {
	if v.Valid() {
		return listViewNames[v]
	}
	return "ListView(" + strconv.Itoa(int(v)) + ")"
}

// Valid reports whether v is one of the four list views.
func (v ListView) Valid() bool { return v >= ListAll && v <= ListWithOpportunity }

// ParseListView accepts a list view by name, in any letter case ("all",
// "company", "person", "withopportunity"), or by number ("0" to "3"). The
// empty string is ListAll. It fails with EINVALID.
func ParseListView(s string) (ListView, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return ListAll, nil
	}
	for i, name := range listViewNames {
		if t == name || t == strconv.Itoa(i) {
			return ListView(i), nil
		}
	}
	return ListAll, Errorf(EINVALID, "contactListView: %q is not one of all, company, person, withopportunity", s)
}

// ContactFilter selects contacts. Every field is optional and the fields
// combine with AND; the zero value matches every contact.
type ContactFilter struct {
	// Tags the contact must all carry; compared trimmed and case-insensitive,
	// duplicates ignored.
	Tags []string
	// Stage and Type: nil or negative means any; 0 is a real id (no stage,
	// no type, as ONLYOFFICE stores it).
	Stage *int64
	Type  *int64
	// ListView narrows to companies, persons, or contacts with an opportunity.
	ListView ListView
	// FromDate and ToDate bound the creation time, both inclusive; ToDate
	// covers the whole calendar day it falls on, in its own location. The zero
	// time is no bound.
	FromDate time.Time
	ToDate   time.Time
	// Search: each word must be a prefix of a word of the display name,
	// case-insensitive.
	Search string
}

// Validate checks the filter; it fails with EINVALID and a message that
// names the field.
func (f *ContactFilter) Validate() error {
	for _, t := range f.Tags {
		if strings.TrimSpace(t) == "" {
			return Errorf(EINVALID, "tags: a tag is empty")
		}
	}
	if !f.ListView.Valid() {
		return Errorf(EINVALID, "contactListView: %d is not one of 0, 1, 2, 3", int(f.ListView))
	}
	from, until := f.Range()
	if !from.IsZero() && !until.IsZero() && !from.Before(until) {
		return Errorf(EINVALID, "fromDate %s is after the end of toDate's day", f.FromDate.Format(time.RFC3339))
	}
	return nil
}

// NormalizeTag is the form in which tags are compared: trimmed, lower case.
func NormalizeTag(tag string) string { return strings.ToLower(strings.TrimSpace(tag)) }

// TagKeys returns the filter's tags normalized and without duplicates, in
// their first-seen order.
func (f *ContactFilter) TagKeys() []string { return tagKeys(f.Tags) }

func tagKeys(tags []string) []string {
	keys := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		k := NormalizeTag(t)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// hasTags reports whether tags hold every one of keys (normalized).
func hasTags(tags, keys []string) bool {
	if len(keys) == 0 {
		return true
	}
	have := make(map[string]bool, len(tags))
	for _, t := range tags {
		have[NormalizeTag(t)] = true
	}
	for _, k := range keys {
		if !have[k] {
			return false
		}
	}
	return true
}

// StageID returns the stage to match and whether one is set.
func (f *ContactFilter) StageID() (int64, bool) { return idBound(f.Stage) }

// TypeID returns the contact type to match and whether one is set.
func (f *ContactFilter) TypeID() (int64, bool) { return idBound(f.Type) }

func idBound(p *int64) (int64, bool) {
	if p == nil || *p < 0 {
		return 0, false
	}
	return *p, true
}

// Range returns the creation-time bounds: from is inclusive, until is
// exclusive (midnight after ToDate's day, in ToDate's location). A zero time
// is no bound.
func (f *ContactFilter) Range() (from, until time.Time) { return dayRange(f.FromDate, f.ToDate) }

func dayRange(fromDate, toDate time.Time) (from, until time.Time) {
	from = fromDate
	if !toDate.IsZero() {
		y, m, d := toDate.Date()
		until = time.Date(y, m, d+1, 0, 0, 0, 0, toDate.Location())
	}
	return from, until
}

// MatchSearch reports whether every search word is a prefix of some word of
// the display name (case-insensitive). No search text matches everything.
func (f *ContactFilter) MatchSearch(displayName string) bool {
	return matchWords(f.Search, displayName)
}

// matchWords reports whether every word of search is a prefix of some word
// of text, case-insensitive; no search words match everything.
func matchWords(search, text string) bool {
	words := strings.Fields(strings.ToLower(search))
	if len(words) == 0 {
		return true
	}
	name := strings.Fields(strings.ToLower(text))
	for _, w := range words {
		found := false
		for _, n := range name {
			if strings.HasPrefix(n, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Match reports whether contact c passes the filter; hasOpportunity tells
// whether c is the main contact or a member of at least one opportunity.
// It is the reference semantics that stores implement in their queries.
func (f *ContactFilter) Match(c *Contact, hasOpportunity bool) bool {
	if !hasTags(c.Tags, f.TagKeys()) {
		return false
	}
	if id, ok := f.StageID(); ok && c.ContactStage != id {
		return false
	}
	if id, ok := f.TypeID(); ok && c.ContactType != id {
		return false
	}
	switch f.ListView {
	case ListCompany:
		if !c.IsCompany {
			return false
		}
	case ListPerson:
		if c.IsCompany {
			return false
		}
	case ListWithOpportunity:
		if !hasOpportunity {
			return false
		}
	}
	from, until := f.Range()
	if !from.IsZero() && c.Created.Before(from) {
		return false
	}
	if !until.IsZero() && !c.Created.Before(until) {
		return false
	}
	return f.MatchSearch(c.DisplayName())
}
