package httpadapter

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// The parameters each opportunity endpoint reads, besides the presentation
// keys: any other name is refused (see inputRules). The names are
// ONLYOFFICE's (CRMApi.Deals.cs), matched in any letter case.
var (
	opportunityParams       = []string{"opportunityid"}
	opportunityAccessParams = []string{"opportunityid", "isPrivate", "accessList"}
	// opportunitiesAccessParams: opportunityid is a list here.
	opportunitiesAccessParams     = []string{"opportunityid", "isPrivate", "accessList", paramDryRun}
	opportunityFilterParams       = []string{"responsibleid", "opportunityStagesid", "tags", "contactid", "contactAlsoIsParticipant", "stageType", "fromDate", "toDate", "filterValue"}
	opportunityFilterAccessParams = append([]string{"isPrivate", "accessList", paramDryRun}, opportunityFilterParams...)
)

// emptyGUID is the user id ONLYOFFICE's client sends for "any user".
const emptyGUID = "00000000-0000-0000-0000-000000000000"

// getOpportunity serves GET {prefix}/opportunity/{opportunityid}: the
// opportunity as the PUT answers render it; 404 when missing or hidden.
func (h *handler) getOpportunity(w http.ResponseWriter, r *http.Request, user string, p *params) {
	id, err := routeID(p, "opportunityid", trimFormat(r.PathValue("opportunityid")))
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	o, err := h.svc.Opportunity(r.Context(), user, id)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	h.answerOpportunity(w, r, user, o)
}

// setOpportunityAccess serves PUT {prefix}/opportunity/{opportunityid}/access
// with isPrivate and accessList.
func (h *handler) setOpportunityAccess(w http.ResponseWriter, r *http.Request, user string, p *params) {
	id, err := routeID(p, "opportunityid", r.PathValue("opportunityid"))
	if err != nil {
		h.writeFailure(w, r, err)
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
	o, err := h.svc.SetOpportunityAccess(r.Context(), user, id, isPrivate, accessList)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	h.answerOpportunity(w, r, user, o)
}

// setOpportunitiesAccess serves PUT {prefix}/opportunity/access: the rule
// of setOpportunityAccess for each of opportunityid[] the actor may change;
// the others it may read are counted in X-Skipped-Count. With dryRun=true
// nothing is changed: the answer is what the call would do.
func (h *handler) setOpportunitiesAccess(w http.ResponseWriter, r *http.Request, user string, p *params) {
	var (
		dryRun     bool
		ids        []int64
		isPrivate  bool
		accessList []string
		pg         page
	)
	err := firstError(
		func() (err error) { dryRun, err = readDryRun(p); return },
		func() (err error) { ids, err = requiredIDs(p, "opportunityid", "opportunity"); return },
		func() (err error) { isPrivate, err = p.boolean("isPrivate"); return },
		func() (err error) { accessList, err = p.strs("accessList"); return },
		func() (err error) { pg, err = readPage(p); return },
	)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	change := h.svc.SetOpportunitiesAccess
	if dryRun {
		change = h.svc.PreviewOpportunitiesAccess
	}
	res, err := change(r.Context(), user, ids, isPrivate, accessList)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	h.answerOpportunities(w, r, user, pg, res, dryRun)
}

// setOpportunitiesAccessByFilter serves PUT
// {prefix}/opportunity/filter/access: setOpportunitiesAccess over the
// opportunities the filter matches (a dry run with dryRun=true).
func (h *handler) setOpportunitiesAccessByFilter(w http.ResponseWriter, r *http.Request, user string, p *params) {
	var (
		dryRun     bool
		filter     crmaccess.OpportunityFilter
		isPrivate  bool
		accessList []string
		pg         page
	)
	err := firstError(
		func() (err error) { dryRun, err = readDryRun(p); return },
		func() (err error) { isPrivate, err = p.boolean("isPrivate"); return },
		func() (err error) { accessList, err = p.strs("accessList"); return },
		func() (err error) { filter, err = h.opportunityFilter(p); return },
		func() (err error) { pg, err = readPage(p); return },
	)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	change := h.svc.SetOpportunitiesAccessByFilter
	if dryRun {
		change = h.svc.PreviewOpportunitiesAccessByFilter
	}
	res, err := change(r.Context(), user, filter, isPrivate, accessList)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	h.answerOpportunities(w, r, user, pg, res, dryRun)
}

// opportunityFilter reads the opportunity filter as ONLYOFFICE's client
// sends it: the empty GUID is any responsible user, and a negative (or, for
// the contact, zero) id any stage or contact.
func (h *handler) opportunityFilter(p *params) (crmaccess.OpportunityFilter, error) {
	var (
		f         crmaccess.OpportunityFilter
		stageType string
	)
	err := firstError(
		func() (err error) { f.Responsible, err = p.text("responsibleid"); return },
		func() (err error) { f.Stage, err = p.optionalID("opportunityStagesid"); return },
		func() (err error) { f.Tags, err = p.strs("tags"); return },
		func() (err error) { f.Contact, err = p.optionalID("contactid"); return },
		func() (err error) { f.ContactAlsoIsParticipant, err = p.boolean("contactAlsoIsParticipant"); return },
		func() (err error) { stageType, err = p.text("stageType"); return },
		func() (err error) { f.FromDate, _, err = p.date("fromDate", h.loc); return },
		func() (err error) { f.ToDate, err = p.dayBound("toDate", h.loc); return },
		func() (err error) { f.Search, err = p.text("filterValue"); return },
	)
	if err != nil {
		return f, err
	}
	f.Responsible = strings.TrimSpace(f.Responsible)
	if id, err := crmaccess.ParseGUID(f.Responsible); err == nil && id == emptyGUID {
		f.Responsible = ""
	}
	if strings.TrimSpace(stageType) != "" {
		t, err := crmaccess.ParseStageType(stageType)
		if err != nil {
			return f, err
		}
		f.StageType = &t
	}
	return f, nil
}

// answerOpportunity answers one opportunity, with the token of its state.
func (h *handler) answerOpportunity(w http.ResponseWriter, r *http.Request, user string, o *crmaccess.OpportunityResult) {
	d := h.newDirectory(user)
	if err := d.fetchForOpportunities(r.Context(), []crmaccess.OpportunityResult{*o}); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	setToken(w, o.Token)
	h.writeEnvelope(w, r, http.StatusOK, &envelope{count: 1, statusCode: http.StatusOK, object: d.opportunity(o)})
}

// answerOpportunities answers the page pg of the changed opportunities of
// res, with the number skipped and the token of the write, or of a dry
// run's state.
func (h *handler) answerOpportunities(w http.ResponseWriter, r *http.Request, user string, pg page, res *crmaccess.OpportunitiesAccessResult, dryRun bool) {
	start, end := pg.bounds(len(res.Opportunities))
	d := h.newDirectory(user)
	if err := d.fetchForOpportunities(r.Context(), res.Opportunities[start:end]); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	w.Header().Set(headerSkipped, strconv.Itoa(res.Skipped))
	if dryRun {
		markDryRun(w, countChanged(res.Opportunities, func(o *crmaccess.OpportunityResult) bool { return o.Changed }))
	}
	setToken(w, res.Token)
	h.writeList(w, r, pg, len(res.Opportunities), func(i int) any { return d.opportunity(&res.Opportunities[i]) })
}
