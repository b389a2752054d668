package httpadapter_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess/httpadapter"
)

// The rest of ONLYOFFICE's access family (SPEC §4): the batch forms, the
// opportunity filter, one contact, and the reads.
const (
	oppsPath         = "/api/2.0/crm/opportunity/access"
	oppFilterPath    = "/api/2.0/crm/opportunity/filter/access"
	contactsByIDPath = "/api/2.0/crm/contact/access"
)

func contactAccessPath(id int64) string { return fmt.Sprintf("/api/2.0/crm/contact/%d/access", id) }

// answerIDs decodes a list of records (opportunities or contacts) and
// returns their ids.
func answerIDs(t testing.TB, a *answer) []int64 {
	t.Helper()
	var recs []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(a.Response, &recs); err != nil {
		t.Fatalf("%v: %s", err, a.Response)
	}
	ids := []int64{}
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

// batchCase is a request to a batch endpoint and what it must answer.
type batchCase struct {
	name    string
	as      string // token
	path    string
	body    string // JSON
	loc     string // Options.Location; "" is UTC
	want    int
	ids     []int64 // the records answered, when want is 200
	skipped string  // X-Skipped-Count, when want is 200
}

func runBatchCases(t *testing.T, cases []batchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := &httpadapter.Options{}
			if tc.loc != "" {
				loc, err := time.LoadLocation(tc.loc)
				if err != nil {
					t.Fatal(err)
				}
				opts.Location = loc
			}
			p := newPortal(t, opts, nil)
			w := p.do(t, req{path: tc.path, token: tc.as, contentType: "application/json", body: tc.body})
			a := decode(t, w, tc.want)
			if tc.want != http.StatusOK {
				return
			}
			if got := answerIDs(t, a); !slices.Equal(got, tc.ids) {
				t.Errorf("answered %v, want %v", got, tc.ids)
			}
			if got := w.Header().Get("X-Skipped-Count"); got != tc.skipped {
				t.Errorf("X-Skipped-Count = %q, want %q", got, tc.skipped)
			}
			if w.Header().Get("X-Consistency-Token") == "" {
				t.Error("no X-Consistency-Token")
			}
		})
	}
}

// TestOpportunitiesAccessByID: each listed opportunity the caller may
// change is changed; those it may only read are skipped and counted;
// hidden and missing ones are neither changed, nor counted, nor answered.
func TestOpportunitiesAccessByID(t *testing.T) {
	runBatchCases(t, []batchCase{
		{name: "changed, skipped, hidden, missing", as: "mike-token", path: oppsPath,
			body: `{"opportunityid":[1234,41,7,99999],"isPrivate":true,"accessList":["` + alice + `"]}`,
			want: 200, ids: []int64{1234}, skipped: "1"},
		{name: "an admin changes all", as: "admin-token", path: oppsPath,
			body: `{"opportunityid":[7,41,1234],"isPrivate":false}`, want: 200, ids: []int64{7, 41, 1234}, skipped: "0"},
		{name: "ids as text", as: "mike-token", path: oppsPath, body: `{"opportunityid":["40"," 42 "]}`,
			want: 200, ids: []int64{40, 42}, skipped: "0"},
		{name: "one id, not a list", as: "mike-token", path: oppsPath, body: `{"opportunityid":40}`,
			want: 200, ids: []int64{40}, skipped: "0"},
		{name: "an empty list changes nothing", as: "mike-token", path: oppsPath, body: `{"opportunityid":[]}`,
			want: 200, ids: []int64{}, skipped: "0"},
		{name: "the ids are required", as: "mike-token", path: oppsPath, body: `{"isPrivate":false}`, want: 400},
		{name: "null ids are missing ids", as: "mike-token", path: oppsPath, body: `{"opportunityid":null}`, want: 400},
		{name: "an id that is not a number", as: "mike-token", path: oppsPath, body: `{"opportunityid":["x"]}`, want: 400},
		{name: "an id that is not positive", as: "mike-token", path: oppsPath, body: `{"opportunityid":[0]}`, want: 400},
		{name: "the single form's name is unknown here", as: "mike-token", path: oppsPath, body: `{"opportunityids":[1234]}`, want: 400},
		{name: "a bad list entry", as: "mike-token", path: oppsPath,
			body: `{"opportunityid":[1234],"isPrivate":true,"accessList":["x"]}`, want: 400},
	})
}

// TestOpportunitiesAccessByFilter: the opportunity filter's fields, as
// ONLYOFFICE's client sends them, select what the batch rule applies to.
// As Mike: 1234, 40 and 42 are his; 41 and 8 he may read but not change;
// 7 is hidden from him.
func TestOpportunitiesAccessByFilter(t *testing.T) {
	renewal := func(more string) string { return `{"tags":["renewal"]` + more + `}` }
	runBatchCases(t, []batchCase{
		{name: "tags: the hidden match is not counted", as: "mike-token", path: oppFilterPath, body: renewal(""),
			want: 200, ids: []int64{40, 42}, skipped: "1"},
		{name: "no filter", as: "mike-token", path: oppFilterPath, body: `{}`, want: 200, ids: []int64{40, 42, 1234}, skipped: "2"},
		{name: "dates are the expected close date, in UTC", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"fromDate":"2021-04-01T00:00:00","toDate":"2021-04-30T00:00:00"`), want: 200, ids: []int64{42}, skipped: "1"},
		{name: "offsetless dates are in the portal's zone", as: "mike-token", path: oppFilterPath, loc: "Europe/Moscow",
			body: renewal(`,"fromDate":"2021-04-01T00:00:00","toDate":"2021-04-30T00:00:00"`), want: 200, ids: []int64{40}, skipped: "1"},
		{name: "the empty GUID is any responsible user", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"responsibleid":"00000000-0000-0000-0000-000000000000"`), want: 200, ids: []int64{40, 42}, skipped: "1"},
		{name: "responsibleid", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"responsibleid":"{AAAAAAAA-0000-0000-0000-000000000002}"`), want: 200, ids: []int64{40}, skipped: "0"},
		{name: "opportunityStagesid -1 is any", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"opportunityStagesid":-1`), want: 200, ids: []int64{40, 42}, skipped: "1"},
		{name: "opportunityStagesid", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"opportunityStagesid":"30"`), want: 200, ids: []int64{}, skipped: "1"},
		{name: "stageType by name", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"stageType":"closedandlost"`), want: 200, ids: []int64{42}, skipped: "0"},
		{name: "stageType by number", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"stageType":1`), want: 200, ids: []int64{40}, skipped: "0"},
		{name: "stageType empty is any", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"stageType":""`), want: 200, ids: []int64{40, 42}, skipped: "1"},
		{name: "contactid: the main contact", as: "mike-token", path: oppFilterPath,
			body: `{"contactid":2}`, want: 200, ids: []int64{40, 1234}, skipped: "0"},
		{name: "contactid with contactAlsoIsParticipant", as: "mike-token", path: oppFilterPath,
			body: `{"contactid":2,"contactAlsoIsParticipant":true}`, want: 200, ids: []int64{40, 1234}, skipped: "1"},
		{name: "contactid -1 is any", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"contactid":-1`), want: 200, ids: []int64{40, 42}, skipped: "1"},
		{name: "filterValue: words start words of the title", as: "mike-token", path: oppFilterPath,
			body: `{"filterValue":"RENEW"}`, want: 200, ids: []int64{40, 42}, skipped: "1"},
		{name: "stageType -1 is refused, not any", as: "mike-token", path: oppFilterPath, body: renewal(`,"stageType":-1`), want: 400},
		{name: "an unknown stageType", as: "mike-token", path: oppFilterPath, body: renewal(`,"stageType":"Closed"`), want: 400},
		{name: "a responsibleid that is not a GUID", as: "mike-token", path: oppFilterPath, body: renewal(`,"responsibleid":"mike"`), want: 400},
		{name: "fromDate after toDate", as: "mike-token", path: oppFilterPath,
			body: renewal(`,"fromDate":"2021-05-01","toDate":"2021-04-30"`), want: 400},
		{name: "a contact filter's field", as: "mike-token", path: oppFilterPath, body: renewal(`,"contactStage":1`), want: 400},
		{name: "the contact alias is not an opportunity's", as: "mike-token", path: oppFilterPath, body: renewal(`,"managerList":[]`), want: 400},
	})
}

// TestContactsAccessByID: as for opportunities, with the contact's
// privacy: isShared and managerList, or their aliases isPrivate and
// accessList. As Bob: 10 he may edit (shared read-write), 14 only read
// (shared read-only), 15 is hidden (private to Alice).
func TestContactsAccessByID(t *testing.T) {
	runBatchCases(t, []batchCase{
		{name: "changed, skipped, hidden, missing", as: "bob-token", path: contactsByIDPath,
			body: `{"contactid":[10,14,15,99999],"isShared":false,"managerList":["` + bob + `"]}`,
			want: 200, ids: []int64{10}, skipped: "1"},
		{name: "the aliases ONLYOFFICE's UI sends", as: "bob-token", path: contactsByIDPath,
			body: `{"contactid":[10,14,15],"isPrivate":true,"accessList":["` + bob + `"]}`, want: 200, ids: []int64{10}, skipped: "1"},
		{name: "both forms agreeing", as: "admin-token", path: contactsByIDPath,
			body: `{"contactid":[15],"isShared":false,"isPrivate":true,"managerList":["` + bob + `"],"accessList":["` + strings.ToUpper(bob) + `"]}`,
			want: 200, ids: []int64{15}, skipped: "0"},
		{name: "isShared and isPrivate contradicting", as: "admin-token", path: contactsByIDPath,
			body: `{"contactid":[15],"isShared":true,"isPrivate":true}`, want: 400},
		{name: "managerList and accessList contradicting", as: "admin-token", path: contactsByIDPath,
			body: `{"contactid":[15],"isShared":false,"managerList":["` + bob + `"],"accessList":["` + alice + `"]}`, want: 400},
		{name: "neither isShared nor isPrivate", as: "admin-token", path: contactsByIDPath,
			body: `{"contactid":[15],"managerList":["` + bob + `"]}`, want: 400},
		{name: "the ids are required", as: "admin-token", path: contactsByIDPath, body: `{"isShared":true}`, want: 400},
		{name: "a filter field", as: "admin-token", path: contactsByIDPath, body: `{"contactid":[15],"isShared":true,"tags":["lead"]}`, want: 400},
	})
}

// TestContactAccess: one contact; 404 when missing or hidden (alike), 403
// when the caller may read it but not edit it.
func TestContactAccess(t *testing.T) {
	p := newPortal(t, nil, nil)
	put := func(token string, id int64, body string) *answer {
		t.Helper()
		w := p.do(t, req{path: contactAccessPath(id), token: token, contentType: "application/json", body: body})
		a := decode(t, w, w.Code)
		if w.Code == http.StatusOK && w.Header().Get("X-Consistency-Token") == "" {
			t.Error("no X-Consistency-Token")
		}
		return a
	}
	var c wireContact
	if a := put("mike-token", 2, `{"isShared":false,"managerList":["`+bob+`"]}`); a.StatusCode != 200 || json.Unmarshal(a.Response, &c) != nil {
		t.Fatalf("PUT contact 2: %+v", a)
	}
	if !c.IsPrivate || c.IsShared || c.ShareType != 0 || !slices.Equal(userIDs(c.AccessList), []string{bob}) || c.ID != 2 {
		t.Errorf("contact 2 answered %+v", c)
	}
	if st := p.contactState(t, 2); st.ShareType != 0 || !slices.Equal(st.ManagerList, []string{bob}) {
		t.Errorf("contact 2 stored %+v", st)
	}
	if a := put("bob-token", 2, `{"isPrivate":false,"accessList":[]}`); a.StatusCode != 200 {
		t.Errorf("the aliases: %+v", a.Error)
	}
	if st := p.contactState(t, 2); st.ShareType != 1 || len(st.ManagerList) != 0 {
		t.Errorf("contact 2 stored %+v", st)
	}
	hidden, missing := put("mike-token", 15, `{"isShared":true}`), put("mike-token", 99999, `{"isShared":true}`)
	if hidden.StatusCode != 404 || missing.StatusCode != 404 ||
		strings.ReplaceAll(hidden.Error.Message, "15", "N") != strings.ReplaceAll(missing.Error.Message, "99999", "N") {
		t.Errorf("hidden %+v, missing %+v", hidden.Error, missing.Error)
	}
	if a := put("bob-token", 14, `{"isShared":true}`); a.StatusCode != 403 {
		t.Errorf("read-only contact: %d", a.StatusCode)
	}
	for body, want := range map[string]int{
		`{"managerList":[]}`:                 400, // neither isShared nor isPrivate
		`{"isShared":true,"isPrivate":true}`: 400,
		`{"isShared":"yes"}`:                 400,
		`{"isShared":true,"contactid":3}`:    200, // the route's contactid wins: contact 3 does not exist
	} {
		if a := put("admin-token", 15, body); a.StatusCode != want {
			t.Errorf("%s: %d, want %d", body, a.StatusCode, want)
		}
	}
	if st := p.contactState(t, 15); st.ShareType != 1 {
		t.Errorf("contact 15 stored %+v, want shared", st)
	}
	if w := p.do(t, req{path: "/api/2.0/crm/contact/abc/access", token: "admin-token", contentType: "application/json", body: `{"isShared":true}`}); w.Code != 400 {
		t.Errorf("a contactid that is not a number: %d", w.Code)
	}
}

// TestReads: the GETs answer the record as the PUTs render it (a PUT that
// changes nothing answers the same bytes), 404 alike for missing and
// hidden records, the users with access of a contact, and the token of the
// state they read.
func TestReads(t *testing.T) {
	p := newPortal(t, nil, nil)
	get := func(token, path string) *answer {
		t.Helper()
		w := p.do(t, req{method: http.MethodGet, path: path, token: token})
		a := decode(t, w, w.Code)
		if w.Code == http.StatusOK && w.Header().Get("X-Consistency-Token") == "" {
			t.Errorf("GET %s: no X-Consistency-Token", path)
		}
		return a
	}
	same := func(getPath, putPath, body, token string) {
		t.Helper()
		g := p.do(t, req{method: http.MethodGet, path: getPath, token: token})
		w := p.do(t, req{path: putPath, token: token, contentType: "application/json", body: body})
		if g.Code != 200 || w.Code != 200 || g.Body.String() != w.Body.String() {
			t.Errorf("GET %s:\n%s\nPUT %s:\n%s", getPath, g.Body.String(), putPath, w.Body.String())
		}
	}
	same("/api/2.0/crm/opportunity/1234", oppPath, `{"isPrivate":false}`, "mike-token")
	same("/api/2.0/crm/opportunity/1234.xml", oppPath+".xml", `{"isPrivate":false}`, "mike-token")
	same("/api/2.0/crm/contact/13", contactAccessPath(13), `{"isShared":true}`, "alice-token")
	same("/api/2.0/crm/contact/1.json", contactAccessPath(1)+".json", `{"isShared":false,"managerList":["`+mike+`"]}`, "mike-token")

	for _, pair := range [][2]string{
		{"/api/2.0/crm/opportunity/7", "/api/2.0/crm/opportunity/99999"},
		{"/api/2.0/crm/contact/15", "/api/2.0/crm/contact/99999"},
		{"/api/2.0/crm/contact/15/access", "/api/2.0/crm/contact/99999/access"},
	} {
		hidden, missing := get("mike-token", pair[0]), get("mike-token", pair[1])
		if hidden.StatusCode != 404 || missing.StatusCode != 404 ||
			strings.Map(noDigits, hidden.Error.Message) != strings.Map(noDigits, missing.Error.Message) {
			t.Errorf("%s: %+v; %s: %+v", pair[0], hidden.Error, pair[1], missing.Error)
		}
	}
	for path, want := range map[string]int{
		"/api/2.0/crm/opportunity/0":      400,
		"/api/2.0/crm/opportunity/x.json": 400,
		"/api/2.0/crm/contact/-3":         400,
		"/api/2.0/crm/contact/14/access":  200,
	} {
		if a := get("bob-token", path); a.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, a.StatusCode, want)
		}
	}

	accessOf := func(token string, id int64) []string {
		t.Helper()
		a := get(token, contactAccessPath(id))
		var us []wireUser
		if err := json.Unmarshal(a.Response, &us); err != nil {
			t.Fatalf("%v: %s", err, a.Response)
		}
		return userIDs(us)
	}
	if got := accessOf("admin-token", 15); !slices.Equal(got, []string{alice}) {
		t.Errorf("private contact 15: %v", got)
	}
	if got := accessOf("bob-token", 14); len(got) != 0 {
		t.Errorf("shared contact 14 (read-only, with a manager): %v, want []", got)
	}

	// A GET sent with a write's token reads that write.
	w := p.do(t, req{path: contactAccessPath(15), token: "alice-token", contentType: "application/json",
		body: `{"isShared":false,"managerList":["` + alice + `","` + bob + `"]}`})
	tok := w.Header().Get("X-Consistency-Token")
	g := p.do(t, req{method: http.MethodGet, path: contactAccessPath(15), token: "bob-token", consistency: tok})
	var us []wireUser
	if a := decode(t, g, 200); json.Unmarshal(a.Response, &us) != nil || !slices.Equal(userIDs(us), []string{alice, bob}) {
		t.Errorf("after the write: %s", g.Body.String())
	}
	if h := p.do(t, req{method: http.MethodHead, path: "/api/2.0/crm/opportunity/1234", token: "mike-token"}); h.Code != 200 {
		t.Errorf("HEAD: %d", h.Code)
	}
}

func noDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return -1
	}
	return r
}
