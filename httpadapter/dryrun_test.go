package httpadapter_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// dryRunCall is a batch write that changes something in the test portal.
type dryRunCall struct {
	name     string
	template string // the path under the prefix
	token    string
	body     string
}

var dryRunCalls = []dryRunCall{
	{"contacts by filter", "/contact/filter/access", "mike-token", documentedContactBody},
	{"contacts by id", "/contact/access", "bob-token", `{"contactid":[10,14,15],"isShared":false,"managerList":["` + bob + `"]}`},
	{"opportunities by id", "/opportunity/access", "mike-token", `{"opportunityid":[1234,41,7],"isPrivate":true,"accessList":["` + bob + `"]}`},
	{"opportunities by filter", "/opportunity/filter/access", "admin-token", `{"isPrivate":true,"accessList":["` + alice + `"]}`},
}

// TestDryRunAnswersWhatTheWriteThenDoes: on each of the four batch writes,
// dryRun=true answers exactly the envelope the write then answers (the same
// bytes, in JSON and XML, paged or not), with X-Dry-Run, X-Changed-Count
// and the X-Skipped-Count of the write, and the token of the state it was
// decided on; it writes nothing. dryRun=false is the write. On SQLite, and
// on PostgreSQL when it is configured.
func TestDryRunAnswersWhatTheWriteThenDoes(t *testing.T) {
	portals := map[string]func(t *testing.T) *portal{
		"sqlite":   func(t *testing.T) *portal { return newPortal(t, nil, nil) },
		"postgres": func(t *testing.T) *portal { return postgresPortal(t, nil) },
	}
	for _, db := range []string{"sqlite", "postgres"} {
		for _, c := range dryRunCalls {
			for _, variant := range []struct{ suffix, query string }{{"", ""}, {".xml", "&startIndex=1&count=1"}} {
				t.Run(db+"/"+c.name+variant.suffix, func(t *testing.T) {
					p := portals[db](t)
					if p == nil {
						t.Skip("CRMACCESS_POSTGRES_DSN is not set: PostgreSQL not tested")
					}
					dryRunAgainstWrite(t, p, c, variant.suffix, variant.query)
				})
			}
		}
	}
}

// dryRunAgainstWrite sends call c as a dry run, then as the write, then as
// a dry run again, through p.
func dryRunAgainstWrite(t *testing.T, p *portal, c dryRunCall, suffix, query string) {
	t.Helper()
	path := "/api/2.0/crm" + c.template + suffix
	state := string(p.svc.Token())
	before := p.do(t, req{method: http.MethodGet, path: "/api/2.0/crm/contact/filter?count=1000", token: "admin-token"}).Body.String() +
		p.do(t, req{method: http.MethodGet, path: "/api/2.0/crm/opportunity/filter?count=1000", token: "admin-token"}).Body.String()

	dry := p.do(t, req{path: path + "?dryRun=TRUE" + query, token: c.token, contentType: "application/json", body: c.body})
	if dry.Code != http.StatusOK {
		t.Fatalf("dry run: %d %s", dry.Code, dry.Body.String())
	}
	if got := string(p.svc.Token()); got != state {
		t.Fatalf("the dry run moved the state from %s to %s", state, got)
	}
	after := p.do(t, req{method: http.MethodGet, path: "/api/2.0/crm/contact/filter?count=1000", token: "admin-token"}).Body.String() +
		p.do(t, req{method: http.MethodGet, path: "/api/2.0/crm/opportunity/filter?count=1000", token: "admin-token"}).Body.String()
	if after != before {
		t.Fatalf("the dry run changed what the reads answer")
	}
	if h := dry.Header(); h.Get("X-Dry-Run") != "true" || h.Get("X-Consistency-Token") != state || h.Get("X-Changed-Count") == "" {
		t.Errorf("dry run headers: %v", h)
	}

	done := p.do(t, req{path: path + "?dryRun=false" + query, token: c.token, contentType: "application/json", body: c.body})
	if done.Code != http.StatusOK {
		t.Fatalf("write: %d %s", done.Code, done.Body.String())
	}
	if string(p.svc.Token()) == state {
		t.Fatalf("dryRun=false wrote nothing")
	}
	if done.Header().Get("X-Dry-Run") != "" || done.Header().Get("X-Changed-Count") != "" {
		t.Errorf("the write's answer says it was a dry run: %v", done.Header())
	}
	if !bytes.Equal(dry.Body.Bytes(), done.Body.Bytes()) {
		t.Errorf("dry run answered\n%s\nthe write then answered\n%s", dry.Body.String(), done.Body.String())
	}
	if dry.Header().Get("X-Skipped-Count") != done.Header().Get("X-Skipped-Count") ||
		dry.Header().Get("Content-Type") != done.Header().Get("Content-Type") {
		t.Errorf("headers differ: dry run %v, write %v", dry.Header(), done.Header())
	}
	if dry.Header().Get("X-Changed-Count") == "0" {
		t.Errorf("the write changed records, the dry run counts none")
	}

	again := p.do(t, req{path: path + "?dryRun=true" + query, token: c.token, contentType: "application/json", body: c.body})
	if again.Header().Get("X-Changed-Count") != "0" || !bytes.Equal(again.Body.Bytes(), done.Body.Bytes()) {
		t.Errorf("after the write, its dry run should change nothing and answer the same: %v\n%s", again.Header(), again.Body.String())
	}
}

// TestDryRunParameterIsStrict: dryRun is true or false in any case, read
// from the query string of the four batch writes only; anything else is
// 400 and writes nothing.
func TestDryRunParameterIsStrict(t *testing.T) {
	p := newPortal(t, nil, nil)
	state := p.svc.Token()
	byID := dryRunCalls[2]
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"not a boolean", http.MethodPut, "/opportunity/access?dryRun=maybe", byID.body},
		{"empty", http.MethodPut, "/opportunity/access?dryRun=", byID.body},
		{"no value", http.MethodPut, "/opportunity/access?dryRun", byID.body},
		{"a number", http.MethodPut, "/opportunity/access?dryRun=1", byID.body},
		{"twice", http.MethodPut, "/opportunity/access?dryRun=true&dryRun=true", byID.body},
		{"as a list", http.MethodPut, "/opportunity/access?dryRun[]=true", byID.body},
		{"in the body", http.MethodPut, "/opportunity/access", `{"opportunityid":[1234],"isPrivate":true,"dryRun":true}`},
		{"in the body, other case", http.MethodPut, "/contact/filter/access", `{"DRYRUN":"true"}`},
		{"in the body and the query", http.MethodPut, "/contact/access?dryRun=true", `{"contactid":[10],"dryrun":false}`},
		{"on one opportunity", http.MethodPut, "/opportunity/1234/access?dryRun=true", `{"isPrivate":true}`},
		{"on one contact", http.MethodPut, "/contact/13/access?dryRun=true", `{"isShared":false}`},
		{"on a read", http.MethodGet, "/contact/filter?dryRun=true", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := ""
			if tc.body != "" {
				ct = "application/json"
			}
			w := p.do(t, req{method: tc.method, path: "/api/2.0/crm" + tc.path, token: "mike-token", contentType: ct, body: tc.body})
			a := decode(t, w, http.StatusBadRequest)
			if !strings.Contains(strings.ToLower(a.Error.Message), "dryrun") {
				t.Errorf("the message does not name dryRun: %s", a.Error.Message)
			}
			if p.svc.Token() != state {
				t.Fatalf("a refused request wrote")
			}
		})
	}
}

// TestOpenAPIDescribesDryRuns validates dry-run requests and answers of
// the four batch writes against the embedded OpenAPI document.
func TestOpenAPIDescribesDryRuns(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, c := range dryRunCalls {
		t.Run(c.name, func(t *testing.T) {
			p := newPortal(t, nil, nil)
			path := "/api/2.0/crm" + c.template + "?dryRun=true&startIndex=0&count=2"
			w := p.do(t, req{path: path, token: c.token, contentType: "application/json", body: c.body})
			if w.Code != http.StatusOK || w.Header().Get("X-Dry-Run") != "true" {
				t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body.String())
			}
			pathItem := doc.Paths.Find(c.template)
			if pathItem == nil {
				t.Fatalf("%s is not documented", c.template)
			}
			route := &routers.Route{Spec: doc, Path: c.template, PathItem: pathItem, Method: http.MethodPut, Operation: pathItem.Put}
			hr := httptest.NewRequest(http.MethodPut, path, strings.NewReader(c.body))
			hr.Header.Set("Content-Type", "application/json")
			in := &openapi3filter.RequestValidationInput{Request: hr, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
			ctx := context.Background()
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				t.Errorf("request does not match the document: %v", err)
			}
			answerMatchesDocument(t, ctx, in, w)
			for _, param := range pathItem.Put.Parameters {
				if param.Value.Name == "dryRun" {
					return
				}
			}
			t.Errorf("%s does not document dryRun", c.template)
		})
	}
}
