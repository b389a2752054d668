package crmaccess

import (
	"context"
	"slices"
)

// UserLister is an optional capability of a Store: every user it keeps,
// removed ones included, in ascending id order. The storage package's
// Store has it; KnownUsers reads the change log without it.
type UserLister interface {
	AllUsers(ctx context.Context) ([]User, error)
}

// KnownUsers returns every known user of the store, active or inactive (a
// removed user is not known), in ascending id order, with each user's
// status as Check sees it: for audits that ask who may do something.
//
// A Store that is a UserLister answers with one query. Without it the ids
// come from the change log (every user is added by a change record: an
// import's, or PutUser's): the call then reads the whole log, in time
// proportional to the changes ever made. ctx may carry a token (WithToken).
//
// Errors: EINVALID (a malformed token), EUNAVAILABLE, EINTERNAL.
func (s *Service) KnownUsers(ctx context.Context) ([]User, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	var users []User
	if lister, ok := s.store.(UserLister); ok {
		all, err := lister.AllUsers(ctx)
		if err != nil {
			return nil, Internal(err)
		}
		users = all
	} else {
		var err error
		if users, err = s.usersInLog(ctx); err != nil {
			return nil, err
		}
	}
	// The status is memory's, as Check decides on it.
	known := users[:0]
	for _, u := range users {
		if u.Status = s.auth.UserStatus(u.ID); u.Status != UserUnknown {
			known = append(known, u)
		}
	}
	return known, nil
}

// usersInLog returns the users that a change record of the log names.
func (s *Service) usersInLog(ctx context.Context) ([]User, error) {
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
		ids = append(ids, id)
	}
	slices.Sort(ids)
	users, err := s.store.Users(ctx, ids)
	return users, Internal(err)
}
