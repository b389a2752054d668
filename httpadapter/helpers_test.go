package httpadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/httpadapter"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// The users of testdata/portal.json.
const (
	mike  = "00000000-0000-0000-0000-000000000000" // creator of opportunity 1234; manager of company 1 and contact 14
	admin = "aaaaaaaa-0000-0000-0000-000000000001"
	alice = "aaaaaaaa-0000-0000-0000-000000000002" // creator of opportunities 7 (private) and 8; manager of 15 and 16
	bob   = "aaaaaaaa-0000-0000-0000-000000000003" // responsible of opportunity 8
)

const (
	oppPath     = "/api/2.0/crm/opportunity/1234/access"
	contactPath = "/api/2.0/crm/contact/filter/access"
)

// portal is the test portal behind a handler.
type portal struct {
	svc     *crmaccess.Service
	handler http.Handler
	logs    *bytes.Buffer // what the handler logged
}

// loadFixture reads testdata/portal.json.
func loadFixture(t testing.TB) *fixture.File {
	t.Helper()
	return testportal.File(t, testportal.DefaultFile)
}

// tokenAuth authenticates "Authorization: Bearer TOKEN" with the tokens of
// the fixture.
func tokenAuth(fx *fixture.File) httpadapter.Authenticate {
	tokens := map[string]string{}
	for _, u := range fx.Users {
		tokens[u.Token] = u.ID
	}
	return func(r *http.Request) (string, error) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return "", errors.New("no bearer token")
		}
		if id, ok := tokens[token]; ok {
			return id, nil
		}
		return "", errors.New("unknown token")
	}
}

// newPortal serves the test portal over a fresh SQLite file. wrap, if not
// nil, wraps the store (to make it fail).
func newPortal(t testing.TB, opts *httpadapter.Options, wrap func(crmaccess.Store) crmaccess.Store) *portal {
	t.Helper()
	p, _ := servePortal(t, testportal.SQLite, &testportal.Options{Wrap: wrap}, opts)
	return p
}

// servePortal serves a test portal (testportal.New on db with tp) through
// a handler with opts; the handler's log goes to the portal's logs unless
// opts names a logger.
func servePortal(t testing.TB, db testportal.DB, tp *testportal.Options, opts *httpadapter.Options) (*portal, *testportal.Portal) {
	t.Helper()
	under := testportal.New(t, db, tp)
	logs := &bytes.Buffer{}
	o := httpadapter.Options{}
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return &portal{svc: under.Service, handler: httpadapter.New(under.Service, tokenAuth(under.File), &o), logs: logs}, under
}

// req describes a test request.
type req struct {
	method      string
	path        string
	token       string // "" sends no Authorization header
	contentType string
	body        string
	accept      string
	consistency string // X-Consistency-Token
}

// do sends r through the handler.
func (p *portal) do(t testing.TB, r req) *httptest.ResponseRecorder {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPut
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	if r.accept != "" {
		hr.Header.Set("Accept", r.accept)
	}
	if r.consistency != "" {
		hr.Header.Set("X-Consistency-Token", r.consistency)
	}
	w := httptest.NewRecorder()
	p.handler.ServeHTTP(w, hr)
	return w
}

// putJSON sends a JSON body as mike.
func (p *portal) putJSON(t testing.TB, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	return p.do(t, req{path: path, token: "mike-token", contentType: "application/json", body: body})
}

// answer is a decoded JSON envelope.
type answer struct {
	Count      *int            `json:"count"`
	StartIndex *int            `json:"startIndex"`
	Total      *int            `json:"total"`
	Status     int             `json:"status"`
	StatusCode int             `json:"statusCode"`
	Response   json.RawMessage `json:"response"`
	Error      *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// wireUser, wireOpportunity and wireContact decode the response bodies.
type wireUser struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

type wireOpportunity struct {
	ID         int64      `json:"id"`
	Title      string     `json:"title"`
	IsPrivate  bool       `json:"isPrivate"`
	AccessList []wireUser `json:"accessList"`
	CanEdit    bool       `json:"canEdit"`
	Contact    *struct {
		ID int64 `json:"id"`
	} `json:"contact"`
	Created string `json:"created"`
}

type wireContact struct {
	ID          int64      `json:"id"`
	DisplayName string     `json:"displayName"`
	IsPrivate   bool       `json:"isPrivate"`
	IsShared    bool       `json:"isShared"`
	ShareType   int        `json:"shareType"`
	AccessList  []wireUser `json:"accessList"`
	CanEdit     bool       `json:"canEdit"`
	CanDelete   bool       `json:"canDelete"`
	Created     string     `json:"created"`
	Company     *struct {
		ID int64 `json:"id"`
	} `json:"company"`
}

// decode reads a JSON envelope and checks its status.
func decode(t testing.TB, w *httptest.ResponseRecorder, wantStatus int) *answer {
	t.Helper()
	if w.Code != wantStatus {
		t.Fatalf("status = %d, want %d; body: %s", w.Code, wantStatus, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	var a answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, w.Body.String())
	}
	if a.StatusCode != wantStatus {
		t.Fatalf("envelope statusCode = %d, want %d", a.StatusCode, wantStatus)
	}
	if wantStatus == http.StatusOK && (a.Status != 0 || a.Error != nil) {
		t.Fatalf("success envelope with status %d, error %v", a.Status, a.Error)
	}
	if wantStatus != http.StatusOK && (a.Status != 1 || a.Error == nil || a.Response != nil) {
		t.Fatalf("error envelope wrong: %s", w.Body.String())
	}
	return &a
}

func decodeOpportunity(t testing.TB, w *httptest.ResponseRecorder) *wireOpportunity {
	t.Helper()
	a := decode(t, w, http.StatusOK)
	var o wireOpportunity
	if err := json.Unmarshal(a.Response, &o); err != nil {
		t.Fatal(err)
	}
	return &o
}

func decodeContacts(t testing.TB, w *httptest.ResponseRecorder) []wireContact {
	t.Helper()
	a := decode(t, w, http.StatusOK)
	var cs []wireContact
	if err := json.Unmarshal(a.Response, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func contactIDs(cs []wireContact) []int64 {
	ids := make([]int64, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func userIDs(us []wireUser) []string {
	ids := make([]string, 0, len(us))
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

// contactState reads a contact's access through the service, as admin.
func (p *portal) contactState(t testing.TB, id int64) crmaccess.ContactResult {
	t.Helper()
	got, err := p.svc.Contacts(context.Background(), admin, []int64{id})
	if err != nil || len(got) != 1 {
		t.Fatalf("Contacts(%d) = %v, %v", id, got, err)
	}
	return got[0]
}

// opportunityState reads an opportunity through the service, as admin.
func (p *portal) opportunityState(t testing.TB, id int64) *crmaccess.OpportunityResult {
	t.Helper()
	o, err := p.svc.Opportunity(context.Background(), admin, id)
	if err != nil {
		t.Fatalf("Opportunity(%d): %v", id, err)
	}
	return o
}

// unsizedReader hides the length of its reader from net/http.
type unsizedReader struct{ r io.Reader }

func (u *unsizedReader) Read(b []byte) (int, error) { return u.r.Read(b) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// backend is a test portal and the name of the database behind it.
type backend struct {
	name string
	*portal
}

// backends serves the test portal over SQLite and, when
// CRMACCESS_POSTGRES_DSN is set, over PostgreSQL too: the fuzz targets send
// every input to each and expect the same answer.
func backends(t testing.TB, opts *httpadapter.Options) []backend {
	t.Helper()
	bs := []backend{{"SQLite", newPortal(t, opts, nil)}}
	if p := postgresPortal(t, opts); p != nil {
		bs = append(bs, backend{"PostgreSQL", p})
	}
	return bs
}
