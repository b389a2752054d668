package crmaccess_test

import (
	"testing"

	"github.com/crmaccess/crmaccess"
)

type ruleRow struct {
	name  string
	user  string
	ref   crmaccess.Ref
	allow map[crmaccess.Action]crmaccess.Reason // actions allowed, with the reason; others denied
}

const (
	read   = crmaccess.ActionRead
	edit   = crmaccess.ActionEdit
	del    = crmaccess.ActionDelete
	access = crmaccess.ActionChangeAccess
)

func runRuleRows(t *testing.T, db database, rows []ruleRow) {
	t.Helper()
	p := newPortalOn(t, db)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for _, a := range []crmaccess.Action{read, edit, del, access} {
				d := mustCheck(t, p.Service, row.user, row.ref, a)
				want, ok := row.allow[a]
				if !ok {
					want = crmaccess.ReasonDenied
				}
				if d.Allowed != ok || d.Reason != want {
					t.Errorf("%s: got allowed=%v reason=%q, want allowed=%v reason=%q", a, d.Allowed, d.Reason, ok, want)
				}
			}
		})
	}
}

func all(r crmaccess.Reason) map[crmaccess.Action]crmaccess.Reason {
	return map[crmaccess.Action]crmaccess.Reason{read: r, edit: r, del: r, access: r}
}

func withoutAccess(r crmaccess.Reason) map[crmaccess.Action]crmaccess.Reason {
	return map[crmaccess.Action]crmaccess.Reason{read: r, edit: r, del: r}
}

// SPEC §2, opportunity row: read = edit = delete for admin, public, accessList,
// creator, responsible; change access for admin or creator only.
func TestOpportunityAccessRules(t *testing.T) { eachDatabase(t, testOpportunityAccessRules) }

func testOpportunityAccessRules(t *testing.T, db database) {
	opp1, opp2, opp3 := crmaccess.OpportunityRef(1), crmaccess.OpportunityRef(2), crmaccess.OpportunityRef(3)
	runRuleRows(t, db, []ruleRow{
		{"admin may do everything with a private opportunity", admin, opp2, all(crmaccess.ReasonAdmin)},
		{"admin may do everything with one on no list", admin, opp3, all(crmaccess.ReasonAdmin)},
		{"anyone may read, edit and delete a public opportunity", dave, opp1, withoutAccess(crmaccess.ReasonPublic)},
		{"the creator may change access of a public opportunity", alice, opp1, map[crmaccess.Action]crmaccess.Reason{
			read: crmaccess.ReasonPublic, edit: crmaccess.ReasonPublic, del: crmaccess.ReasonPublic, access: crmaccess.ReasonCreator}},
		{"a user on the accessList may read, edit and delete", dave, opp2, withoutAccess(crmaccess.ReasonInAccessList)},
		{"the creator may do everything with a private opportunity", alice, opp2, all(crmaccess.ReasonCreator)},
		{"the responsible user may read, edit and delete", carol, opp2, withoutAccess(crmaccess.ReasonResponsible)},
		{"anyone else is denied a private opportunity", bob, opp2, nil},
		{"a private opportunity with an empty list is closed to others", alice, opp3, nil},
		{"a missing opportunity is denied to a user", alice, crmaccess.OpportunityRef(99), nil},
	})
}

// SPEC §2, contact row: read for admin, shareType Read/ReadWrite, managerList;
// edit and delete for admin, ReadWrite, managerList; change access as edit.
func TestContactAccessRules(t *testing.T) { eachDatabase(t, testContactAccessRules) }

func testContactAccessRules(t *testing.T, db database) {
	readWrite, private, readOnly, closed := crmaccess.ContactRef(1), crmaccess.ContactRef(2), crmaccess.ContactRef(3), crmaccess.ContactRef(4)
	runRuleRows(t, db, []ruleRow{
		{"admin may do everything with a private contact with no managers", admin, closed, all(crmaccess.ReasonAdmin)},
		{"admin may do everything with a shared contact", admin, readWrite, all(crmaccess.ReasonAdmin)},
		{"anyone may do everything with a ReadWrite contact", dave, readWrite, all(crmaccess.ReasonSharedReadWrite)},
		{"anyone may read a Read contact", dave, readOnly, map[crmaccess.Action]crmaccess.Reason{read: crmaccess.ReasonPublic}},
		{"a manager may do everything with a Read contact", bob, readOnly, all(crmaccess.ReasonInManagerList)},
		{"a manager may do everything with a private contact", alice, private, all(crmaccess.ReasonInManagerList)},
		{"anyone else is denied a private contact", dave, private, nil},
		{"a private contact with no managers is open to admins only", alice, closed, nil},
		{"the creator of a private contact has no right by that", carol, closed, nil},
	})
}

func TestCheckRejectsBadInput(t *testing.T) { eachDatabase(t, testCheckRejectsBadInput) }

func testCheckRejectsBadInput(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	_, err := p.Check(ctx, "", crmaccess.OpportunityRef(1), read)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	_, err = p.Check(ctx, "crm:admin", crmaccess.OpportunityRef(1), read)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
	_, err = p.Check(ctx, alice, crmaccess.OpportunityRef(0), read)
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.Check(ctx, alice, crmaccess.Ref{Kind: "invoice", ID: 1}, read)
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.Check(ctx, alice, crmaccess.OpportunityRef(1), "approve")
	wantCode(t, err, crmaccess.EINVALID)
	// Any case and braces name the same user.
	d := mustCheck(t, p.Service, "{AAAAAAAA-0000-0000-0000-000000000005}", crmaccess.OpportunityRef(2), read)
	if !d.Allowed || d.Reason != crmaccess.ReasonInAccessList {
		t.Errorf("upper-case braced id: %+v", d)
	}
}

func TestAdminRoleGrantAndRevoke(t *testing.T) { eachDatabase(t, testAdminRoleGrantAndRevoke) }

func testAdminRoleGrantAndRevoke(t *testing.T, db database) {
	p := newPortalOn(t, db)
	ctx := t.Context()
	opp2 := crmaccess.OpportunityRef(2)
	if d := mustCheck(t, p.Service, bob, opp2, read); d.Allowed {
		t.Fatalf("bob reads opportunity 2 before the grant: %+v", d)
	}
	if _, err := p.GrantAdmin(ctx, admin, bob); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, p.Service, bob, opp2, access); !d.Allowed || d.Reason != crmaccess.ReasonAdmin {
		t.Fatalf("after the grant: %+v", d)
	}
	if _, err := p.GrantAdmin(ctx, admin, bob); err != nil { // already held: no write
		t.Fatal(err)
	}
	if _, err := p.RevokeAdmin(ctx, admin, "{AAAAAAAA-0000-0000-0000-000000000003}"); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, p.Service, bob, opp2, read); d.Allowed {
		t.Fatalf("after the revoke: %+v", d)
	}
	changes, err := p.AdminChanges(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 3 || changes[0].Actor != "" || changes[0].After.Status != crmaccess.UserActive {
		t.Fatalf("admin changes = %+v, want the import's then grant then revoke by admin", changes)
	}
	changes = changes[1:]
	if !changes[0].After.Admin || changes[0].Before.Admin || changes[1].After.Admin || changes[0].Actor != admin {
		t.Fatalf("admin changes = %+v, want grant then revoke by admin", changes)
	}
	_, err = p.GrantAdmin(ctx, admin, "bob")
	wantCode(t, err, crmaccess.EINVALID)
	_, err = p.GrantAdmin(ctx, "", bob)
	wantCode(t, err, crmaccess.EUNAUTHORIZED)
}
