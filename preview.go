package crmaccess

import (
	"context"
	"errors"
	"slices"
)

// A preview (dry run) answers what a bulk change of access would do — the
// records it would change, with their new values and whether each would
// really change, and how many it would skip — and writes nothing: no
// record, no rule, no log entry, no change of memory.
//
// It decides as the write would, on the committed state, but without the
// store's writer lock, so that a preview of a large change does not hold
// up the writers of any process: it brings memory up to the log's head,
// reads the candidate records, decides from memory, and then checks that
// the log has not grown and memory has not moved meanwhile (every commit of
// records or rules appends to the log, and memory moves only by applying
// it). When something was committed in between, it decides again; after
// previewAttempts tries on a store that keeps being written, it decides
// inside the writer lock, as the write itself would, and rolls back. The
// answer's Token names the state it was decided on (no write made it), at
// least as fresh as the token ctx carries (WithToken).
//
// On a view from InTransaction, a preview decides on the committed state,
// outside the host's transaction (whose own writes it does not see), and
// never waits for the writer lock, which that transaction may hold: when
// the store keeps changing it fails with EUNAVAILABLE instead.

// PreviewContactsAccess answers what SetContactsAccess would do with the
// same arguments now, writing nothing: the contacts it would change, with
// their new values, Changed set on those whose access would really differ,
// CanEdit and CanDelete as they would be afterwards, the number it would
// skip, and the token of the state it was decided on.
//
// Errors: those of SetContactsAccess, for the same reasons; and, as for a
// read, EINVALID for a malformed token in ctx and EUNAVAILABLE when its
// state is not reached before ctx ends.
func (s *Service) PreviewContactsAccess(ctx context.Context, actorID string, filter ContactFilter, isPrivate bool, managerList []string) (*ContactsAccessResult, error) {
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	return s.contactsAccess(ctx, actorID, isPrivate, managerList, true, 0, contactsMatching(&filter))
}

// PreviewContactsAccessByID answers what SetContactsAccessByID would do,
// writing nothing, as PreviewContactsAccess does.
//
// Errors: those of SetContactsAccessByID, for the same reasons, and those
// of a token in ctx (see PreviewContactsAccess).
func (s *Service) PreviewContactsAccessByID(ctx context.Context, actorID string, ids []int64, isPrivate bool, managerList []string) (*ContactsAccessResult, error) {
	if err := positiveIDs("contact", ids); err != nil {
		return nil, err
	}
	return s.contactsAccess(ctx, actorID, isPrivate, managerList, true, 0, contactsFound(func(ctx context.Context, r Reader) ([]Contact, error) {
		return r.Contacts(ctx, ids)
	}))
}

// PreviewOpportunitiesAccess answers what SetOpportunitiesAccess would do
// with the same arguments now, writing nothing: the opportunities it would
// change, with their new values, Changed set on those whose access would
// really differ, CanEdit as it would be afterwards, the number it would
// skip, and the token of the state it was decided on.
//
// Errors: those of SetOpportunitiesAccess, for the same reasons; and, as
// for a read, EINVALID for a malformed token in ctx and EUNAVAILABLE when
// its state is not reached before ctx ends.
func (s *Service) PreviewOpportunitiesAccess(ctx context.Context, actorID string, ids []int64, isPrivate bool, accessList []string) (*OpportunitiesAccessResult, error) {
	if err := positiveIDs("opportunity", ids); err != nil {
		return nil, err
	}
	return s.opportunitiesAccess(ctx, actorID, isPrivate, accessList, true, func(ctx context.Context, r Reader) ([]Opportunity, error) {
		return r.Opportunities(ctx, ids)
	})
}

// PreviewOpportunitiesAccessByFilter answers what
// SetOpportunitiesAccessByFilter would do, writing nothing, as
// PreviewOpportunitiesAccess does.
//
// Errors: those of SetOpportunitiesAccessByFilter, for the same reasons,
// and those of a token in ctx (see PreviewOpportunitiesAccess).
func (s *Service) PreviewOpportunitiesAccessByFilter(ctx context.Context, actorID string, filter OpportunityFilter, isPrivate bool, accessList []string) (*OpportunitiesAccessResult, error) {
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	return s.opportunitiesAccess(ctx, actorID, isPrivate, accessList, true, func(ctx context.Context, r Reader) ([]Opportunity, error) {
		return r.FindOpportunities(ctx, &filter)
	})
}

// previewAttempts is how often a preview decides without the writer lock
// before it takes it.
const previewAttempts = 3

// errLogGrew stops a read of the log at its first entry.
var errLogGrew = errors.New("crmaccess: the log grew")

// preview runs decide, the decision of a write (it reads records through r
// and memory), on one committed state at least as fresh as ctx asks, and
// returns that state's token. It writes nothing; see the comment at the
// top of this file. A refusal of decide (or of the actor) is returned as
// it is, as the write returns it.
func (s *Service) preview(ctx context.Context, actor string, decide func(ctx context.Context, r Reader) error) (Token, error) {
	if err := s.fresh(ctx); err != nil {
		return "", err
	}
	for range previewAttempts {
		tok, settled, err := s.previewOnce(ctx, actor, decide)
		if settled {
			return tok, err
		}
	}
	if s.hostTx != nil {
		// Deciding inside the host's transaction would read its uncommitted
		// writes into memory, and the store's writer lock may be held by
		// that transaction: waiting for it would wait for the caller.
		return "", Errorf(EUNAVAILABLE, "the store kept changing during the preview; try again")
	}
	return s.previewLocked(ctx, actor, decide)
}

// previewOnce decides once without the writer lock. settled is false when
// the log grew or memory moved while it decided: the answer may mix two
// states and is dropped.
func (s *Service) previewOnce(ctx context.Context, actor string, decide func(ctx context.Context, r Reader) error) (tok Token, settled bool, err error) {
	if err := s.catchUp(ctx, s.base); err != nil {
		if ctx.Err() != nil {
			return "", true, Internal(ctx.Err())
		}
		return "", true, Internal(err)
	}
	// The channel first: a move after it closes it, whatever at reads.
	s.advancedMu.Lock()
	moved := s.advanced
	s.advancedMu.Unlock()
	at := s.applied.Load()
	if s.stale.Load() {
		return "", false, nil
	}
	err = s.activeActor(actor)
	if err == nil {
		err = decide(ctx, s.base)
	}
	if err != nil && !refusal(err) {
		return "", true, err
	}
	select {
	case <-moved:
		return "", false, nil
	default:
	}
	grew := false
	if lerr := s.base.Log(ctx, at, func(*LogEntry) error { grew = true; return errLogGrew }); lerr != nil && !errors.Is(lerr, errLogGrew) {
		return "", true, Internal(lerr)
	}
	if grew || s.stale.Load() {
		return "", false, nil
	}
	if err != nil {
		return "", true, err
	}
	return positionToken(at), true, nil
}

// previewLocked decides inside the store's writer lock, on the committed
// head, as update does, and writes nothing.
func (s *Service) previewLocked(ctx context.Context, actor string, decide func(ctx context.Context, r Reader) error) (Token, error) {
	var refused error
	pos, err := s.store.Update(ctx, func(ctx context.Context, tx Reader, head int64) (*Batch, error) {
		if err := s.catchUpTo(ctx, tx, head); err != nil {
			return nil, err
		}
		if err := s.activeActor(actor); err != nil {
			refused = err
			return nil, err
		}
		if err := decide(ctx, tx); err != nil {
			if refusal(err) {
				refused = err
			}
			return nil, err
		}
		return nil, nil
	})
	switch {
	case err == nil:
		return positionToken(pos), nil
	case refused != nil && err == refused:
		return "", err
	case ErrorCode(err) == EUNAVAILABLE:
		return "", err
	}
	return "", Internal(err)
}

// allowedAfter is what Decide would answer for u on ref once ref's access
// is st (SPEC §2): a preview's CanEdit and CanDelete, for a state memory
// does not hold. u's role and status are memory's.
func (s *Service) allowedAfter(u string, ref Ref, st AccessState, action Action) bool {
	if s.auth.UserStatus(u) != UserActive {
		return false
	}
	if s.auth.IsAdmin(u) {
		return true
	}
	listed := slices.Contains(st.List, u)
	switch ref.Kind {
	case KindOpportunity:
		if action == ActionChangeAccess {
			return st.Creator == u
		}
		return !st.IsPrivate || listed || st.Creator == u || st.Responsible == u
	case KindContact:
		switch {
		case listed, st.ShareType == ShareReadWrite:
			return true
		case st.ShareType == ShareRead:
			return action == ActionRead
		}
	}
	return false
}
