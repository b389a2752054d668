package httpadapter

import (
	"context"
	"net/http"

	"github.com/crmaccess/crmaccess"
)

// The list reads: GET {prefix}/opportunity/filter and
// {prefix}/contact/filter answer the records the actor may read that match
// the filter, by ascending id, paged by startIndex and count, with total,
// and nextIndex when a next page exists (SPEC §4, §10). Access is decided
// in the store's query.

var contactFilterParams = []string{"tags", "contactStage", "contactType", "contactListView", "fromDate", "toDate", "filterValue"}

// listPage reads startIndex and count of a read: count is at most
// crmaccess.MaxPage, and that when absent.
func listPage(p *params) (page, error) {
	pg, err := readPage(p)
	if err != nil {
		return pg, err
	}
	if !pg.limited || pg.count > crmaccess.MaxPage {
		pg.count = crmaccess.MaxPage
	}
	if pg.count < 1 {
		pg.count = 1
	}
	return pg, nil
}

// listEnvelope is the envelope of a read's page of n items of total.
func listEnvelope(pg page, n, total int, list func(emit func(any) error) error) *envelope {
	e := &envelope{count: n, paged: true, startIndex: pg.start, total: total, statusCode: http.StatusOK, isList: true, list: list}
	if next := pg.start + n; n > 0 && next < total {
		e.nextIndex = next
	}
	return e
}

func (h *handler) listOpportunities(w http.ResponseWriter, r *http.Request, user string, p *params) {
	f, err := h.opportunityFilter(p)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	answerList(h, w, r, user, p, func(pg page) ([]crmaccess.OpportunityResult, int, crmaccess.Token, error) {
		res, err := h.svc.FindOpportunities(r.Context(), user, f, pg.start, pg.count)
		if err != nil {
			return nil, 0, "", err
		}
		return res.Opportunities, res.Total, res.Token, nil
	}, (*directory).fetchForOpportunities, (*directory).opportunity)
}

func (h *handler) listContacts(w http.ResponseWriter, r *http.Request, user string, p *params) {
	f, err := h.contactFilter(p)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	answerList(h, w, r, user, p, func(pg page) ([]crmaccess.ContactResult, int, crmaccess.Token, error) {
		res, err := h.svc.FindContacts(r.Context(), user, f, pg.start, pg.count)
		if err != nil {
			return nil, 0, "", err
		}
		return res.Contacts, res.Total, res.Token, nil
	}, (*directory).fetchForContacts, (*directory).contact)
}

// answerList reads the page the query string asks for with find, looks up
// what its records mention, and answers it with the token of its state.
func answerList[T any, R any](h *handler, w http.ResponseWriter, r *http.Request, user string, p *params,
	find func(page) ([]T, int, crmaccess.Token, error),
	fetch func(*directory, context.Context, []T) error, render func(*directory, *T) R) {
	pg, err := listPage(p)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	items, total, tok, err := find(pg)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	d := h.newDirectory(user)
	if err := fetch(d, r.Context(), items); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	setToken(w, tok)
	h.writeEnvelope(w, r, http.StatusOK, listEnvelope(pg, len(items), total, func(emit func(any) error) error {
		for i := range items {
			if err := emit(render(d, &items[i])); err != nil {
				return err
			}
		}
		return nil
	}))
}
