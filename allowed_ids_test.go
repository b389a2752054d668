package crmaccess_test

import (
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// AllowedIDs lists, page by page, the records Check allows: for a user who
// is not an admin the records a rule opens to them, for an admin every
// stored record (contact 4, private with no managers, included), never an
// id that is no record.
func TestAllowedIDsPagesWhatCheckAllows(t *testing.T) {
	p := newPortal(t)
	ctx := t.Context()
	stored := map[crmaccess.Kind][]int64{
		crmaccess.KindOpportunity: {1, 2, 3},
		crmaccess.KindContact:     {1, 2, 3, 4, 5, 6},
	}
	for _, u := range []string{admin, alice, bob, carol, dave} {
		for kind, ids := range stored {
			for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess} {
				var want []int64
				for _, id := range ids {
					if mustCheck(t, p.Service, u, crmaccess.Ref{Kind: kind, ID: id}, a).Allowed {
						want = append(want, id)
					}
				}
				var got []int64
				var after int64
				for range len(ids) + 1 {
					page, err := p.AllowedIDs(ctx, u, kind, a, after, 2)
					if err != nil {
						t.Fatalf("%s %s %s: %v", u, kind, a, err)
					}
					if page.Total != len(want) || len(page.IDs) > 2 {
						t.Fatalf("%s %s %s after %d: %+v, want a total of %d", u, kind, a, after, page, len(want))
					}
					got = append(got, page.IDs...)
					if page.Next == 0 {
						break
					}
					after = page.Next
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s %s %s: %v, Check allows %v", u, kind, a, got, want)
				}
			}
		}
	}
}

func TestAllowedIDsRefusesBadArguments(t *testing.T) {
	p := newPortal(t)
	ctx := t.Context()
	for _, c := range []struct {
		name   string
		user   string
		kind   crmaccess.Kind
		action crmaccess.Action
		after  int64
		limit  int
		code   string
	}{
		{"no user", "", crmaccess.KindOpportunity, crmaccess.ActionRead, 0, 10, crmaccess.EUNAUTHORIZED},
		{"user not a GUID", "alice", crmaccess.KindOpportunity, crmaccess.ActionRead, 0, 10, crmaccess.EUNAUTHORIZED},
		{"unknown kind", alice, "deal", crmaccess.ActionRead, 0, 10, crmaccess.EINVALID},
		{"unknown action", alice, crmaccess.KindContact, "write", 0, 10, crmaccess.EINVALID},
		{"negative cursor", alice, crmaccess.KindContact, crmaccess.ActionRead, -1, 10, crmaccess.EINVALID},
		{"empty page", alice, crmaccess.KindContact, crmaccess.ActionRead, 0, 0, crmaccess.EINVALID},
		{"page too large", alice, crmaccess.KindContact, crmaccess.ActionRead, 0, crmaccess.MaxIDPage + 1, crmaccess.EINVALID},
	} {
		_, err := p.AllowedIDs(ctx, c.user, c.kind, c.action, c.after, c.limit)
		if got := crmaccess.ErrorCode(err); got != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	_, err := p.AllowedIDs(crmaccess.WithToken(ctx, "not a token"), alice, crmaccess.KindContact, crmaccess.ActionRead, 0, 10)
	wantCode(t, err, crmaccess.EINVALID)
}
