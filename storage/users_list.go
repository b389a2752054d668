package storage

import (
	"context"
	"slices"
	"strings"

	"github.com/crmaccess/crmaccess"
)

var _ crmaccess.UserLister = (*Store)(nil)

// AllUsers returns every user row, removed users included (status
// UserUnknown), in ascending id order. Errors are EINTERNAL.
func (s *Store) AllUsers(ctx context.Context) ([]crmaccess.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, display_name, title, avatar_small, profile_url, status FROM `+s.t.users)
	if err != nil {
		return nil, s.translate(ctx, err)
	}
	defer rows.Close()
	var out []crmaccess.User
	for rows.Next() {
		var u crmaccess.User
		var status string
		if err := rows.Scan(&u.ID, &u.DisplayName, &u.Title, &u.AvatarSmall, &u.ProfileURL, &status); err != nil {
			return nil, s.translate(ctx, err)
		}
		u.Status = crmaccess.UserStatus(status)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.translate(ctx, err)
	}
	// In Go's order, not the database's collation.
	slices.SortFunc(out, func(a, b crmaccess.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
