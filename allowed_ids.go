package crmaccess

import "context"

// IDPage is one page of the ids of the records a user may read (or edit):
// SPEC §10's readable ids.
type IDPage struct {
	// IDs are ascending, at most the limit asked.
	IDs []int64
	// Total is how many records the user may do the action on in all,
	// whatever the page.
	Total int
	// Next is the cursor of the next page (the after of the next call); 0
	// when this page is the last.
	Next int64
	// Token names the state the page was decided on: memory at least that
	// fresh.
	Token Token
}

// MaxIDPage is the largest page AllowedIDs returns.
const MaxIDPage = 10_000

// AllowedIDs returns a page of the ids of the records of kind that user may
// do action on (read, or edit, delete, change access), ascending, above the
// cursor after (0 for the first page), at most limit, with the total and
// the cursor of the next page. An id is listed exactly when Check allows it
// and the record exists.
//
// It is decided like Check, on memory, after catching up when ctx carries
// a fresher token (WithToken): for a user who is not an admin from the
// index of the rules (a record such a user may see has a rule naming them
// or a public marker), without reading the database; for an admin, who may
// see every record, from the store's record ids.
//
// Errors: EUNAUTHORIZED (user is not a known, active user), EINVALID (an unknown
// kind or action, after < 0, limit outside 1..MaxIDPage, a malformed
// token), EUNAVAILABLE (the token's state was not reached before ctx
// ended), EINTERNAL.
func (s *Service) AllowedIDs(ctx context.Context, user string, kind Kind, action Action, after int64, limit int) (*IDPage, error) {
	u, err := actor(user)
	if err != nil {
		return nil, err
	}
	if !(Ref{Kind: kind, ID: 1}).Valid() {
		return nil, Errorf(EINVALID, "unknown kind %q", kind)
	}
	if !action.Valid() {
		return nil, Errorf(EINVALID, "unknown action %q", action)
	}
	if after < 0 || limit < 1 || limit > MaxIDPage {
		return nil, Errorf(EINVALID, "a page starts after an id >= 0 and holds 1 to %d ids (after %d, limit %d)", MaxIDPage, after, limit)
	}
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	if err := s.activeActor(u); err != nil {
		return nil, err
	}
	page := &IDPage{Token: positionToken(s.applied.Load())}
	// One more than asked tells whether a next page exists.
	if s.auth.IsAdmin(u) {
		page.IDs, page.Total, err = s.store.RecordIDs(ctx, kind, after, limit+1)
	} else {
		page.IDs, page.Total, err = s.auth.Granted(u, kind, action, after, limit+1)
	}
	if err != nil {
		return nil, Internal(err)
	}
	if len(page.IDs) > limit {
		page.IDs = page.IDs[:limit]
		page.Next = page.IDs[limit-1]
	}
	return page, nil
}
