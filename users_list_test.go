package crmaccess_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// knownUsers lists KnownUsers as "id status".
func knownUsers(t *testing.T, s *crmaccess.Service) []string {
	t.Helper()
	users, err := s.KnownUsers(context.Background())
	if err != nil {
		t.Fatalf("KnownUsers: %v", err)
	}
	var out []string
	for _, u := range users {
		out = append(out, fmt.Sprintf("%s %s", u.ID, u.Status))
	}
	return out
}

// logOnly hides the store's optional capabilities (UserLister): the
// Service then reads what it needs from the log.
type logOnly struct{ crmaccess.Store }

func TestKnownUsersFollowAddDeactivateAndRemove(t *testing.T) {
	for _, tc := range []struct {
		name string
		over func(t *testing.T, p *portal) *crmaccess.Service
	}{
		{"user rows", func(t *testing.T, p *portal) *crmaccess.Service { return openPortal(t, p.path).Service }},
		{"change log", func(t *testing.T, p *portal) *crmaccess.Service { return serviceOver(t, logOnly{p.store}) }},
	} {
		t.Run(tc.name, func(t *testing.T) { testKnownUsers(t, tc.over) })
	}
}

// testKnownUsers checks KnownUsers of a service over the test portal as
// users come and go.
func testKnownUsers(t *testing.T, over func(t *testing.T, p *portal) *crmaccess.Service) {
	ctx := context.Background()
	p := newPortal(t)
	if _, ok := crmaccess.Store(p.store).(crmaccess.UserLister); !ok {
		t.Fatal("the storage package's Store is not a UserLister")
	}
	want := []string{admin + " active", alice + " active", bob + " active", carol + " active", dave + " active"}
	if got := knownUsers(t, over(t, p)); !slices.Equal(got, want) {
		t.Fatalf("after the import: %q, want %q", got, want)
	}

	const erin = "aaaaaaaa-0000-0000-0000-000000000006"
	if _, err := p.PutUser(ctx, admin, crmaccess.User{ID: erin, DisplayName: "Erin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetUserActive(ctx, admin, carol, false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RemoveUser(ctx, admin, dave); err != nil {
		t.Fatal(err)
	}
	want = []string{admin + " active", alice + " active", bob + " active", carol + " inactive", erin + " active"}
	if got := knownUsers(t, p.Service); !slices.Equal(got, want) {
		t.Fatalf("after adding erin, deactivating carol, removing dave: %q, want %q", got, want)
	}
	// Another instance over the same database sees the same users.
	if got := knownUsers(t, over(t, p)); !slices.Equal(got, want) {
		t.Fatalf("another instance: %q, want %q", got, want)
	}
}
