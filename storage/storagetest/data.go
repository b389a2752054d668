package storagetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/crmaccess/crmaccess"
)

// User ids used by the suite.
const (
	userAnn = "11111111-1111-1111-1111-111111111111"
	userBen = "22222222-2222-2222-2222-222222222222"
	userCy  = "33333333-3333-3333-3333-333333333333"
)

var (
	zonePlus5  = time.FixedZone("+05:00", 5*60*60)
	zoneMinus8 = time.FixedZone("-08:00", -8*60*60)
)

// dataSet is a generated portal for the filter tests, with the reference
// answer to "has an opportunity" for every contact.
type dataSet struct {
	contacts       []crmaccess.Contact
	opportunities  []crmaccess.Opportunity
	hasOpportunity map[int64]bool
}

// The boundary contacts of the data set: created at the edges of
// 2021-04-24 in +05:00, and one with the zero time.
const (
	idDayStart   = 1 // 2021-04-24T00:00:00+05:00
	idDayEnd     = 2 // 2021-04-24T23:59:59.999999999+05:00
	idNextDay    = 3 // 2021-04-25T00:00:00+05:00
	idZeroTime   = 4 // the zero time
	idOnlyMain   = 5 // the main contact of an opportunity, a member of none
	idOnlyMember = 6 // a member of an opportunity, the main contact of none
	idNoOpp      = 7 // in no opportunity
)

var (
	firstNames = []string{"Anna", "Ann", "Jo", "John", "Johanna", "Zoë", "Émile", "Ivan", ""}
	lastNames  = []string{"Smith", "Smithers", "O'Neil", "Ng", "Van Dyke", "Łukasz", ""}
	companies  = []string{"Acme Corp", "Acme", "Food and Culture Project", "Globex", "Initech Holdings", "Ärztehaus Nord"}
	tagPool    = []string{"VIP", "vip", " Vip ", "Partner", "partner", "lead", "LEAD", "Ärzte", "ÄRZTE", "cold", "wholesale"}
)

// generate returns a deterministic data set of n contacts (n > 20) and
// opportunities over them.
func generate(n int) dataSet {
	rng := rand.New(rand.NewPCG(20210424, 5))
	day := time.Date(2021, 4, 24, 0, 0, 0, 0, zonePlus5)
	zones := []*time.Location{time.UTC, zonePlus5, zoneMinus8}
	ds := dataSet{hasOpportunity: map[int64]bool{}}
	for id := int64(1); id <= int64(n); id++ {
		c := crmaccess.Contact{
			ID:           id,
			IsCompany:    rng.IntN(3) == 0,
			ContactStage: int64(rng.IntN(4)),
			ContactType:  int64(rng.IntN(3)),
			CreateBy:     []string{userAnn, userBen, userCy}[rng.IntN(3)],
			ShareType:    crmaccess.ShareType(rng.IntN(3)),
			About:        fmt.Sprintf("contact %d", id),
		}
		if c.IsCompany {
			c.CompanyName = companies[rng.IntN(len(companies))]
		} else {
			c.FirstName = firstNames[rng.IntN(len(firstNames))]
			c.LastName = lastNames[rng.IntN(len(lastNames))]
		}
		for range rng.IntN(4) {
			c.Tags = append(c.Tags, tagPool[rng.IntN(len(tagPool))])
		}
		// Spread over four days around the boundary day, in three zones.
		offset := time.Duration(rng.Int64N(int64(4*24*time.Hour))) - 36*time.Hour
		c.Created = day.Add(offset).In(zones[rng.IntN(len(zones))])
		switch id {
		case idDayStart:
			c.Created = day
		case idDayEnd:
			c.Created = day.Add(24*time.Hour - time.Nanosecond)
		case idNextDay:
			c.Created = day.Add(24 * time.Hour).UTC()
		case idZeroTime:
			c.Created = time.Time{}
		}
		ds.contacts = append(ds.contacts, c)
	}
	for id := int64(1); id <= int64(n/6); id++ {
		o := crmaccess.Opportunity{ID: id, Title: fmt.Sprintf("deal %d", id), CreateBy: userAnn, Responsible: userBen}
		if rng.IntN(4) > 0 {
			o.ContactID = int64(20 + rng.IntN(n-20))
		}
		for range rng.IntN(3) {
			o.Members = append(o.Members, int64(20+rng.IntN(n-20)))
		}
		ds.opportunities = append(ds.opportunities, o)
	}
	// The named contacts of the list-view tests.
	ds.opportunities[0].ContactID = idOnlyMain
	ds.opportunities[1].Members = append(ds.opportunities[1].Members, idOnlyMember)
	for _, o := range ds.opportunities {
		if o.ContactID != 0 {
			ds.hasOpportunity[o.ContactID] = true
		}
		for _, m := range o.Members {
			ds.hasOpportunity[m] = true
		}
	}
	return ds
}

// want returns the ids of the contacts f matches by the reference semantics
// (crmaccess.ContactFilter.Match).
func (ds dataSet) want(f *crmaccess.ContactFilter) []int64 {
	var ids []int64
	for i := range ds.contacts {
		c := &ds.contacts[i]
		if f.Match(c, ds.hasOpportunity[c.ID]) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func (ds dataSet) batch() *crmaccess.Batch {
	return &crmaccess.Batch{Contacts: ds.contacts, Opportunities: ds.opportunities}
}

// filterCase is one filter of the agreement test.
type filterCase struct {
	name string
	f    crmaccess.ContactFilter
}

func ptr(v int64) *int64 { return &v }

// filterCases are the filters FindContacts must answer as Match does.
func filterCases() []filterCase {
	day := time.Date(2021, 4, 24, 0, 0, 0, 0, zonePlus5)
	return []filterCase{
		{"no filter matches all", crmaccess.ContactFilter{}},

		{"one tag", crmaccess.ContactFilter{Tags: []string{"vip"}}},
		{"tag trimmed and case-insensitive", crmaccess.ContactFilter{Tags: []string{"  VIP "}}},
		{"duplicate tags count once", crmaccess.ContactFilter{Tags: []string{"Vip", "vip", " VIP"}}},
		{"every tag must match", crmaccess.ContactFilter{Tags: []string{"vip", "partner"}}},
		{"three tags", crmaccess.ContactFilter{Tags: []string{"vip", "partner", "lead"}}},
		{"non-ASCII tag case-insensitive", crmaccess.ContactFilter{Tags: []string{"ärzte"}}},
		{"non-ASCII upper-case tag", crmaccess.ContactFilter{Tags: []string{"ÄRZTE", "Lead"}}},
		{"unknown tag matches none", crmaccess.ContactFilter{Tags: []string{"nobody-has-this"}}},

		{"stage 0 is a real id", crmaccess.ContactFilter{Stage: ptr(0)}},
		{"stage 1", crmaccess.ContactFilter{Stage: ptr(1)}},
		{"stage 3", crmaccess.ContactFilter{Stage: ptr(3)}},
		{"stage nil is any", crmaccess.ContactFilter{Stage: nil}},
		{"negative stage is any", crmaccess.ContactFilter{Stage: ptr(-1)}},
		{"unknown stage matches none", crmaccess.ContactFilter{Stage: ptr(99)}},
		{"type 0 is a real id", crmaccess.ContactFilter{Type: ptr(0)}},
		{"type 2", crmaccess.ContactFilter{Type: ptr(2)}},
		{"negative type is any", crmaccess.ContactFilter{Type: ptr(-5)}},

		{"list view all", crmaccess.ContactFilter{ListView: crmaccess.ListAll}},
		{"list view company", crmaccess.ContactFilter{ListView: crmaccess.ListCompany}},
		{"list view person", crmaccess.ContactFilter{ListView: crmaccess.ListPerson}},
		{"list view with opportunity (main contact or member)", crmaccess.ContactFilter{ListView: crmaccess.ListWithOpportunity}},

		{"fromDate is inclusive", crmaccess.ContactFilter{FromDate: day}},
		{"fromDate at the last nanosecond of a day", crmaccess.ContactFilter{FromDate: day.Add(24*time.Hour - time.Nanosecond)}},
		{"toDate at midnight covers its whole day in its own offset", crmaccess.ContactFilter{ToDate: day}},
		{"toDate mid-day covers its whole day", crmaccess.ContactFilter{ToDate: day.Add(13 * time.Hour)}},
		{"toDate in a zone west of UTC", crmaccess.ContactFilter{ToDate: time.Date(2021, 4, 23, 22, 0, 0, 0, zoneMinus8)}},
		{"toDate in UTC", crmaccess.ContactFilter{ToDate: time.Date(2021, 4, 24, 0, 0, 0, 0, time.UTC)}},
		{"one day, both bounds", crmaccess.ContactFilter{FromDate: day, ToDate: day}},
		{"from and to in different zones", crmaccess.ContactFilter{
			FromDate: time.Date(2021, 4, 23, 12, 0, 0, 0, zoneMinus8), ToDate: time.Date(2021, 4, 25, 0, 0, 0, 0, time.UTC)}},
		{"a bound before every contact but the zero time", crmaccess.ContactFilter{FromDate: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}},

		{"search a prefix", crmaccess.ContactFilter{Search: "jo"}},
		{"search is case-insensitive, every word a prefix", crmaccess.ContactFilter{Search: "JO SM"}},
		{"search words in any order", crmaccess.ContactFilter{Search: "smith jo"}},
		{"search a company", crmaccess.ContactFilter{Search: "acme"}},
		{"search non-ASCII", crmaccess.ContactFilter{Search: "zo ärzteh"}},
		{"search with an apostrophe", crmaccess.ContactFilter{Search: "o'n"}},
		{"search matching none", crmaccess.ContactFilter{Search: "xyzzy"}},
		{"blank search matches all", crmaccess.ContactFilter{Search: "   "}},

		{"tags, person, stage", crmaccess.ContactFilter{Tags: []string{"VIP"}, ListView: crmaccess.ListPerson, Stage: ptr(1)}},
		{"with opportunity since a date", crmaccess.ContactFilter{ListView: crmaccess.ListWithOpportunity, FromDate: day}},
		{"company, type, tag, search", crmaccess.ContactFilter{ListView: crmaccess.ListCompany, Type: ptr(1), Tags: []string{"lead"}, Search: "a"}},
		{"everything at once", crmaccess.ContactFilter{Tags: []string{"partner"}, Stage: ptr(2), Type: ptr(0),
			ListView: crmaccess.ListWithOpportunity, FromDate: day.Add(-48 * time.Hour), ToDate: day.Add(48 * time.Hour), Search: "a"}},
	}
}

// normalized returns c as a store returns it: times in UTC, no manager
// list, nil for an empty tag list.
func normalized(c crmaccess.Contact) crmaccess.Contact {
	c.Created = c.Created.UTC()
	c.ManagerList = nil
	if len(c.Tags) == 0 {
		c.Tags = nil
	} else {
		c.Tags = slices.Clone(c.Tags)
	}
	return c
}

func ids[T any](items []T, id func(*T) int64) []int64 {
	out := make([]int64, len(items))
	for i := range items {
		out[i] = id(&items[i])
	}
	return out
}

func contactIDs(cs []crmaccess.Contact) []int64 {
	return ids(cs, func(c *crmaccess.Contact) int64 { return c.ID })
}
