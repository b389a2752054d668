package httpadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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

// TestOpenAPIDescribesRealAnswers sends requests for every status of both
// endpoints and validates the handler's real answers (status, headers, JSON
// body) against the embedded OpenAPI document, and the requests' bodies
// against its request schemas.
func TestOpenAPIDescribesRealAnswers(t *testing.T) {
	doc := loadOpenAPI(t)
	const oppTemplate, contactTemplate = "/opportunity/{opportunityid}/access", "/contact/filter/access"
	type call struct {
		name        string
		method      string
		template    string
		id          string // opportunityid
		query       string
		token       string
		contentType string
		body        string
		fail        string // make the store fail this call
		maxBody     int64
		want        int
	}
	calls := []call{
		{name: "opportunity private", template: oppTemplate, id: "1234", token: "mike-token", contentType: "application/json",
			body: `{"isPrivate":true,"accessList":["` + alice + `"]}`, want: 200},
		{name: "opportunity public, form body", template: oppTemplate, id: "1234", token: "mike-token",
			contentType: "application/x-www-form-urlencoded", body: "isPrivate=false", want: 200},
		{name: "opportunity of another, hidden contact", template: oppTemplate, id: "8", token: "alice-token", contentType: "application/json", body: `{}`, want: 200},
		{name: "opportunity bad id", template: oppTemplate, id: "abc", token: "mike-token", want: 400},
		{name: "opportunity bad list", template: oppTemplate, id: "1234", token: "mike-token", contentType: "application/json", body: `{"accessList":["x"]}`, want: 400},
		{name: "opportunity unknown parameter", template: oppTemplate, id: "1234", token: "mike-token", contentType: "application/json",
			body: `{"is_private":true}`, want: 400},
		{name: "opportunity JSON sent as a form", template: oppTemplate, id: "1234", token: "mike-token",
			contentType: "application/x-www-form-urlencoded", body: `{"isPrivate":true}`, want: 400},
		{name: "opportunity body without a Content-Type", template: oppTemplate, id: "1234", token: "mike-token", body: `{}`, want: 400},
		{name: "opportunity no credentials", template: oppTemplate, id: "1234", want: 401},
		{name: "opportunity forbidden", template: oppTemplate, id: "8", token: "mike-token", want: 403},
		{name: "opportunity hidden", template: oppTemplate, id: "7", token: "mike-token", want: 404},
		{name: "opportunity wrong method", method: http.MethodGet, template: oppTemplate, id: "1234", want: 405},
		{name: "opportunity too large", template: oppTemplate, id: "1234", token: "mike-token", contentType: "application/json",
			body: `{"accessList":[]}`, maxBody: 8, want: 413},
		{name: "opportunity internal", template: oppTemplate, id: "1234", token: "mike-token", fail: "Users", want: 500},
		{name: "contacts", template: contactPath, token: "mike-token", contentType: "application/json",
			body: documentedContactBody, want: 200},
		{name: "contacts private, with companies", template: contactTemplate, token: "admin-token", contentType: "application/json",
			body: `{"isPrivate":true,"tags":["lead"],"managerList":["` + bob + `"],"contactStage":-1,"contactListView":0}`, want: 200},
		{name: "contacts paged", template: contactTemplate, query: "startIndex=1&count=2&filterValue=lead", token: "mike-token",
			contentType: "application/json", body: `{"tags":["lead"]}`, want: 200},
		{name: "contacts none", template: contactTemplate, token: "mike-token", contentType: "application/json", body: `{"tags":["none"]}`, want: 200},
		{name: "contacts bad date", template: contactTemplate, token: "mike-token", contentType: "application/json", body: `{"toDate":"x"}`, want: 400},
		{name: "contacts null entry", template: contactTemplate, token: "mike-token", contentType: "application/json", body: `{"tags":[null]}`, want: 400},
		{name: "contacts NUL", template: contactTemplate, token: "mike-token", contentType: "application/json", body: `{"tags":["a\u0000"]}`, want: 400},
		{name: "contacts year 0", template: contactTemplate, token: "mike-token", contentType: "application/json", body: `{"toDate":"0000-12-31"}`, want: 400},
		{name: "contacts list too long", template: contactTemplate, token: "mike-token", contentType: "application/json",
			body: `{"tags":` + manyEntries(httpadapter.DefaultMaxListLength+1, "lead") + `}`, want: 400},
		{name: "contacts bad credentials", template: contactTemplate, token: "nobody", want: 401},
		{name: "contacts wrong method", method: http.MethodPost, template: contactTemplate, want: 405},
		{name: "contacts too large", template: contactTemplate, token: "mike-token", contentType: "application/json",
			body: `{"tags":["lead"]}`, maxBody: 8, want: 413},
		{name: "contacts internal", template: contactTemplate, token: "mike-token", contentType: "application/json",
			body: `{}`, fail: "FindContacts", want: 500},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if c.template == contactPath {
				c.template = contactTemplate
			}
			fs := &failingStore{}
			p := newPortal(t, &httpadapter.Options{MaxBodyBytes: c.maxBody}, func(s crmaccess.Store) crmaccess.Store { fs.Store = s; return fs })
			fs.fail = c.fail
			path := "/api/2.0/crm" + strings.Replace(c.template, "{opportunityid}", c.id, 1)
			if c.query != "" {
				path += "?" + c.query
			}
			w := p.do(t, req{method: c.method, path: path, token: c.token, contentType: c.contentType, body: c.body})
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body.String())
			}

			pathItem := doc.Paths.Find(c.template)
			op := pathItem.Put
			route := &routers.Route{Spec: doc, Path: c.template, PathItem: pathItem, Method: http.MethodPut, Operation: op}
			hr := httptest.NewRequest(http.MethodPut, path, strings.NewReader(c.body))
			if c.contentType != "" {
				hr.Header.Set("Content-Type", c.contentType)
			}
			in := &openapi3filter.RequestValidationInput{
				Request:    hr,
				PathParams: map[string]string{"opportunityid": c.id},
				Route:      route,
				Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
			ctx := context.Background()
			if c.want == 200 {
				if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
					t.Errorf("request does not match the document: %v", err)
				}
			}
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

			// The XML twin of the answer is documented too.
			x := p.do(t, req{method: c.method, path: strings.Replace(path, "/access", "/access.xml", 1), token: c.token, contentType: c.contentType, body: c.body})
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
