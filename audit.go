package crmaccess

import "context"

// Changes returns the change records of one record, oldest first: the
// audit trail of its access.
//
// Errors: EINVALID (an invalid ref), EINTERNAL.
func (s *Service) Changes(ctx context.Context, ref Ref) ([]Change, error) {
	if !ref.Valid() {
		return nil, Errorf(EINVALID, "no record %v: unknown kind or id not positive", ref)
	}
	ch, err := s.store.Changes(ctx, ChangeQuery{Entity: ref})
	return ch, Internal(err)
}

// AdminChanges returns the change records of user's admin role, oldest
// first.
//
// Errors: EINVALID (user is not a GUID), EINTERNAL.
func (s *Service) AdminChanges(ctx context.Context, user string) ([]Change, error) {
	id, err := ParseGUID(user)
	if err != nil {
		return nil, Errorf(EINVALID, "user %q is not a GUID", user)
	}
	ch, err := s.store.Changes(ctx, ChangeQuery{User: id})
	return ch, Internal(err)
}
