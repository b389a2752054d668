package httpadapter

import (
	"net/http"
	"strconv"

	"github.com/crmaccess/crmaccess"
)

// The parameters each endpoint reads, besides the presentation keys: any
// other name is refused (see inputRules).
var (
	opportunityAccessParams = []string{"opportunityid", "isPrivate", "accessList"}
	contactsAccessParams    = []string{"isPrivate", "managerList", "tags", "contactStage", "contactType",
		"contactListView", "fromDate", "toDate", "filterValue"}
)

// setOpportunityAccess serves PUT {prefix}/opportunity/{opportunityid}/access
// with isPrivate and accessList.
func (h *handler) setOpportunityAccess(w http.ResponseWriter, r *http.Request, user string, p *params) {
	// The route wins over the query string and the body.
	idText := r.PathValue("opportunityid")
	p.set("opportunityid", &param{name: "opportunityid", items: []scalar{{text: idText}}})
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		h.writeFailure(w, r, invalid("opportunityid: %q is not a number", idText))
		return
	}
	isPrivate, err := p.boolean("isPrivate")
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	accessList, err := p.strs("accessList")
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	ctx := r.Context()
	o, err := h.svc.SetOpportunityAccess(ctx, user, id, isPrivate, accessList)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	d := h.newDirectory(user)
	if err := d.fetchForOpportunities(ctx, []crmaccess.OpportunityResult{*o}); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	setToken(w, o.Token)
	h.writeEnvelope(w, r, http.StatusOK, &envelope{count: 1, statusCode: http.StatusOK, object: d.opportunity(o)})
}

// contactsRequest is the parsed request of the contact filter endpoint.
type contactsRequest struct {
	filter      crmaccess.ContactFilter
	isPrivate   bool
	managerList []string
	page        page
}

func (h *handler) parseContactsRequest(p *params) (*contactsRequest, error) {
	var (
		req = &contactsRequest{}
		f   = &req.filter
		err error
	)
	steps := []func() error{
		func() error { req.isPrivate, err = p.boolean("isPrivate"); return err },
		func() error { req.managerList, err = p.strs("managerList"); return err },
		func() error { f.Tags, err = p.strs("tags"); return err },
		func() error { f.Stage, err = p.optionalID("contactStage"); return err },
		func() error { f.Type, err = p.optionalID("contactType"); return err },
		func() error { f.ListView, err = p.listView("contactListView"); return err },
		func() error { f.FromDate, _, err = p.date("fromDate", h.loc); return err },
		func() error { f.ToDate, err = p.dayBound("toDate", h.loc); return err },
		func() error { f.Search, err = p.text("filterValue"); return err },
		func() error { req.page, err = readPage(p); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// setContactsAccess serves PUT {prefix}/contact/filter/access: it applies
// privacy to every matching contact the actor may edit, answers with them
// (paged by startIndex and count) and reports the others in X-Skipped-Count.
func (h *handler) setContactsAccess(w http.ResponseWriter, r *http.Request, user string, p *params) {
	req, err := h.parseContactsRequest(p)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	ctx := r.Context()
	res, err := h.svc.SetContactsAccess(ctx, user, req.filter, req.isPrivate, req.managerList)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	start, end := req.page.bounds(len(res.Contacts))
	d := h.newDirectory(user)
	if err := d.fetchForContacts(ctx, res.Contacts[start:end]); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	w.Header().Set("X-Skipped-Count", strconv.Itoa(res.Skipped))
	setToken(w, res.Token)
	h.writeList(w, r, req.page, len(res.Contacts), func(i int) any { return d.contact(&res.Contacts[i]) })
}
