package crmaccess_test

import (
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

func TestParseListView(t *testing.T) {
	for in, want := range map[string]crmaccess.ListView{
		"": crmaccess.ListAll, "all": crmaccess.ListAll, "ALL": crmaccess.ListAll, "0": crmaccess.ListAll,
		"Company": crmaccess.ListCompany, "1": crmaccess.ListCompany,
		"person": crmaccess.ListPerson, "2": crmaccess.ListPerson,
		"WithOpportunity": crmaccess.ListWithOpportunity, "withopportunity": crmaccess.ListWithOpportunity, "3": crmaccess.ListWithOpportunity,
	} {
		got, err := crmaccess.ParseListView(in)
		if err != nil || got != want {
			t.Errorf("ParseListView(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"4", "-1", "companies", "with opportunity"} {
		if _, err := crmaccess.ParseListView(in); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("ParseListView(%q): %v, want EINVALID", in, err)
		}
	}
}

func TestContactFilterValidate(t *testing.T) {
	to := time.Date(2021, 4, 24, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		f    crmaccess.ContactFilter
		code string
	}{
		{"empty filter", crmaccess.ContactFilter{}, ""},
		{"from on to's day", crmaccess.ContactFilter{FromDate: to.Add(23 * time.Hour), ToDate: to}, ""},
		{"from at the end of to's day", crmaccess.ContactFilter{FromDate: to.Add(24 * time.Hour), ToDate: to}, crmaccess.EINVALID},
		{"blank tag", crmaccess.ContactFilter{Tags: []string{"a", "  "}}, crmaccess.EINVALID},
		{"unknown list view", crmaccess.ContactFilter{ListView: 4}, crmaccess.EINVALID},
	} {
		if got := crmaccess.ErrorCode(c.f.Validate()); got != c.code {
			t.Errorf("%s: code %q, want %q", c.name, got, c.code)
		}
	}
}

func TestContactFilterRangeEndsAtMidnightInToDatesLocation(t *testing.T) {
	plus3 := time.FixedZone("+03:00", 3*3600)
	f := crmaccess.ContactFilter{ToDate: time.Date(2021, 4, 24, 6, 30, 0, 0, plus3)}
	_, until := f.Range()
	if want := time.Date(2021, 4, 25, 0, 0, 0, 0, plus3); !until.Equal(want) {
		t.Errorf("until = %v, want %v", until, want)
	}
}
