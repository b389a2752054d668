package crmaccess_test

import (
	"os"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
)

func TestParseFixtureDefaults(t *testing.T) {
	fx, err := crmaccess.ParseFixture(strings.NewReader(`{"contacts": [{"id": 1, "firstName": "A"}],
		"opportunities": [{"id": 1, "createBy": "{AAAAAAAA-0000-0000-0000-000000000002}", "isPrivate": true,
		"accessList": ["AAAAAAAA-0000-0000-0000-000000000003", "aaaaaaaa-0000-0000-0000-000000000003"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := fx.Contacts[0]
	if c.ShareType != nil || c.ContactStage != 0 || c.ContactType != 0 || len(c.ManagerList) != 0 {
		t.Errorf("contact defaults: %+v", c)
	}
	o := fx.Opportunities[0]
	if o.CreateBy != alice || len(o.AccessList) != 1 || o.AccessList[0] != bob {
		t.Errorf("opportunity ids not canonical: %+v", o)
	}
}

func TestParseFixtureRejects(t *testing.T) {
	for name, text := range map[string]string{
		"not JSON":                   `{`,
		"unknown field":              `{"contacts": [{"id": 1, "colour": "red"}]}`,
		"user id not a GUID":         `{"users": [{"id": "bob"}]}`,
		"duplicate contact":          `{"contacts": [{"id": 1}, {"id": 1}]}`,
		"contact id zero":            `{"contacts": [{"id": 0}]}`,
		"share type out of range":    `{"contacts": [{"id": 1, "shareType": 3}]}`,
		"manager not a GUID":         `{"contacts": [{"id": 1, "managerList": ["x"]}]}`,
		"company that is not one":    `{"contacts": [{"id": 1}, {"id": 2, "companyId": 1}]}`,
		"opportunity of no contact":  `{"opportunities": [{"id": 1, "contactId": 5}]}`,
		"member that is no contact":  `{"opportunities": [{"id": 1, "members": [5]}]}`,
		"stage that does not exist":  `{"opportunities": [{"id": 1, "stageId": 5}]}`,
		"public with an access list": `{"opportunities": [{"id": 1, "accessList": ["aaaaaaaa-0000-0000-0000-000000000003"]}]}`,
		"bad time":                   `{"contacts": [{"id": 1, "created": "yesterday"}]}`,
		"trailing data":              `{} {}`,
	} {
		if _, err := crmaccess.ParseFixture(strings.NewReader(text)); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func TestTestPortalFixtureParses(t *testing.T) {
	f, err := os.Open("testdata/portal.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx, err := crmaccess.ParseFixture(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Users) != 5 || len(fx.Contacts) != 6 || len(fx.Opportunities) != 3 {
		t.Errorf("portal: %d users, %d contacts, %d opportunities", len(fx.Users), len(fx.Contacts), len(fx.Opportunities))
	}
}

// TestParseFixtureNamesThePosition: whatever is wrong with a fixture file —
// its syntax, a value's type, an unknown field, a bad time, a failed check —
// the message names the line and column where it is (columns counted in
// characters) and the entry it concerns.
func TestParseFixtureNamesThePosition(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       string // the message starts with "fixture: " and this
	}{
		{"syntax", "{\n  \"contacts\": [\n    {\"id\": 1 \"tags\": []}\n  ]\n}", `line 3, column 14: invalid character '"'`},
		{"end of file", "{\"contacts\": [{\"id\": 1}", "line 1, column 24: unexpected end"},
		{"empty file", "", "line 1, column 1: unexpected end"},
		{"not an object", "\n[]", "line 2, column 1: json: cannot unmarshal array"},
		{"wrong type", `{"contacts": [{"id": 1}, {"id": "x"}]}`, "line 1, column 33: contacts[1]: json: cannot unmarshal string"},
		{"wrong type in a list", `{"contacts": [{"id": 1}, {"id": 2, "tags": ["a", 3]}]}`, "line 1, column 44: contacts[1]: json: cannot unmarshal number"},
		{"entry not an object", `{"stages": [{"id": 1}, 7]}`, "line 1, column 24: stages[1]: json: cannot unmarshal number"},
		{"list not a list", `{"users": {}}`, "line 1, column 11: json: cannot unmarshal object"},
		{"unknown field", "{\"contacts\": [\n  {\"id\": 1},\n  {\"id\": 2, \"colour\": \"red\"}\n]}", `line 3, column 13: contacts[1]: json: unknown field "colour"`},
		{"unknown member", "{\n\t\"user\": []}", `line 2, column 2: json: unknown field "user"`},
		{"bad time", `{"opportunities": [{"id": 1, "created": "yesterday"}]}`, `line 1, column 41: opportunities[0]: "yesterday" is not an RFC 3339 time`},
		{"data after the object", "{}\n\n  {}", "line 3, column 3: data after the JSON object"},
		{"user id not a GUID", "{\n  \"users\": [\n    {\"id\": \"not-a-guid\"}\n  ]\n}", `line 3, column 12: users[0]: id "not-a-guid" is not a GUID`},
		{"columns in characters", `{"users": [{"displayName": "Zoë Ünal", "id": "é"}]}`, `line 1, column 46: users[0]: id "é" is not a GUID`},
		{"duplicate id", "{\"contacts\": [{\"id\": 1},\n{\"id\": 1}]}", "line 2, column 8: contacts[1]: id 1 is not positive or not unique"},
		{"field named in any case", `{"contacts": [{"ID": 0}]}`, "line 1, column 22: contacts[0]: id 0 is not positive"},
		{"absent field: the entry", `{"contacts": [{"id": 1}, {"firstName": "A"}]}`, "line 1, column 26: contacts[1]: id 0 is not positive"},
		{"a reference", `{"opportunities": [{"id": 1, "stageId": 5}]}`, "line 1, column 41: opportunities[0]: stageId 5 is not a stage"},
		{"a list entry", `{"contacts": [{"id": 1, "managerList": ["x"]}]}`, `line 1, column 40: contacts[0]: managerList: "x" is not a GUID`},
		{"public with a list", `{"opportunities": [{"id": 1, "accessList": ["aaaaaaaa-0000-0000-0000-000000000003"]}]}`, "line 1, column 44: opportunities[0]: a public opportunity has no accessList"},
	} {
		_, err := crmaccess.ParseFixture(strings.NewReader(tc.text))
		if crmaccess.ErrorCode(err) != crmaccess.EINVALID || !strings.HasPrefix(crmaccess.ErrorMessage(err), "fixture: "+tc.want) {
			t.Errorf("%s: %v\nwant fixture: %s…", tc.name, err, tc.want)
		}
	}
}
