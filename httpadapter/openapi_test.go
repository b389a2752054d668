package httpadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/httpadapter"
)

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpadapter.OpenAPI())
	if err != nil {
		t.Fatalf("OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("OpenAPI document is not valid: %v", err)
	}
	return doc
}

// TestOpenAPIDescribesRealAnswers sends requests for every status of every
// endpoint and validates the handler's real answers (status, headers, JSON
// body) against the embedded OpenAPI document, and the requests (path,
// query, headers, body) against its request schemas.
func TestOpenAPIDescribesRealAnswers(t *testing.T) {
	doc := loadOpenAPI(t)
	const (
		oppTemplate, contactTemplate = "/opportunity/{opportunityid}/access", "/contact/filter/access"
		oppGet, oppsTemplate         = "/opportunity/{opportunityid}", "/opportunity/access"
		oppFilterTemplate            = "/opportunity/filter/access"
		oppList, contactList         = "/opportunity/filter", "/contact/filter"
		contactGet, contactAccess    = "/contact/{contactid}", "/contact/{contactid}/access"
		contactsTemplate             = "/contact/access"
		// future is the token of a state no write has reached.
		future = "p999999999999"
	)
	type call struct {
		name        string
		method      string // "" is PUT
		template    string
		id          string // the path's opportunityid or contactid
		query       string
		token       string
		contentType string
		body        string
		consistency string // X-Consistency-Token
		fail        string // make the store fail this call
		maxBody     int64
		want        int
	}
	const js = "application/json"
	calls := []call{
		{name: "opportunity private", template: oppTemplate, id: "1234", token: "mike-token", contentType: js,
			body: `{"isPrivate":true,"accessList":["` + alice + `"]}`, want: 200},
		{name: "opportunity public, form body", template: oppTemplate, id: "1234", token: "mike-token",
			contentType: "application/x-www-form-urlencoded", body: "isPrivate=false", want: 200},
		{name: "opportunity of another, hidden contact", template: oppTemplate, id: "8", token: "alice-token", contentType: js, body: `{}`, want: 200},
		{name: "opportunity bad id", template: oppTemplate, id: "abc", token: "mike-token", want: 400},
		{name: "opportunity bad list", template: oppTemplate, id: "1234", token: "mike-token", contentType: js, body: `{"accessList":["x"]}`, want: 400},
		{name: "opportunity unknown parameter", template: oppTemplate, id: "1234", token: "mike-token", contentType: js,
			body: `{"is_private":true}`, want: 400},
		{name: "opportunity JSON sent as a form", template: oppTemplate, id: "1234", token: "mike-token",
			contentType: "application/x-www-form-urlencoded", body: `{"isPrivate":true}`, want: 400},
		{name: "opportunity body without a Content-Type", template: oppTemplate, id: "1234", token: "mike-token", body: `{}`, want: 400},
		{name: "opportunity no credentials", template: oppTemplate, id: "1234", want: 401},
		{name: "opportunity forbidden", template: oppTemplate, id: "8", token: "mike-token", want: 403},
		{name: "opportunity hidden", template: oppTemplate, id: "7", token: "mike-token", want: 404},
		{name: "opportunity wrong method", method: http.MethodGet, template: oppTemplate, id: "1234", want: 405},
		{name: "opportunity too large", template: oppTemplate, id: "1234", token: "mike-token", contentType: js,
			body: `{"accessList":[]}`, maxBody: 8, want: 413},
		{name: "opportunity internal", template: oppTemplate, id: "1234", token: "mike-token", fail: "Users", want: 500},
		{name: "opportunity with a token", template: oppTemplate, id: "1234", token: "mike-token", consistency: "p1", want: 200},
		{name: "opportunity state not reached", template: oppTemplate, id: "1234", token: "mike-token", consistency: future, want: 503},

		{name: "contacts", template: contactTemplate, token: "mike-token", contentType: js,
			body: documentedContactBody, want: 200},
		{name: "contacts private, with companies", template: contactTemplate, token: "admin-token", contentType: js,
			body: `{"isPrivate":true,"tags":["lead"],"managerList":["` + bob + `"],"contactStage":-1,"contactListView":0}`, want: 200},
		{name: "contacts paged", template: contactTemplate, query: "startIndex=1&count=2&filterValue=lead", token: "mike-token",
			contentType: js, body: `{"tags":["lead"]}`, want: 200},
		{name: "contacts none", template: contactTemplate, token: "mike-token", contentType: js, body: `{"tags":["none"]}`, want: 200},
		{name: "contacts bad date", template: contactTemplate, token: "mike-token", contentType: js, body: `{"toDate":"x"}`, want: 400},
		{name: "contacts null entry", template: contactTemplate, token: "mike-token", contentType: js, body: `{"tags":[null]}`, want: 400},
		{name: "contacts NUL", template: contactTemplate, token: "mike-token", contentType: js, body: `{"tags":["a\u0000"]}`, want: 400},
		{name: "contacts year 0", template: contactTemplate, token: "mike-token", contentType: js, body: `{"toDate":"0000-12-31"}`, want: 400},
		{name: "contacts list too long", template: contactTemplate, token: "mike-token", contentType: js,
			body: `{"tags":` + manyEntries(httpadapter.DefaultMaxListLength+1, "lead") + `}`, want: 400},
		{name: "contacts bad credentials", template: contactTemplate, token: "nobody", want: 401},
		{name: "contacts wrong method", method: http.MethodPost, template: contactTemplate, want: 405},
		{name: "contacts too large", template: contactTemplate, token: "mike-token", contentType: js,
			body: `{"tags":["lead"]}`, maxBody: 8, want: 413},
		{name: "contacts internal", template: contactTemplate, token: "mike-token", contentType: js,
			body: `{}`, fail: "FindContacts", want: 500},
		{name: "contacts state not reached", template: contactTemplate, token: "mike-token", contentType: js,
			body: `{}`, consistency: future, want: 503},

		{name: "list opportunities", method: http.MethodGet, template: oppList, query: "startIndex=1&count=2", token: "mike-token", want: 200},
		{name: "list opportunities bad parameter", method: http.MethodGet, template: oppList, query: "stage=1", token: "mike-token", want: 400},
		{name: "list opportunities no credentials", method: http.MethodGet, template: oppList, want: 401},
		{name: "list opportunities wrong method", method: http.MethodPut, template: oppList, token: "mike-token", want: 405},
		{name: "list opportunities too large", method: http.MethodGet, template: oppList, token: "mike-token",
			contentType: js, body: `{"tags":["x"]}`, maxBody: 8, want: 413},
		{name: "list opportunities internal", method: http.MethodGet, template: oppList, token: "mike-token", fail: "Users", want: 500},
		{name: "list opportunities state not reached", method: http.MethodGet, template: oppList, token: "mike-token", consistency: future, want: 503},
		{name: "list contacts", method: http.MethodGet, template: contactList, query: "tags=lead&count=2", token: "mike-token", want: 200},
		{name: "list contacts bad parameter", method: http.MethodGet, template: contactList, query: "tag=lead", token: "mike-token", want: 400},
		{name: "list contacts no credentials", method: http.MethodGet, template: contactList, want: 401},
		{name: "list contacts wrong method", method: http.MethodDelete, template: contactList, token: "mike-token", want: 405},
		{name: "list contacts too large", method: http.MethodGet, template: contactList, token: "mike-token",
			contentType: js, body: `{"tags":["x"]}`, maxBody: 8, want: 413},
		{name: "list contacts internal", method: http.MethodGet, template: contactList, token: "mike-token", fail: "Users", want: 500},
		{name: "list contacts state not reached", method: http.MethodGet, template: contactList, token: "mike-token", consistency: future, want: 503},

		{name: "get opportunity", method: http.MethodGet, template: oppGet, id: "1234", token: "mike-token", want: 200},
		{name: "get private opportunity", method: http.MethodGet, template: oppGet, id: "7", token: "alice-token", want: 200},
		{name: "get opportunity with a token", method: http.MethodGet, template: oppGet, id: "8", token: "bob-token", consistency: "p1", want: 200},
		{name: "get opportunity bad id", method: http.MethodGet, template: oppGet, id: "0", token: "mike-token", want: 400},
		{name: "get opportunity no credentials", method: http.MethodGet, template: oppGet, id: "1234", want: 401},
		{name: "get opportunity hidden", method: http.MethodGet, template: oppGet, id: "7", token: "mike-token", want: 404},
		{name: "get opportunity wrong method", method: http.MethodPut, template: oppGet, id: "1234", token: "mike-token", want: 405},
		{name: "get opportunity too large", method: http.MethodGet, template: oppGet, id: "1234", token: "mike-token",
			contentType: js, body: `{"opportunityid":1234}`, maxBody: 8, want: 413},
		{name: "get opportunity internal", method: http.MethodGet, template: oppGet, id: "1234", token: "mike-token", fail: "Users", want: 500},
		{name: "get opportunity state not reached", method: http.MethodGet, template: oppGet, id: "1234", token: "mike-token", consistency: future, want: 503},

		{name: "opportunities by id", template: oppsTemplate, token: "mike-token", contentType: js,
			body: `{"opportunityid":[1234,41,7],"isPrivate":true,"accessList":["` + bob + `"]}`, want: 200},
		{name: "opportunities by id, paged", template: oppsTemplate, query: "startIndex=0&count=1", token: "admin-token",
			contentType: js, body: `{"opportunityid":[1234,41,7],"isPrivate":false}`, want: 200},
		{name: "opportunities by id, none", template: oppsTemplate, token: "bob-token", contentType: js, body: `{"opportunityid":[7]}`, want: 200},
		{name: "opportunities by id missing", template: oppsTemplate, token: "mike-token", contentType: js, body: `{"isPrivate":true}`, want: 400},
		{name: "opportunities by id no credentials", template: oppsTemplate, want: 401},
		{name: "opportunities by id wrong method", method: http.MethodDelete, template: oppsTemplate, want: 405},
		{name: "opportunities by id too large", template: oppsTemplate, token: "mike-token", contentType: js,
			body: `{"opportunityid":[1234]}`, maxBody: 8, want: 413},
		{name: "opportunities by id internal", template: oppsTemplate, token: "mike-token", contentType: js,
			body: `{"opportunityid":[1234]}`, fail: "Users", want: 500},
		{name: "opportunities by id state not reached", template: oppsTemplate, token: "mike-token", contentType: js,
			body: `{"opportunityid":[1234]}`, consistency: future, want: 503},

		{name: "opportunity filter", template: oppFilterTemplate, query: "filterValue=renew", token: "mike-token", contentType: js,
			body: `{"isPrivate":true,"accessList":["` + alice + `"],"tags":["renewal"],"stageType":"ClosedAndWon",` +
				`"responsibleid":"` + alice + `","opportunityStagesid":-1,"contactid":2,"contactAlsoIsParticipant":true,` +
				`"fromDate":"2021-03-01T00:00:00","toDate":"2021-04-30T00:00:00"}`, want: 200},
		{name: "opportunity filter by number", template: oppFilterTemplate, token: "admin-token", contentType: js,
			body: `{"stageType":2,"opportunityStagesid":32}`, want: 200},
		{name: "opportunity filter bad stage type", template: oppFilterTemplate, token: "mike-token", contentType: js,
			body: `{"stageType":"Won"}`, want: 400},
		{name: "opportunity filter no credentials", template: oppFilterTemplate, want: 401},
		{name: "opportunity filter wrong method", method: http.MethodGet, template: oppFilterTemplate, want: 405},
		{name: "opportunity filter too large", template: oppFilterTemplate, token: "mike-token", contentType: js,
			body: `{"tags":["renewal"]}`, maxBody: 8, want: 413},
		{name: "opportunity filter internal", template: oppFilterTemplate, token: "mike-token", contentType: js,
			body: `{}`, fail: "Users", want: 500},
		{name: "opportunity filter state not reached", template: oppFilterTemplate, token: "mike-token", contentType: js,
			body: `{}`, consistency: future, want: 503},

		{name: "get contact", method: http.MethodGet, template: contactGet, id: "13", token: "mike-token", want: 200},
		{name: "get private company", method: http.MethodGet, template: contactGet, id: "1", token: "mike-token", want: 200},
		{name: "get contact bad id", method: http.MethodGet, template: contactGet, id: "x", token: "mike-token", want: 400},
		{name: "get contact no credentials", method: http.MethodGet, template: contactGet, id: "13", want: 401},
		{name: "get contact hidden", method: http.MethodGet, template: contactGet, id: "15", token: "mike-token", want: 404},
		{name: "get contact wrong method", method: http.MethodPut, template: contactGet, id: "13", want: 405},
		{name: "get contact too large", method: http.MethodGet, template: contactGet, id: "13", token: "mike-token",
			contentType: js, body: `{"contactid":13}`, maxBody: 8, want: 413},
		{name: "get contact internal", method: http.MethodGet, template: contactGet, id: "13", token: "mike-token", fail: "Users", want: 500},
		{name: "get contact state not reached", method: http.MethodGet, template: contactGet, id: "13", token: "mike-token", consistency: future, want: 503},

		{name: "get contact access, private", method: http.MethodGet, template: contactAccess, id: "15", token: "alice-token", want: 200},
		{name: "get contact access, shared", method: http.MethodGet, template: contactAccess, id: "14", token: "bob-token", want: 200},
		{name: "get contact access, paged", method: http.MethodGet, template: contactAccess, id: "1", query: "startIndex=1", token: "admin-token", want: 200},
		{name: "get contact access bad id", method: http.MethodGet, template: contactAccess, id: "1.5", token: "mike-token", want: 400},
		{name: "get contact access no credentials", method: http.MethodGet, template: contactAccess, id: "1", want: 401},
		{name: "get contact access hidden", method: http.MethodGet, template: contactAccess, id: "15", token: "mike-token", want: 404},
		{name: "contact access wrong method", method: http.MethodPost, template: contactAccess, id: "1", want: 405},
		{name: "get contact access too large", method: http.MethodGet, template: contactAccess, id: "1", token: "mike-token",
			contentType: js, body: `{"contactid":1}`, maxBody: 8, want: 413},
		{name: "get contact access internal", method: http.MethodGet, template: contactAccess, id: "1", token: "mike-token", fail: "Users", want: 500},
		{name: "get contact access state not reached", method: http.MethodGet, template: contactAccess, id: "1", token: "mike-token", consistency: future, want: 503},

		{name: "contact private", template: contactAccess, id: "13", token: "mike-token", contentType: js,
			body: `{"isShared":false,"managerList":["` + bob + `"]}`, want: 200},
		{name: "contact shared, aliases in a form", template: contactAccess, id: "1", token: "mike-token",
			contentType: "application/x-www-form-urlencoded", body: "isPrivate=false", want: 200},
		{name: "contact contradiction", template: contactAccess, id: "13", token: "mike-token", contentType: js,
			body: `{"isShared":true,"isPrivate":true}`, want: 400},
		{name: "contact no credentials", template: contactAccess, id: "13", want: 401},
		{name: "contact forbidden", template: contactAccess, id: "14", token: "bob-token", contentType: js, body: `{"isShared":true}`, want: 403},
		{name: "contact hidden", template: contactAccess, id: "15", token: "mike-token", contentType: js, body: `{"isShared":true}`, want: 404},
		{name: "contact too large", template: contactAccess, id: "13", token: "mike-token", contentType: js,
			body: `{"isShared":true}`, maxBody: 8, want: 413},
		{name: "contact internal", template: contactAccess, id: "13", token: "mike-token", contentType: js,
			body: `{"isShared":true}`, fail: "Users", want: 500},
		{name: "contact state not reached", template: contactAccess, id: "13", token: "mike-token", contentType: js,
			body: `{"isShared":true}`, consistency: future, want: 503},

		{name: "contacts by id", template: contactsTemplate, token: "bob-token", contentType: js,
			body: `{"contactid":[10,14,15],"isShared":false,"managerList":["` + bob + `"]}`, want: 200},
		{name: "contacts by id, aliases", template: contactsTemplate, query: "count=1", token: "admin-token", contentType: js,
			body: `{"contactid":[1,15],"isPrivate":true,"accessList":["` + bob + `"]}`, want: 200},
		{name: "contacts by id missing", template: contactsTemplate, token: "bob-token", contentType: js, body: `{"isShared":true}`, want: 400},
		{name: "contacts by id no credentials", template: contactsTemplate, want: 401},
		{name: "contacts by id wrong method", method: http.MethodGet, template: contactsTemplate, want: 405},
		{name: "contacts by id too large", template: contactsTemplate, token: "bob-token", contentType: js,
			body: `{"contactid":[10],"isShared":true}`, maxBody: 8, want: 413},
		{name: "contacts by id internal", template: contactsTemplate, token: "bob-token", contentType: js,
			body: `{"contactid":[10],"isShared":true}`, fail: "Users", want: 500},
		{name: "contacts by id state not reached", template: contactsTemplate, token: "bob-token", contentType: js,
			body: `{"contactid":[10],"isShared":true}`, consistency: future, want: 503},
	}
	// Every documented status of every operation is answered by a call.
	answered := map[string]bool{}
	for _, c := range calls {
		answered[c.template+" "+strconv.Itoa(c.want)] = true
	}
	for template, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				if !answered[template+" "+status] {
					t.Errorf("%s %s: status %s is documented but no call answers it", method, template, status)
				}
			}
		}
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if c.method == "" {
				c.method = http.MethodPut
			}
			fs := &failingStore{}
			p := newPortal(t, &httpadapter.Options{MaxBodyBytes: c.maxBody, FreshnessWait: 20 * time.Millisecond},
				func(s crmaccess.Store) crmaccess.Store { fs.Store = s; return fs })
			fs.fail = c.fail
			rawPath := "/api/2.0/crm" + strings.NewReplacer("{opportunityid}", c.id, "{contactid}", c.id).Replace(c.template)
			path := rawPath
			if c.query != "" {
				path += "?" + c.query
			}
			r := req{method: c.method, path: path, token: c.token, contentType: c.contentType, body: c.body, consistency: c.consistency}
			w := p.do(t, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body.String())
			}

			pathItem := doc.Paths.Find(c.template)
			if pathItem == nil {
				t.Fatalf("%s is not documented", c.template)
			}
			method, op := c.method, pathItem.GetOperation(c.method)
			if op == nil { // a 405: the path's operations share its answer
				for m, o := range pathItem.Operations() {
					method, op = m, o
				}
			}
			route := &routers.Route{Spec: doc, Path: c.template, PathItem: pathItem, Method: method, Operation: op}
			hr := httptest.NewRequest(method, path, strings.NewReader(c.body))
			if c.contentType != "" {
				hr.Header.Set("Content-Type", c.contentType)
			}
			if c.consistency != "" {
				hr.Header.Set("X-Consistency-Token", c.consistency)
			}
			pathParams := map[string]string{}
			for _, name := range []string{"opportunityid", "contactid"} {
				if strings.Contains(c.template, "{"+name+"}") {
					pathParams[name] = c.id
				}
			}
			in := &openapi3filter.RequestValidationInput{
				Request:    hr,
				PathParams: pathParams,
				Route:      route,
				Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
			ctx := context.Background()
			if c.want == 200 {
				if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
					t.Errorf("request does not match the document: %v", err)
				}
			}
			answerMatchesDocument(t, ctx, in, w)

			// The XML twin of the answer is documented too.
			r.path = rawPath + ".xml"
			if c.query != "" {
				r.path += "?" + c.query
			}
			x := p.do(t, r)
			resp := op.Responses.Status(x.Code)
			if resp == nil {
				t.Fatalf("XML status %d is not documented", x.Code)
			}
			mt, _, _ := mime.ParseMediaType(x.Header().Get("Content-Type"))
			if resp.Value.Content.Get(mt) == nil {
				t.Errorf("XML answer's Content-Type %q is not documented for %d", mt, x.Code)
			}
		})
	}
}

// TestOpenAPIDescribesUnknownPaths: the 404 of an unknown path is the
// documented error envelope.
func TestOpenAPIDescribesUnknownPaths(t *testing.T) {
	doc := loadOpenAPI(t)
	p := newPortal(t, nil, nil)
	w := p.do(t, req{path: "/api/2.0/crm/opportunity"})
	var v any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if err := doc.Components.Schemas["ErrorEnvelope"].Value.VisitJSON(v); err != nil || w.Code != 404 {
		t.Errorf("%d %v: %s", w.Code, err, w.Body.String())
	}
}

// answerMatchesDocument validates the recorded answer w to the request of
// in against the OpenAPI document: status, headers and body.
func answerMatchesDocument(t *testing.T, ctx context.Context, in *openapi3filter.RequestValidationInput, w *httptest.ResponseRecorder) {
	t.Helper()
	err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 w.Code,
		Header:                 w.Header(),
		Body:                   io.NopCloser(bytes.NewReader(w.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		t.Errorf("answer does not match the document: %v\n%s", err, w.Body.String())
	}
}
