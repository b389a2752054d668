package crmaccess

import (
	"context"
	"slices"
)

// SetOpportunitiesAccess applies SetOpportunityAccess's rule to each of the
// opportunities of ids the actor may change (as an admin or their creator):
// private with accessList plus the actor, or public. Those the actor may
// read but not change are skipped and counted; missing or hidden ones are
// neither changed, nor counted, nor returned. One transaction, decided on
// the committed state. Each returned opportunity has its new values,
// Changed set when its access differed. PreviewOpportunitiesAccess answers
// the same without writing.
//
// Errors: EUNAUTHORIZED, EINVALID (an id <= 0, an entry that is not a
// GUID), EUNAVAILABLE, EINTERNAL.
func (s *Service) SetOpportunitiesAccess(ctx context.Context, actorID string, ids []int64, isPrivate bool, accessList []string) (*OpportunitiesAccessResult, error) {
	if err := positiveIDs("opportunity", ids); err != nil {
		return nil, err
	}
	return s.opportunitiesAccess(ctx, actorID, isPrivate, accessList, false, func(ctx context.Context, tx Reader) ([]Opportunity, error) {
		return tx.Opportunities(ctx, ids)
	})
}

// SetOpportunitiesAccessByFilter is SetOpportunitiesAccess over every
// opportunity the filter matches. PreviewOpportunitiesAccessByFilter
// answers the same without writing.
//
// Errors: EUNAUTHORIZED, EINVALID (a filter field, an entry that is not a
// GUID), EUNAVAILABLE, EINTERNAL.
func (s *Service) SetOpportunitiesAccessByFilter(ctx context.Context, actorID string, filter OpportunityFilter, isPrivate bool, accessList []string) (*OpportunitiesAccessResult, error) {
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	return s.opportunitiesAccess(ctx, actorID, isPrivate, accessList, false, func(ctx context.Context, tx Reader) ([]Opportunity, error) {
		return tx.FindOpportunities(ctx, &filter)
	})
}

// opportunitiesAccess is the write of both, or with dryRun its preview:
// find reads the candidates, inside the write's transaction or on the
// preview's state.
func (s *Service) opportunitiesAccess(ctx context.Context, actorID string, isPrivate bool, accessList []string, dryRun bool,
	find func(context.Context, Reader) ([]Opportunity, error)) (*OpportunitiesAccessResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	list, err := s.parseList("accessList", accessList)
	if err != nil {
		return nil, err
	}
	var (
		res    *OpportunitiesAccessResult
		afters []AccessState // the access each of res.Opportunities gets
	)
	// build decides from memory, at the state the write holds.
	build := func(ctx context.Context, tx Reader) (*Batch, error) {
		if err := s.knownUsers("accessList", list); err != nil {
			return nil, err
		}
		candidates, err := find(ctx, tx)
		if err != nil {
			return nil, Internal(err)
		}
		res = &OpportunitiesAccessResult{Opportunities: make([]OpportunityResult, 0, len(candidates))}
		afters = afters[:0]
		b := &Batch{Kind: EntryAccess}
		now := s.now()
		for i := range candidates {
			o := &candidates[i]
			ref := OpportunityRef(o.ID)
			if ok, err := s.allowed(u, ref, ActionRead); err != nil {
				return nil, err
			} else if !ok {
				continue // hidden: neither changed, nor counted, nor returned
			}
			if ok, err := s.allowed(u, ref, ActionChangeAccess); err != nil {
				return nil, err
			} else if !ok {
				res.Skipped++
				continue
			}
			before := s.auth.Access(ref)
			after := opportunityAccess(before, u, isPrivate, list)
			changed := before.IsPrivate != after.IsPrivate || !slices.Equal(before.List, after.List)
			if changed {
				b.OpportunityPrivacy = append(b.OpportunityPrivacy, OpportunityPrivacy{ID: o.ID, IsPrivate: after.IsPrivate})
				b.Changes = append(b.Changes, Change{At: now, Actor: u, Entity: ref, Before: before, After: after})
			}
			o.IsPrivate, o.AccessList = after.IsPrivate, after.List
			res.Opportunities = append(res.Opportunities, OpportunityResult{Opportunity: *o, Changed: changed})
			afters = append(afters, after)
		}
		if len(b.Changes) == 0 {
			return nil, nil
		}
		return b, nil
	}

	if dryRun {
		tok, err := s.preview(ctx, u, func(ctx context.Context, r Reader) error {
			if _, err := build(ctx, r); err != nil {
				return err
			}
			// What memory will answer once the write is applied.
			for i := range res.Opportunities {
				o := &res.Opportunities[i]
				o.CanEdit = s.allowedAfter(u, OpportunityRef(o.ID), afters[i], ActionEdit)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		res.Token = tok
		return res, nil
	}

	tok, err := s.update(ctx, u, build)
	if err != nil {
		return nil, err
	}
	for i := range res.Opportunities {
		r := &res.Opportunities[i]
		if r.CanEdit, err = s.allowed(u, OpportunityRef(r.ID), ActionEdit); err != nil {
			return nil, err
		}
	}
	res.Token = tok
	return res, nil
}

// opportunityAccess is the access an opportunity gets from a change by u:
// private with list and u when isPrivate and the list is not empty,
// otherwise public. Its creator and responsible user stay.
func opportunityAccess(before AccessState, u string, isPrivate bool, list []string) AccessState {
	after := AccessState{Creator: before.Creator, Responsible: before.Responsible}
	if isPrivate && len(list) > 0 {
		after.IsPrivate, after.List = true, list
		if i, found := slices.BinarySearch(list, u); !found {
			after.List = slices.Insert(slices.Clone(list), i, u)
		}
	}
	return after
}
