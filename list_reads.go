package crmaccess

import "context"

// OpportunitiesPage is a page of the opportunities a user may read that
// match a filter: the page, how many match in all, and the token of the
// state it was read at.
type OpportunitiesPage struct {
	Opportunities []OpportunityResult
	Total         int
	Token         Token
}

// ContactsPage is a page of the contacts a user may read that match a
// filter; see OpportunitiesPage.
type ContactsPage struct {
	Contacts []ContactResult
	Total    int
	Token    Token
}

// MaxPage is the most records one page of FindOpportunities or
// FindContacts holds.
const MaxPage = 1000

// FindOpportunities returns the opportunities the actor may read that the
// filter matches, by ascending id: start skips that many, count caps the
// page (1 to MaxPage), Total counts them all. Access is decided in the
// store's query (an admin's condition passes every record), never by
// reading every record and checking each.
//
// Errors: EUNAUTHORIZED, EINVALID (a filter field, start < 0, count
// outside 1..MaxPage, a malformed token), EUNAVAILABLE, EINTERNAL.
func (s *Service) FindOpportunities(ctx context.Context, actorID string, filter OpportunityFilter, start, count int) (*OpportunitiesPage, error) {
	u, tok, err := s.listRead(ctx, actorID, start, count)
	if err != nil {
		return nil, err
	}
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	opps, total, err := s.store.ReadableOpportunities(ctx, &filter, u, start, count)
	if err != nil {
		return nil, Internal(err)
	}
	page := &OpportunitiesPage{Total: total, Token: tok, Opportunities: make([]OpportunityResult, 0, len(opps))}
	for _, o := range opps {
		ref := OpportunityRef(o.ID)
		st := s.auth.Access(ref)
		o.IsPrivate, o.AccessList = st.IsPrivate, st.List
		r := OpportunityResult{Opportunity: o}
		if r.CanEdit, err = s.allowed(u, ref, ActionEdit); err != nil {
			return nil, err
		}
		page.Opportunities = append(page.Opportunities, r)
	}
	return page, nil
}

// FindContacts returns the contacts the actor may read that the filter
// matches; see FindOpportunities.
func (s *Service) FindContacts(ctx context.Context, actorID string, filter ContactFilter, start, count int) (*ContactsPage, error) {
	u, tok, err := s.listRead(ctx, actorID, start, count)
	if err != nil {
		return nil, err
	}
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	contacts, total, err := s.store.ReadableContacts(ctx, &filter, u, start, count)
	if err != nil {
		return nil, Internal(err)
	}
	page := &ContactsPage{Total: total, Token: tok, Contacts: make([]ContactResult, 0, len(contacts))}
	for _, c := range contacts {
		ref := ContactRef(c.ID)
		st := s.auth.Access(ref)
		c.ShareType, c.ManagerList = st.ShareType, st.List
		r := ContactResult{Contact: c}
		if r.CanEdit, err = s.allowed(u, ref, ActionEdit); err != nil {
			return nil, err
		}
		if r.CanDelete, err = s.allowed(u, ref, ActionDelete); err != nil {
			return nil, err
		}
		page.Contacts = append(page.Contacts, r)
	}
	return page, nil
}

// listRead checks what every list read checks, and catches up: it returns
// the actor and the token of the state the page is read at.
func (s *Service) listRead(ctx context.Context, actorID string, start, count int) (string, Token, error) {
	u, err := actor(actorID)
	if err != nil {
		return "", "", err
	}
	if start < 0 || count < 1 || count > MaxPage {
		return "", "", Errorf(EINVALID, "a page starts at 0 or after and holds 1 to %d records (start %d, count %d)", MaxPage, start, count)
	}
	if err := s.fresh(ctx); err != nil {
		return "", "", err
	}
	if err := s.activeActor(u); err != nil {
		return "", "", err
	}
	return u, s.Token(), nil
}
