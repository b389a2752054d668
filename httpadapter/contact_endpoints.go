package httpadapter

import (
	"net/http"
	"strconv"

	"github.com/crmaccess/crmaccess"
)

// The parameters each contact endpoint reads, besides the presentation
// keys: any other name is refused (see inputRules). The names are
// ONLYOFFICE's (CRMApi.Contacts.cs), matched in any letter case, with the
// aliases of contactPrivacy.
var (
	contactParams        = []string{"contactid"}
	contactAccessParams  = []string{"contactid", "isShared", "managerList", "isPrivate", "accessList"}
	contactsAccessParams = []string{"isPrivate", "managerList", "tags", "contactStage", "contactType",
		"contactListView", "fromDate", "toDate", "filterValue", paramDryRun}
	// contactsAccessByIDParams: contactid is a list here.
	contactsAccessByIDParams = []string{"contactid", "isShared", "managerList", "isPrivate", "accessList", paramDryRun}
)

// readableContact returns contact id as the actor sees it, and the token
// of the state it was read at; ENOTFOUND when it is missing or hidden.
func (h *handler) readableContact(r *http.Request, user string, id int64) (*crmaccess.ContactResult, crmaccess.Token, error) {
	if id <= 0 {
		return nil, "", invalid("contact id %d is not positive", id)
	}
	tok := h.svc.Token()
	found, err := h.svc.Contacts(r.Context(), user, []int64{id})
	if err != nil {
		return nil, "", err
	}
	if len(found) == 0 {
		return nil, "", crmaccess.Errorf(crmaccess.ENOTFOUND, "contact %d not found", id)
	}
	return &found[0], tok, nil
}

// getContact serves GET {prefix}/contact/{contactid}: the contact as the
// PUT answers render it; 404 when missing or hidden.
func (h *handler) getContact(w http.ResponseWriter, r *http.Request, user string, p *params) {
	id, err := routeID(p, "contactid", trimFormat(r.PathValue("contactid")))
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	c, tok, err := h.readableContact(r, user, id)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	c.Token = tok
	h.answerContact(w, r, user, c)
}

// getContactAccess serves GET {prefix}/contact/{contactid}/access: the
// users on a private contact's list, [] for a shared one; 404 when missing
// or hidden.
func (h *handler) getContactAccess(w http.ResponseWriter, r *http.Request, user string, p *params) {
	var (
		id int64
		pg page
	)
	err := firstError(
		func() (err error) { id, err = routeID(p, "contactid", r.PathValue("contactid")); return },
		func() (err error) { pg, err = readPage(p); return },
	)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	c, tok, err := h.readableContact(r, user, id)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	var users []string
	if c.IsPrivate() {
		users = c.ManagerList
	}
	start, end := pg.bounds(len(users))
	d := h.newDirectory(user)
	if err := d.fetchUsers(r.Context(), users[start:end]); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	setToken(w, tok)
	h.writeList(w, r, pg, len(users), func(i int) any { return d.user(users[i]) })
}

// setContactAccess serves PUT {prefix}/contact/{contactid}/access: 404
// when the contact is missing or hidden, 403 when the actor may read it but
// not edit it.
func (h *handler) setContactAccess(w http.ResponseWriter, r *http.Request, user string, p *params) {
	var (
		id        int64
		isPrivate bool
		managers  []string
	)
	err := firstError(
		func() (err error) { id, err = routeID(p, "contactid", r.PathValue("contactid")); return },
		func() (err error) { isPrivate, managers, err = contactPrivacy(p); return },
	)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	c, err := h.svc.SetContactAccess(r.Context(), user, id, isPrivate, managers)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	h.answerContact(w, r, user, c)
}

// setContactsAccessByID serves PUT {prefix}/contact/access: each of
// contactid[] the actor may edit is changed; the others it may read are
// counted in X-Skipped-Count. With dryRun=true nothing is changed: the
// answer is what the call would do.
func (h *handler) setContactsAccessByID(w http.ResponseWriter, r *http.Request, user string, p *params) {
	var (
		dryRun    bool
		ids       []int64
		isPrivate bool
		managers  []string
		pg        page
	)
	err := firstError(
		func() (err error) { dryRun, err = readDryRun(p); return },
		func() (err error) { ids, err = requiredIDs(p, "contactid", "contact"); return },
		func() (err error) { isPrivate, managers, err = contactPrivacy(p); return },
		func() (err error) { pg, err = readPage(p); return },
	)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	change := h.svc.SetContactsAccessByID
	if dryRun {
		change = h.svc.PreviewContactsAccessByID
	}
	res, err := change(r.Context(), user, ids, isPrivate, managers)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	h.answerContacts(w, r, user, pg, res, dryRun)
}

// contactsRequest is the parsed request of the contact filter endpoint.
type contactsRequest struct {
	dryRun      bool
	filter      crmaccess.ContactFilter
	isPrivate   bool
	managerList []string
	page        page
}

func (h *handler) parseContactsRequest(p *params) (*contactsRequest, error) {
	var (
		req = &contactsRequest{}
		f   = &req.filter
	)
	err := firstError(
		func() (err error) { req.dryRun, err = readDryRun(p); return },
		func() (err error) { req.isPrivate, err = p.boolean("isPrivate"); return },
		func() (err error) { req.managerList, err = p.strs("managerList"); return },
		func() (err error) { *f, err = h.contactFilter(p); return },
		func() (err error) { req.page, err = readPage(p); return },
	)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// contactFilter reads the contact filter's parameters.
func (h *handler) contactFilter(p *params) (crmaccess.ContactFilter, error) {
	var f crmaccess.ContactFilter
	err := firstError(
		func() (err error) { f.Tags, err = p.strs("tags"); return },
		func() (err error) { f.Stage, err = p.optionalID("contactStage"); return },
		func() (err error) { f.Type, err = p.optionalID("contactType"); return },
		func() (err error) { f.ListView, err = p.listView("contactListView"); return },
		func() (err error) { f.FromDate, _, err = p.date("fromDate", h.loc); return },
		func() (err error) { f.ToDate, err = p.dayBound("toDate", h.loc); return },
		func() (err error) { f.Search, err = p.text("filterValue"); return },
	)
	return f, err
}

// setContactsAccess serves PUT {prefix}/contact/filter/access: it applies
// privacy to every matching contact the actor may edit, answers with them
// (paged by startIndex and count) and reports the others in X-Skipped-Count.
// With dryRun=true nothing is changed: the answer is what the call would do.
func (h *handler) setContactsAccess(w http.ResponseWriter, r *http.Request, user string, p *params) {
	req, err := h.parseContactsRequest(p)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	change := h.svc.SetContactsAccess
	if req.dryRun {
		change = h.svc.PreviewContactsAccess
	}
	res, err := change(r.Context(), user, req.filter, req.isPrivate, req.managerList)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	h.answerContacts(w, r, user, req.page, res, req.dryRun)
}

// answerContact answers one contact, with the token of its state.
func (h *handler) answerContact(w http.ResponseWriter, r *http.Request, user string, c *crmaccess.ContactResult) {
	d := h.newDirectory(user)
	if err := d.fetchForContacts(r.Context(), []crmaccess.ContactResult{*c}); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	setToken(w, c.Token)
	h.writeEnvelope(w, r, http.StatusOK, &envelope{count: 1, statusCode: http.StatusOK, object: d.contact(c)})
}

// answerContacts answers the page pg of the changed contacts of res, with
// the number skipped and the token of the write, or of a dry run's state.
func (h *handler) answerContacts(w http.ResponseWriter, r *http.Request, user string, pg page, res *crmaccess.ContactsAccessResult, dryRun bool) {
	start, end := pg.bounds(len(res.Contacts))
	d := h.newDirectory(user)
	if err := d.fetchForContacts(r.Context(), res.Contacts[start:end]); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	w.Header().Set(headerSkipped, strconv.Itoa(res.Skipped))
	if dryRun {
		markDryRun(w, countChanged(res.Contacts, func(c *crmaccess.ContactResult) bool { return c.Changed }))
	}
	setToken(w, res.Token)
	h.writeList(w, r, pg, len(res.Contacts), func(i int) any { return d.contact(&res.Contacts[i]) })
}
