package crmaccess

import (
	"context"
	"slices"
)

// KnownUsers returns every known user of the store, active or inactive (a
// removed user is not known), in ascending id order, with each user's
// status as Check sees it: for audits that ask who may do something.
//
// The ids come from the change log (every user is added by a change record:
// an import's, or PutUser's), so the call reads the whole log: it costs
// time in proportion to the changes ever made, and is meant for audits, not
// for request paths. ctx may carry a token (WithToken).
//
// Errors: EINVALID (a malformed token), EUNAVAILABLE, EINTERNAL.
func (s *Service) KnownUsers(ctx context.Context) ([]User, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	err := s.store.Log(ctx, 0, func(e *LogEntry) error {
		for i := range e.Changes {
			if c := &e.Changes[i]; c.Entity == (Ref{}) && c.User != "" {
				seen[c.User] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		if s.auth.UserStatus(id) != UserUnknown {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	users, err := s.store.Users(ctx, ids)
	if err != nil {
		return nil, Internal(err)
	}
	for i := range users {
		users[i].Status = s.auth.UserStatus(users[i].ID)
	}
	return users, nil
}
