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
