package crmaccess

import "context"

// GrantAdmin gives user the admin role; RevokeAdmin takes it away. The host
// decides who may call them (they are not exposed over HTTP); actor is
// recorded in the change record. They decide on the committed state;
// granting what is already held writes nothing. The token names the state
// after the call.
//
// Errors: EUNAUTHORIZED (actor), EINVALID (user is not a GUID, or not a
// known user), EUNAVAILABLE (the database stayed busy), EINTERNAL.
func (s *Service) GrantAdmin(ctx context.Context, actorID, user string) (Token, error) {
	return s.setAdmin(ctx, actorID, user, true)
}

// RevokeAdmin takes the admin role from user; see GrantAdmin.
func (s *Service) RevokeAdmin(ctx context.Context, actorID, user string) (Token, error) {
	return s.setAdmin(ctx, actorID, user, false)
}

func (s *Service) setAdmin(ctx context.Context, actorID, user string, admin bool) (Token, error) {
	a, err := actor(actorID)
	if err != nil {
		return "", err
	}
	id, err := ParseGUID(user)
	if err != nil {
		return "", Errorf(EINVALID, "user %q is not a GUID", user)
	}
	return s.update(ctx, a, func(context.Context, Reader) (*Batch, error) {
		before := s.userState(id)
		if before.Status == UserUnknown {
			return nil, Errorf(EINVALID, "user %s is not a known user", id)
		}
		if before.Admin == admin {
			return nil, nil
		}
		after := before
		after.Admin = admin
		return &Batch{Kind: EntryAdmin, Changes: []Change{{At: s.now(), Actor: a, User: id, Before: before, After: after}}}, nil
	})
}

// IsAdmin reports whether user holds the admin role (after catching up as
// Check does).
//
// Errors: EINVALID (user is not a GUID, a malformed token), EUNAVAILABLE,
// EINTERNAL.
func (s *Service) IsAdmin(ctx context.Context, user string) (bool, error) {
	id, err := ParseGUID(user)
	if err != nil {
		return false, Errorf(EINVALID, "user %q is not a GUID", user)
	}
	if err := s.fresh(ctx); err != nil {
		return false, err
	}
	return s.auth.IsAdmin(id), nil
}
