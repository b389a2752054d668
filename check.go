package crmaccess

import "context"

// Check answers whether user may do action on the record, with the reason
// in CRM terms. It reads memory, after catching up when ctx carries a token
// (WithToken) fresher than memory, or when a write of this Service had an
// unknown outcome; it does not tell whether the record exists (for a
// missing record only an admin is allowed).
//
// Errors: EUNAUTHORIZED (user is not a known, active user), EINVALID (an unknown
// kind or action, an id <= 0, a malformed token), EUNAVAILABLE (the token's
// state was not reached before ctx ended), EINTERNAL.
func (s *Service) Check(ctx context.Context, user string, ref Ref, action Action) (Decision, error) {
	u, err := actor(user)
	if err != nil {
		return Decision{}, err
	}
	if !ref.Valid() {
		return Decision{}, Errorf(EINVALID, "cannot check %v: unknown kind or id not positive", ref)
	}
	if !action.Valid() {
		return Decision{}, Errorf(EINVALID, "unknown action %q", action)
	}
	if err := s.fresh(ctx); err != nil {
		return Decision{}, err
	}
	if err := s.activeActor(u); err != nil {
		return Decision{}, err
	}
	d, err := s.auth.Decide(u, ref, action)
	if err != nil {
		return Decision{}, Internal(err)
	}
	return d, nil
}

func (s *Service) allowed(u string, ref Ref, action Action) (bool, error) {
	d, err := s.auth.Decide(u, ref, action)
	if err != nil {
		return false, Internal(err)
	}
	return d.Allowed, nil
}
