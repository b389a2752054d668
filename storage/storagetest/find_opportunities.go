package storagetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// FindOpportunities against OpportunityFilter.Match, the reference, over a
// generated portal with the boundary cases of each field.

type opportunityData struct {
	stages        []crmaccess.Stage
	opportunities []crmaccess.Opportunity
}

func (d opportunityData) stageType(id int64) (crmaccess.StageType, bool) {
	for _, st := range d.stages {
		if st.ID == id {
			return crmaccess.StageType(st.StageType), true
		}
	}
	return 0, false
}

func (d opportunityData) want(f *crmaccess.OpportunityFilter) []int64 {
	var out []int64
	for i := range d.opportunities {
		if f.Match(&d.opportunities[i], d.stageType) {
			out = append(out, d.opportunities[i].ID)
		}
	}
	return out
}

var opportunityTitles = []string{"Hotel catalogue", "Hotel", "Print run", "Annual print contract", "Zoë's deal", "Ärzte renewal", ""}

func generateOpportunities(n int) opportunityData {
	rng := rand.New(rand.NewPCG(20211231, 7))
	users := []string{userAnn, userBen, userCy}
	d := opportunityData{stages: []crmaccess.Stage{
		{ID: 30, Title: "Open", StageType: int(crmaccess.StageOpen)},
		{ID: 31, Title: "Won", StageType: int(crmaccess.StageClosedAndWon)},
		{ID: 32, Title: "Lost", StageType: int(crmaccess.StageClosedAndLost)},
	}}
	day := time.Date(2022, 1, 31, 0, 0, 0, 0, zoneMinus8)
	for id := int64(1); id <= int64(n); id++ {
		o := crmaccess.Opportunity{
			ID:          id,
			Title:       opportunityTitles[rng.IntN(len(opportunityTitles))],
			CreateBy:    users[rng.IntN(3)],
			Responsible: users[rng.IntN(3)],
			ContactID:   rng.Int64N(6), // 0: no main contact
			StageID:     30 + rng.Int64N(4),
			// Around the bounds of 2022-01-31 in -08:00.
			ExpectedCloseDate: day.Add(time.Duration(rng.IntN(96)-24) * time.Hour).Add(time.Duration(rng.IntN(2)) * time.Nanosecond),
		}
		for range rng.IntN(3) {
			o.Members = append(o.Members, 1+rng.Int64N(5))
		}
		for range rng.IntN(4) {
			o.Tags = append(o.Tags, tagPool[rng.IntN(len(tagPool))])
		}
		o.Tags = slices.Compact(o.Tags)
		d.opportunities = append(d.opportunities, o)
	}
	// Exactly at the bounds of the day, and the zero time.
	d.opportunities[0].ExpectedCloseDate = day
	d.opportunities[1].ExpectedCloseDate = day.Add(24*time.Hour - time.Nanosecond)
	d.opportunities[2].ExpectedCloseDate = day.Add(24 * time.Hour)
	d.opportunities[3].ExpectedCloseDate = time.Time{}
	return d
}

func opportunityFilterCases() []struct {
	name string
	f    crmaccess.OpportunityFilter
} {
	typ := func(t crmaccess.StageType) *crmaccess.StageType { return &t }
	day := time.Date(2022, 1, 31, 0, 0, 0, 0, zoneMinus8)
	type tc = struct {
		name string
		f    crmaccess.OpportunityFilter
	}
	cases := []tc{
		{"everything", crmaccess.OpportunityFilter{}},
		{"responsible", crmaccess.OpportunityFilter{Responsible: userBen}},
		{"responsible in braces and upper case", crmaccess.OpportunityFilter{Responsible: "{" + userCy + "}"}},
		{"stage", crmaccess.OpportunityFilter{Stage: ptr(31)}},
		{"stage negative is any", crmaccess.OpportunityFilter{Stage: ptr(-1)}},
		{"stage that no opportunity has", crmaccess.OpportunityFilter{Stage: ptr(99)}},
		{"stage type open", crmaccess.OpportunityFilter{StageType: typ(crmaccess.StageOpen)}},
		{"stage type lost", crmaccess.OpportunityFilter{StageType: typ(crmaccess.StageClosedAndLost)}},
		{"one tag, any case", crmaccess.OpportunityFilter{Tags: []string{"VIP"}}},
		{"two tags", crmaccess.OpportunityFilter{Tags: []string{"partner", "lead"}}},
		{"a tag nobody carries", crmaccess.OpportunityFilter{Tags: []string{"nobody"}}},
		{"main contact", crmaccess.OpportunityFilter{Contact: ptr(3)}},
		{"contact as main or member", crmaccess.OpportunityFilter{Contact: ptr(3), ContactAlsoIsParticipant: true}},
		{"contact 0 is any", crmaccess.OpportunityFilter{Contact: ptr(0)}},
		{"from the day", crmaccess.OpportunityFilter{FromDate: day}},
		{"to the day, whole", crmaccess.OpportunityFilter{ToDate: day}},
		{"the day in another zone", crmaccess.OpportunityFilter{FromDate: day.In(time.UTC), ToDate: day.In(zonePlus5)}},
		{"search a word prefix", crmaccess.OpportunityFilter{Search: "pri"}},
		{"search two words", crmaccess.OpportunityFilter{Search: "hotel CAT"}},
		{"search inside a word matches nothing", crmaccess.OpportunityFilter{Search: "otel"}},
		{"everything at once", crmaccess.OpportunityFilter{Responsible: userAnn, StageType: typ(crmaccess.StageOpen),
			Tags: []string{"vip"}, Contact: ptr(2), ContactAlsoIsParticipant: true, FromDate: day.Add(-24 * time.Hour)}},
	}
	for i, u := range []string{userAnn, userBen} {
		cases = append(cases, tc{fmt.Sprintf("responsible and stage %d", i), crmaccess.OpportunityFilter{Responsible: u, Stage: ptr(int64(30 + i))}})
	}
	return cases
}

func testFindOpportunities(t *testing.T, newStore func(*testing.T) crmaccess.Store) {
	s := newStore(t)
	d := generateOpportunities(200)
	commit(t, s, &crmaccess.Batch{Stages: d.stages, Opportunities: d.opportunities})
	for _, tc := range opportunityFilterCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if err := f.Validate(); err != nil {
				t.Fatalf("the case's filter is invalid: %v", err)
			}
			want := d.want(&f)
			got, err := s.FindOpportunities(t.Context(), &f)
			if err != nil {
				t.Fatalf("FindOpportunities: %v", err)
			}
			gotIDs := ids(got, func(o *crmaccess.Opportunity) int64 { return o.ID })
			if !slices.Equal(gotIDs, want) {
				t.Fatalf("FindOpportunities(%+v)\n got ids %v\nwant ids %v", f, gotIDs, want)
			}
			for _, o := range got {
				w := d.opportunities[o.ID-1]
				if !slices.Equal(o.Tags, w.Tags) || o.Title != w.Title || !o.ExpectedCloseDate.Equal(w.ExpectedCloseDate) {
					t.Errorf("opportunity %d read back as %+v, want %+v", o.ID, o, w)
				}
			}
		})
	}
	if len(d.want(&crmaccess.OpportunityFilter{Stage: ptr(31)})) == 0 || len(d.want(&crmaccess.OpportunityFilter{Contact: ptr(3), ContactAlsoIsParticipant: true})) ==
		len(d.want(&crmaccess.OpportunityFilter{Contact: ptr(3)})) {
		t.Error("the data set does not tell the cases apart")
	}
}
