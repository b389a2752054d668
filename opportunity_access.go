package crmaccess

import (
	"context"
	"slices"
)

// SetOpportunityAccess makes opportunity id private with accessList (the
// actor is added to it), or public when isPrivate is false or the list is
// empty. It decides on the committed state, inside the store's writer lock;
// a request that changes nothing writes nothing.
//
// Errors: EUNAUTHORIZED (no valid actor), EINVALID (id <= 0, an entry that
// is not a GUID), ENOTFOUND (missing, or hidden from the actor), EFORBIDDEN
// (the actor is neither an admin nor the creator), EUNAVAILABLE (the
// database stayed busy), EINTERNAL.
func (s *Service) SetOpportunityAccess(ctx context.Context, actorID string, id int64, isPrivate bool, accessList []string) (*OpportunityResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, Errorf(EINVALID, "opportunity id %d is not positive", id)
	}
	ref := OpportunityRef(id)
	ctx = WithReads(ctx, Reads{Opportunities: []int64{id}})
	var res OpportunityResult
	var o *Opportunity // its row: filled once the write is made (answerOpportunity)
	var after AccessState
	tok, err := s.updateGrouped(ctx, u, []Ref{ref}, func(ctx context.Context, tx Reader) (*Batch, error) {
		var err error
		if o, err = s.answerOpportunity(ctx, tx, u, id); err != nil {
			return nil, err
		}
		if ok, err := s.allowed(u, ref, ActionChangeAccess); err != nil {
			return nil, err
		} else if !ok {
			return nil, Errorf(EFORBIDDEN, "only an admin or the creator may change the access of opportunity %d", id)
		}
		// Checked after the record, so that a bad list does not reveal it.
		list, err := s.parseList("accessList", accessList)
		if err != nil {
			return nil, err
		}
		if err := s.knownUsers("accessList", list); err != nil {
			return nil, err
		}
		before := s.auth.Access(ref)
		after = opportunityAccess(before, u, isPrivate, list)
		res.Changed = before.IsPrivate != after.IsPrivate || !slices.Equal(before.List, after.List)
		if !res.Changed {
			return nil, nil
		}
		return &Batch{
			Kind:               EntryAccess,
			OpportunityPrivacy: []OpportunityPrivacy{{ID: id, IsPrivate: after.IsPrivate}},
			Changes:            []Change{{At: s.now(), Actor: u, Entity: ref, Before: before, After: after}},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	res.Opportunity = *o
	res.IsPrivate, res.AccessList = after.IsPrivate, after.List
	if res.CanEdit, err = s.allowed(u, ref, ActionEdit); err != nil {
		return nil, err
	}
	res.Token = tok
	return &res, nil
}

// Opportunity returns opportunity id as the actor sees it.
//
// Errors: EUNAUTHORIZED, EINVALID (id <= 0, a malformed token in ctx),
// ENOTFOUND (missing or hidden), EUNAVAILABLE (the token's state was not
// reached in time), EINTERNAL.
func (s *Service) Opportunity(ctx context.Context, actorID string, id int64) (*OpportunityResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, Errorf(EINVALID, "opportunity id %d is not positive", id)
	}
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	if err := s.activeActor(u); err != nil {
		return nil, err
	}
	tok := s.Token()
	o, err := s.readableOpportunity(ctx, s.readerFor(s.store), u, id)
	if err != nil {
		return nil, err
	}
	st := s.auth.Access(OpportunityRef(id))
	o.IsPrivate, o.AccessList = st.IsPrivate, st.List
	canEdit, err := s.allowed(u, OpportunityRef(id), ActionEdit)
	if err != nil {
		return nil, err
	}
	return &OpportunityResult{Opportunity: *o, CanEdit: canEdit, Token: tok}, nil
}

// readableOpportunity loads an opportunity through r and hides it, with the
// same error as a missing one, from a user who may not read it.
func (s *Service) readableOpportunity(ctx context.Context, r Reader, u string, id int64) (*Opportunity, error) {
	notFound := Errorf(ENOTFOUND, "opportunity %d not found", id)
	// Decide first: it reads only memory, so a hidden opportunity and a
	// missing one take the same path, without I/O, in the same time.
	if ok, err := s.allowed(u, OpportunityRef(id), ActionRead); err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound
	}
	o, err := r.Opportunity(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, Internal(err)
	}
	return o, nil
}
