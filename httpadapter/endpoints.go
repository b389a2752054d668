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
	err = d.fetchUsers(ctx, append([]string{o.CreateBy, o.Responsible}, o.AccessList...))
	if err == nil && o.ContactID != 0 {
		err = d.fetchContacts(ctx, []int64{o.ContactID})
	}
	if err == nil && o.StageID != 0 {
		err = d.fetchStages(ctx, []int64{o.StageID})
	}
	if err != nil {
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
	start       int
	count       int
	paged       bool
	limited     bool // count was given
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
	}
	if q := p.query; q != nil {
		steps = append(steps,
			func() error {
				var set bool
				req.start, set, err = q.count("startIndex")
				req.paged = req.paged || set
				return err
			},
			func() error {
				req.count, req.limited, err = q.count("count")
				req.paged = req.paged || req.limited
				return err
			})
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
	total := len(res.Contacts)
	start := min(req.start, total)
	end := total
	if req.limited && req.count < total-start { // start+count may overflow
		end = start + req.count
	}
	page := res.Contacts[start:end]

	d := h.newDirectory(user)
	var (
		userIDs    []string
		companyIDs []int64
	)
	for i := range page {
		c := &page[i]
		userIDs = append(userIDs, c.CreateBy)
		if c.IsPrivate() {
			userIDs = append(userIDs, c.ManagerList...)
		}
		if !c.IsCompany && c.CompanyID != 0 {
			companyIDs = append(companyIDs, c.CompanyID)
		}
	}
	err = d.fetchUsers(ctx, userIDs)
	if err == nil {
		err = d.fetchContacts(ctx, companyIDs)
	}
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	w.Header().Set("X-Skipped-Count", strconv.Itoa(res.Skipped))
	setToken(w, res.Token)
	h.writeEnvelope(w, r, http.StatusOK, &envelope{
		count:      len(page),
		paged:      req.paged,
		startIndex: req.start,
		total:      total,
		statusCode: http.StatusOK,
		isList:     true,
		list: func(emit func(any) error) error {
			for i := range page {
				if err := emit(d.contact(&page[i])); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
