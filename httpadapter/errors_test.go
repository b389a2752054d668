package httpadapter_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/httpadapter"
)

// TestMalformedParametersAre400 sends one bad parameter or body at a time;
// each answer is 400 with a message naming what was wrong.
func TestMalformedParametersAre400(t *testing.T) {
	p := newPortal(t, nil, nil)
	cases := []struct {
		name        string
		path        string
		contentType string
		body        string
		names       string // the message must contain this
	}{
		{"opportunity id not a number", "/api/2.0/crm/opportunity/abc/access", "", "", "opportunityid"},
		{"opportunity id too large", "/api/2.0/crm/opportunity/99999999999999999999/access", "", "", "opportunityid"},
		{"opportunity id zero", "/api/2.0/crm/opportunity/0/access", "", "", "opportunity id"},
		{"opportunity id negative", "/api/2.0/crm/opportunity/-3/access", "", "", "opportunity id"},
		{"isPrivate not a boolean", oppPath, "application/json", `{"isPrivate":"maybe"}`, "isPrivate"},
		{"isPrivate a number", oppPath, "application/json", `{"isPrivate":1}`, "isPrivate"},
		{"isPrivate a list", oppPath, "application/json", `{"isPrivate":[true]}`, "isPrivate"},
		{"isPrivate an object", oppPath, "application/json", `{"isPrivate":{"a":1}}`, "isPrivate"},
		{"isPrivate twice in a form", oppPath, "application/x-www-form-urlencoded", `isPrivate=true&isPrivate=false`, "isPrivate"},
		{"accessList entry not a GUID", oppPath, "application/json", `{"isPrivate":true,"accessList":["nobody"]}`, "accessList"},
		{"accessList entry a number", oppPath, "application/json", `{"isPrivate":true,"accessList":[7]}`, "accessList"},
		{"accessList entry null", oppPath, "application/json", `{"accessList":["` + mike + `",null]}`, "accessList"},
		{"accessList an object", oppPath, "application/json", `{"accessList":{"id":1}}`, "accessList"},
		{"JSON malformed", oppPath, "application/json", `{"isPrivate":tru}`, "body"},
		{"JSON not an object", oppPath, "application/json", `[true]`, "body"},
		{"JSON trailing data", oppPath, "application/json", `{"isPrivate":true} {}`, "body"},
		{"XML malformed", oppPath, "text/xml", `<r><isPrivate>true</r>`, "body"},
		{"XML nested too deep", oppPath, "application/xml", `<r><accessList><a><b>x</b></a></accessList></r>`, "body"},
		{"XML text beside elements", oppPath, "application/xml", `<r><accessList>x<a>y</a></accessList></r>`, "body"},
		{"XML two roots", oppPath, "application/xml", `<r></r><r></r>`, "body"},
		{"form bad escape", oppPath, "application/x-www-form-urlencoded", `isPrivate=%zz`, "isPrivate"},
		{"unsupported Content-Type", oppPath, "text/plain", `isPrivate=true`, "Content-Type"},
		{"malformed Content-Type", oppPath, "application/", `{}`, "Content-Type"},
		{"query string bad escape", oppPath + "?isPrivate=%zz", "", "", "isPrivate"},
		{"managerList entry not a GUID", contactPath, "application/json", `{"isPrivate":true,"managerList":["x"]}`, "managerList"},
		{"tags entry empty", contactPath, "application/json", `{"tags":[" "]}`, "tags"},
		{"tags entry a number", contactPath, "application/json", `{"tags":[1]}`, "tags"},
		{"tags an object", contactPath, "application/json", `{"tags":{"a":"b"}}`, "tags"},
		{"contactStage not a number", contactPath, "application/json", `{"contactStage":"warm"}`, "contactStage"},
		{"contactStage a fraction", contactPath, "application/json", `{"contactStage":1.5}`, "contactStage"},
		{"contactType a boolean", contactPath, "application/json", `{"contactType":true}`, "contactType"},
		{"contactListView unknown", contactPath, "application/json", `{"contactListView":"companies"}`, "contactListView"},
		{"contactListView out of range", contactPath, "application/json", `{"contactListView":4}`, "contactListView"},
		{"fromDate not a date", contactPath, "application/json", `{"fromDate":"yesterday"}`, "fromDate"},
		{"fromDate a number", contactPath, "application/json", `{"fromDate":20080410}`, "fromDate"},
		{"toDate month 13", contactPath, "application/json", `{"toDate":"2008-13-01"}`, "toDate"},
		{"toDate February 30", contactPath, "application/json", `{"toDate":"2021-02-30"}`, "toDate"},
		{"toDate eight fractional digits", contactPath, "application/json", `{"toDate":"2008-04-10T06:30:00.00000000Z"}`, "toDate"},
		{"toDate bad offset", contactPath, "application/json", `{"toDate":"2008-04-10T06:30:00+25:00"}`, "toDate"},
		{"fromDate after toDate's day", contactPath, "application/json", `{"fromDate":"2008-04-11","toDate":"2008-04-10T23:00:00Z"}`, "fromDate"},
		{"filterValue a boolean", contactPath, "application/json", `{"filterValue":true}`, "filterValue"},
		{"startIndex negative", contactPath + "?startIndex=-1", "", "", "startIndex"},
		{"count not a number", contactPath + "?count=ten", "", "", "count"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := p.do(t, req{path: tc.path, token: "mike-token", contentType: tc.contentType, body: tc.body})
			a := decode(t, w, http.StatusBadRequest)
			if !strings.Contains(a.Error.Message, tc.names) {
				t.Errorf("message %q does not name %q", a.Error.Message, tc.names)
			}
		})
	}
	// None of them changed anything.
	if o := p.opportunityState(t, 1234); o.IsPrivate {
		t.Errorf("a rejected request made opportunity 1234 private")
	}
}

// TestAuthentication: no credentials, bad credentials, an empty user id and
// a user id that is not a GUID are all 401, before any parameter is read.
func TestAuthentication(t *testing.T) {
	p := newPortal(t, nil, nil)
	for _, tc := range []struct{ name, token string }{
		{"no credentials", ""},
		{"unknown token", "forged-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{oppPath, contactPath, "/api/2.0/crm/opportunity/abc/access.xml"} {
				w := p.do(t, req{path: path, token: tc.token, contentType: "application/json", body: `{"isPrivate":"bad"}`})
				if strings.HasSuffix(path, ".xml") {
					if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "<statusCode>401</statusCode>") {
						t.Errorf("%s: %d %s", path, w.Code, w.Body.String())
					}
					continue
				}
				decode(t, w, http.StatusUnauthorized)
			}
		})
	}
	hostAnswers := map[string]httpadapter.Authenticate{
		"empty id":         func(*http.Request) (string, error) { return "", nil },
		"id not a GUID":    func(*http.Request) (string, error) { return "mike", nil },
		"error and an id":  func(*http.Request) (string, error) { return mike, errors.New("expired") },
		"error with no id": func(*http.Request) (string, error) { return "", errors.New("expired") },
	}
	for name, auth := range hostAnswers {
		t.Run(name, func(t *testing.T) {
			h := httpadapter.New(p.svc, auth, nil)
			q := &portal{svc: p.svc, handler: h}
			decode(t, q.do(t, req{path: oppPath, body: `{"isPrivate":true}`, contentType: "application/json"}), http.StatusUnauthorized)
		})
	}
	if o := p.opportunityState(t, 1234); o.IsPrivate {
		t.Errorf("an unauthenticated request made opportunity 1234 private")
	}
}

// TestForbidden: a user who can see an opportunity but neither created it
// nor is an admin may not change its access.
func TestForbidden(t *testing.T) {
	p := newPortal(t, nil, nil)
	w := p.putJSON(t, "/api/2.0/crm/opportunity/8/access", `{"isPrivate":true,"accessList":["`+mike+`"]}`)
	decode(t, w, http.StatusForbidden)
	if o := p.opportunityState(t, 8); o.IsPrivate {
		t.Error("a forbidden request changed opportunity 8")
	}
}

// TestHiddenIsLikeMissing: a private opportunity the caller may not read
// answers exactly as one that does not exist.
func TestHiddenIsLikeMissing(t *testing.T) {
	p := newPortal(t, nil, nil)
	hidden := p.putJSON(t, "/api/2.0/crm/opportunity/7/access", `{"isPrivate":false}`)
	missing := p.putJSON(t, "/api/2.0/crm/opportunity/9999/access", `{"isPrivate":false}`)
	h, m := decode(t, hidden, http.StatusNotFound), decode(t, missing, http.StatusNotFound)
	if strings.ReplaceAll(h.Error.Message, "7", "N") != strings.ReplaceAll(m.Error.Message, "9999", "N") {
		t.Errorf("messages differ beyond the id: %q vs %q", h.Error.Message, m.Error.Message)
	}
	if len(hidden.Header()) != len(missing.Header()) {
		t.Errorf("headers differ: %v vs %v", hidden.Header(), missing.Header())
	}
	if o := p.opportunityState(t, 7); !o.IsPrivate {
		t.Error("the hidden opportunity was made public")
	}
}

// TestRoutingBeforeAuthentication: unknown paths are 404 and other methods
// 405 with Allow, whoever asks, in the error envelope.
func TestRoutingBeforeAuthentication(t *testing.T) {
	p := newPortal(t, nil, nil)
	const (
		putOnly    = "PUT"
		getOnly    = "GET, HEAD"
		getAndPut  = "GET, HEAD, PUT"
		crm        = "/api/2.0/crm"
		suffixable = true
	)
	routes := []struct {
		path     string
		allow    string
		suffixes bool // also with .json and .xml
	}{
		{oppPath, putOnly, suffixable},
		{contactPath, putOnly, suffixable},
		{crm + "/opportunity/access", putOnly, suffixable},
		{crm + "/opportunity/filter/access", putOnly, suffixable},
		{crm + "/contact/access", putOnly, suffixable},
		{crm + "/contact/14/access", getAndPut, suffixable},
		{crm + "/opportunity/1234", getOnly, false},
		{crm + "/opportunity/1234.json", getOnly, false},
		{crm + "/opportunity/1234.xml", getOnly, false},
		{crm + "/contact/14", getOnly, false},
		{crm + "/contact/14.xml", getOnly, false},
	}
	for _, route := range routes {
		paths := []string{route.path}
		if route.suffixes {
			paths = append(paths, route.path+".json", route.path+".xml")
		}
		for _, path := range paths {
			for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
				if strings.Contains(route.allow, method) {
					continue
				}
				w := p.do(t, req{method: method, path: path})
				if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != route.allow {
					t.Errorf("%s %s: %d, Allow %q, want %q", method, path, w.Code, w.Header().Get("Allow"), route.allow)
				}
				if strings.HasSuffix(path, ".xml") {
					if !strings.HasPrefix(w.Body.String(), "<result><status>1</status><statusCode>405</statusCode><error><message>") {
						t.Errorf("%s %s: body %s", method, path, w.Body.String())
					}
				} else {
					decode(t, w, http.StatusMethodNotAllowed)
				}
			}
		}
	}
	for _, path := range []string{
		"/api/2.0/crm/opportunity/1234/acces",
		"/api/2.0/crm/opportunity/access/1234",
		"/api/2.0/crm/opportunity/1234/access/",
		"/api/2.0/crm/contact/14/access/managers",
		"/api/2.0/crm/contact/filter/access/",
		"/api/2.0/crm/contact/filter/access.yaml",
		"/api/2.0/crm/",
		"/elsewhere",
	} {
		for _, token := range []string{"", "mike-token"} {
			decode(t, p.do(t, req{path: path, token: token}), http.StatusNotFound)
		}
	}
}

// TestBodyTooLarge: a body over the limit is 413, whether its length is
// announced or not, with the default limit and a configured one.
func TestBodyTooLarge(t *testing.T) {
	p := newPortal(t, nil, nil)
	big := `{"tags":["` + strings.Repeat("x", httpadapter.DefaultMaxBodyBytes) + `"]}`
	decode(t, p.putJSON(t, contactPath, big), http.StatusRequestEntityTooLarge)

	small := newPortal(t, &httpadapter.Options{MaxBodyBytes: 72}, nil)
	body := `{"isPrivate":true,"accessList":["` + mike + `","` + alice + `"]}` // 111 bytes
	decode(t, small.putJSON(t, oppPath, body), http.StatusRequestEntityTooLarge)

	// Without Content-Length (chunked), the limit holds while reading.
	r, _ := http.NewRequest(http.MethodPut, oppPath, &unsizedReader{r: strings.NewReader(body)})
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer mike-token")
	r.Header.Set("Content-Type", "application/json")
	w := newRecorder()
	small.handler.ServeHTTP(w, r)
	decode(t, w, http.StatusRequestEntityTooLarge)

	if o := small.opportunityState(t, 1234); o.IsPrivate {
		t.Error("a rejected body changed opportunity 1234")
	}
	// A body of exactly the limit (72 bytes) is accepted.
	decode(t, small.putJSON(t, oppPath, `{"isPrivate":true,"accessList":["`+mike+`"]}`), http.StatusOK)
}

// failingStore fails the calls named in fail with a detailed error.
type failingStore struct {
	crmaccess.Store
	fail string
}

var errDisk = errors.New("disk on fire at /var/secret/crm.db")

func (s *failingStore) Users(ctx context.Context, ids []string) ([]crmaccess.User, error) {
	if s.fail == "Users" {
		return nil, errDisk
	}
	return s.Store.Users(ctx, ids)
}

// Update hands build a reader that fails as asked, and fails the write
// itself for "Commit" and "Commit conflict".
func (s *failingStore) Update(ctx context.Context, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, error) {
	return s.Store.Update(ctx, func(ctx context.Context, tx crmaccess.Reader, head int64) (*crmaccess.Batch, error) {
		b, err := build(ctx, failingReader{tx, s.fail}, head)
		if err != nil || b == nil {
			return b, err
		}
		switch s.fail {
		case "Commit":
			return nil, errDisk
		case "Commit conflict":
			if !b.RequireEmpty {
				return nil, crmaccess.Errorf(crmaccess.ECONFLICT, "rule %v is already stored (detail)", b.AddRules)
			}
		}
		return b, nil
	})
}

type failingReader struct {
	crmaccess.Reader
	fail string
}

func (r failingReader) FindContacts(ctx context.Context, f *crmaccess.ContactFilter) ([]crmaccess.Contact, error) {
	if r.fail == "FindContacts" {
		return nil, errDisk
	}
	return r.Reader.FindContacts(ctx, f)
}

// TestInternalErrorsHideDetail: a failing store answers 500 with a generic
// message; the detail goes to the log only.
func TestInternalErrorsHideDetail(t *testing.T) {
	for _, tc := range []struct{ fail, path, body string }{
		{"FindContacts", contactPath, `{"tags":["lead"]}`},
		{"Users", contactPath, `{"tags":["lead"]}`},
		{"Users", oppPath, `{"isPrivate":true}`},
		{"Commit", oppPath, `{"isPrivate":true,"accessList":["` + alice + `"]}`},
		{"Commit conflict", contactPath, `{"isPrivate":true,"tags":["lead"]}`},
	} {
		t.Run(tc.fail+" "+tc.path, func(t *testing.T) {
			fs := &failingStore{}
			p := newPortal(t, nil, func(s crmaccess.Store) crmaccess.Store { fs.Store = s; return fs })
			fs.fail = tc.fail
			w := p.putJSON(t, tc.path, tc.body)
			a := decode(t, w, http.StatusInternalServerError)
			if a.Error.Message != "internal error" {
				t.Errorf("message %q, want the generic one", a.Error.Message)
			}
			if strings.Contains(w.Body.String(), "fire") || strings.Contains(w.Body.String(), "detail") {
				t.Errorf("the answer shows internal detail: %s", w.Body.String())
			}
			if !strings.Contains(p.logs.String(), "disk on fire") && !strings.Contains(p.logs.String(), "already stored") {
				t.Errorf("the detail was not logged: %s", p.logs.String())
			}
		})
	}
}
