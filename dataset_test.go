package crmaccess_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// TestImportAndUpsertRefuseAnInvalidDataSet: what a data set may hold is
// checked by Import and Upsert themselves, for a data set built in code as
// for one read from a file: EINVALID naming the entry, and nothing written.
func TestImportAndUpsertRefuseAnInvalidDataSet(t *testing.T) {
	eachDatabase(t, testImportAndUpsertRefuseAnInvalidDataSet)
}

func testImportAndUpsertRefuseAnInvalidDataSet(t *testing.T, db database) {
	ctx := context.Background()
	// Every refused write leaves its store as it was, so one empty store
	// and one loaded portal serve every case.
	empty, p := newEmptyPortalOn(t, db), newPortalOn(t, db)
	before, tok := decisions(t, p.Service), p.Token()
	for _, tc := range []struct {
		name  string
		spoil func(d *crmaccess.DataSet)
		entry string // the message names it
	}{
		{"user id not a GUID", func(d *crmaccess.DataSet) { d.Users[1].ID = "alice" }, `users[1]: id "alice" is not a GUID`},
		{"duplicate user", func(d *crmaccess.DataSet) { d.Users[2].ID = strings.ToUpper(d.Users[1].ID) }, "users[2]: duplicate id"},
		{"admin who is no user", func(d *crmaccess.DataSet) { d.Admins = append(d.Admins, "aaaaaaaa-0000-0000-0000-000000000099") }, "admins[1]:"},
		{"stage id zero", func(d *crmaccess.DataSet) { d.Stages = append(d.Stages, crmaccess.Stage{}) }, "stages[2]: id 0"},
		{"duplicate contact", func(d *crmaccess.DataSet) { d.Contacts[1].ID = d.Contacts[0].ID }, "contacts[1]: id 1"},
		{"share type out of range", func(d *crmaccess.DataSet) { d.Contacts[0].ShareType = 3 }, "contacts[0]: shareType 3"},
		{"manager not a GUID", func(d *crmaccess.DataSet) { d.Contacts[1].ManagerList = []string{"x"} }, `contacts[1]: managerList: "x" is not a GUID`},
		{"managers on a contact shared read-write", func(d *crmaccess.DataSet) {
			d.Contacts[0].ShareType, d.Contacts[0].ManagerList = crmaccess.ShareReadWrite, []string{bob}
		}, "contacts[0]: a contact shared read-write has no managerList"},
		{"company that is not one", func(d *crmaccess.DataSet) { d.Contacts[2].CompanyID = 3 }, "contacts[2]: companyId 3"},
		{"opportunity of no contact", func(d *crmaccess.DataSet) { d.Opportunities[0].ContactID = 99 }, "opportunities[0]: contactId 99"},
		{"member that is no contact", func(d *crmaccess.DataSet) { d.Opportunities[1].Members = []int64{99} }, "opportunities[1]: member 99"},
		{"stage that does not exist", func(d *crmaccess.DataSet) { d.Opportunities[0].StageID = 99 }, "opportunities[0]: stageId 99"},
		{"creator not a GUID", func(d *crmaccess.DataSet) { d.Opportunities[2].CreateBy = "x" }, `opportunities[2]: createBy "x"`},
		{"public with an access list", func(d *crmaccess.DataSet) {
			d.Opportunities[0].IsPrivate, d.Opportunities[0].AccessList = false, []string{dave}
		}, "opportunities[0]: a public opportunity has no accessList"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := portalFixture(t)
			tc.spoil(d)
			_, err := empty.Import(ctx, d)
			wantCode(t, err, crmaccess.EINVALID)
			if !strings.Contains(crmaccess.ErrorMessage(err), tc.entry) {
				t.Errorf("Import: %q does not name %q", crmaccess.ErrorMessage(err), tc.entry)
			}
			_, err = p.Upsert(ctx, d)
			wantCode(t, err, crmaccess.EINVALID)
			if !strings.Contains(crmaccess.ErrorMessage(err), tc.entry) {
				t.Errorf("Upsert: %q does not name %q", crmaccess.ErrorMessage(err), tc.entry)
			}
			if p.Token() != tok || !mapsEqual(before, decisions(t, p.Service)) {
				t.Errorf("a refused Upsert left a trace: token %s → %s, or a decision changed", tok, p.Token())
			}
		})
	}
	// Nothing of the refused imports is in the store: the valid one runs.
	if _, err := empty.Import(ctx, portalFixture(t)); err != nil {
		t.Errorf("a refused Import left something behind: the valid one then fails: %v", err)
	}
}

// TestCanonicalDoesNotChangeItsDataSet: Import and Upsert work on a
// canonical copy; the caller's data set keeps its GUIDs as written.
func TestCanonicalDoesNotChangeItsDataSet(t *testing.T) {
	d := portalFixture(t)
	d.Users[1].ID = strings.ToUpper(d.Users[1].ID)
	d.Opportunities[1].AccessList = []string{"{" + strings.ToUpper(dave) + "}", dave}
	canon, bad := d.Canonical()
	if bad != nil {
		t.Fatal(bad)
	}
	if canon.Users[1].ID != alice || len(canon.Opportunities[1].AccessList) != 1 || canon.Opportunities[1].AccessList[0] != dave {
		t.Errorf("canonical: user %s, list %v", canon.Users[1].ID, canon.Opportunities[1].AccessList)
	}
	if d.Users[1].ID != strings.ToUpper(alice) || len(d.Opportunities[1].AccessList) != 2 {
		t.Errorf("the caller's data set changed: user %s, list %v", d.Users[1].ID, d.Opportunities[1].AccessList)
	}
}
