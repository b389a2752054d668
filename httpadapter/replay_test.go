package httpadapter_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess/httpadapter"
)

// onlyofficePut is the request ONLYOFFICE's web client puts on the wire for
// an UPDATE call (api.service.js: helper.request(…, 'put', url, data,
// options)), as api.helper.js and jQuery build it: the path is the API
// root plus a ".json" resource; the options' filter goes into the query
// string (objectToParams: a list as literal "key[]=", values
// encodeURIComponent'ed, a Date as the portal's local time with dashes for
// colons) and the cache buster "__=ID" is appended last; the data goes into
// a form body (jQuery.param: a list as "key%5B%5D=", spaces as "+", an empty
// list not at all). The portal's session cookie is the host's
// authentication; here a bearer token stands in for it.
func onlyofficePut(target, token, body string) string {
	return "PUT " + target + " HTTP/1.1\r\n" +
		"Host: portal.example\r\n" +
		"Accept: application/json, text/javascript, */*; q=0.01\r\n" +
		"Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n" +
		"X-Requested-With: XMLHttpRequest\r\n" +
		"Authorization: Bearer " + token + "\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"\r\n" + body
}

// onlyofficeGet is a GET call of the same client: no body, the cache
// buster in the query string.
func onlyofficeGet(target, token string) string {
	return "GET " + target + " HTTP/1.1\r\n" +
		"Host: portal.example\r\n" +
		"Accept: application/json, text/javascript, */*; q=0.01\r\n" +
		"X-Requested-With: XMLHttpRequest\r\n" +
		"Authorization: Bearer " + token + "\r\n" +
		"\r\n"
}

// clientView is what the client takes from an answer (api.helper.js,
// requestComplete and checkResponse): the HTTP status, the envelope's
// status, the error's message, the response, and the paging parameters
// count, startIndex, nextIndex and total, each undefined when absent.
type clientView struct {
	httpStatus int
	status     int
	errMessage string
	response   json.RawMessage
	count      *int
	startIndex *int
	nextIndex  *int
	total      *int
	skipped    string // X-Skipped-Count, which crmaccess adds
}

// replay writes raw on a connection to srv and reads the answer as the
// client does.
func replay(t *testing.T, srv *httptest.Server, raw string) clientView {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Count      *int            `json:"count"`
		StartIndex *int            `json:"startIndex"`
		NextIndex  *int            `json:"nextIndex"`
		Total      *int            `json:"total"`
		Status     int             `json:"status"`
		Response   json.RawMessage `json:"response"`
		Error      *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("the client cannot parse the answer (%d): %v", resp.StatusCode, err)
	}
	v := clientView{httpStatus: resp.StatusCode, status: env.Status, response: env.Response, count: env.Count,
		startIndex: env.StartIndex, nextIndex: env.NextIndex, total: env.Total, skipped: resp.Header.Get("X-Skipped-Count")}
	if env.Error != nil {
		v.errMessage = env.Error.Message
	}
	return v
}

// TestONLYOFFICEClientRequests replays, byte for byte, the requests
// ONLYOFFICE's web client sends to each endpoint of the access family (its
// "Set permissions" dialogs, its filtered lists, its record pages), on a
// portal whose zone is Moscow (UTC+3), and checks what the client reads
// from the answers.
func TestONLYOFFICEClientRequests(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	const (
		root   = "/api/2.0/"
		mikeQ  = mike
		aliceQ = alice
		bobQ   = bob
	)
	undefined := -1 // a paging parameter the answer leaves out
	cases := []struct {
		name string
		raw  string
		// What the client reads.
		httpStatus int
		ids        []int64 // the response's records (one record: its id alone)
		count      int
		startIndex int
		total      int
		skipped    string
		errPart    string // part of the error's message
	}{
		{
			// Opportunity page, "Set permissions": Teamlab.updateCrmOpportunityRights(params, id, data).
			name: "one opportunity",
			raw: onlyofficePut(root+"crm/opportunity/1234/access.json?__=482913", "mike-token",
				"isPrivate=true&accessList%5B%5D="+aliceQ+"&accessList%5B%5D="+mikeQ),
			httpStatus: 200, ids: []int64{1234}, count: 1, startIndex: undefined, total: undefined,
		},
		{
			// Deals list, "Set permissions" on the selected deals (ASC.CRM.ListDealView._setPermissions):
			// the current user is pushed onto the selected users.
			name: "opportunities by id",
			raw: onlyofficePut(root+"crm/opportunity/access.json?__=77120", "mike-token",
				"opportunityid%5B%5D=1234&opportunityid%5B%5D=41&opportunityid%5B%5D=7&isPrivate=true"+
					"&accessList%5B%5D="+bobQ+"&accessList%5B%5D="+mikeQ),
			httpStatus: 200, ids: []int64{1234}, count: 1, startIndex: undefined, total: undefined, skipped: "1",
		},
		{
			// The deals list's filter (ListDealView.getFilterSettings) on the filter form of the
			// same call: paging, sorting, the search box, a tag, "any" stage and responsible
			// user as the client sends them, and a month picked in the portal's zone.
			name: "opportunities by filter",
			raw: onlyofficePut(root+"crm/opportunity/filter/access.json?startIndex=0&count=25&sortBy=stage&sortOrder=ascending"+
				"&filterValue=renewal&tags[]=renewal&opportunityStagesID=-1&responsibleID=00000000-0000-0000-0000-000000000000"+
				"&fromDate=2021-04-01T00-00-00&toDate=2021-04-30T00-00-00&__=901877", "mike-token",
				"isPrivate=false"),
			httpStatus: 200, ids: []int64{40}, count: 1, startIndex: 0, total: 1, skipped: "1",
		},
		{
			// The "by participant" filter: contactID and contactAlsoIsParticipant, second page of one.
			name: "opportunities by participant, paged",
			raw: onlyofficePut(root+"crm/opportunity/filter/access.json?startIndex=1&count=1&sortBy=title&sortOrder=descending"+
				"&contactID=2&contactAlsoIsParticipant=true&__=5503", "mike-token",
				"isPrivate=true&accessList%5B%5D="+aliceQ+"&accessList%5B%5D="+mikeQ),
			httpStatus: 200, ids: []int64{1234}, count: 1, startIndex: 1, total: 2, skipped: "1",
		},
		{
			// Contact page: Teamlab.updateCrmContactRights(params, id, data).
			name: "one contact",
			raw: onlyofficePut(root+"crm/contact/2/access.json?__=31337", "mike-token",
				"isShared=false&managerList%5B%5D="+bobQ+"&managerList%5B%5D="+mikeQ),
			httpStatus: 200, ids: []int64{2}, count: 1, startIndex: undefined, total: undefined,
		},
		{
			// Contacts list, "Set permissions" (ASC.CRM.ListContactView.setPermissions): isPrivate
			// and accessList, the aliases.
			name: "contacts by id",
			raw: onlyofficePut(root+"crm/contact/access.json?__=640021", "bob-token",
				"contactid%5B%5D=10&contactid%5B%5D=14&contactid%5B%5D=15&isPrivate=true&accessList%5B%5D="+bobQ),
			httpStatus: 200, ids: []int64{10}, count: 1, startIndex: undefined, total: undefined, skipped: "1",
		},
		{
			// A project's contacts: a new contact is made private to the current user
			// (addContactToProject).
			name: "contacts by id, isShared",
			raw: onlyofficePut(root+"crm/contact/access.json?__=12", "mike-token",
				"contactid%5B%5D=11&isShared=false&managerList%5B%5D="+mikeQ),
			httpStatus: 200, ids: []int64{11}, count: 1, startIndex: undefined, total: undefined, skipped: "0",
		},
		{
			// The contacts list's filter on the documented contact filter endpoint: "any"
			// stage and type as -1, persons, a date range picked in the portal's zone.
			name: "contacts by filter",
			raw: onlyofficePut(root+"crm/contact/filter/access.json?startIndex=0&count=25&sortBy=created&sortOrder=descending"+
				"&tags[]=lead&contactStage=-1&contactType=-1&contactListView=person"+
				"&fromDate=2021-01-01T00-00-00&toDate=2021-01-04T00-00-00&__=20210", "mike-token",
				"isPrivate=true&managerList%5B%5D="+mikeQ),
			httpStatus: 200, ids: []int64{10, 11, 13}, count: 3, startIndex: 0, total: 3, skipped: "0",
		},
		{
			name:       "get an opportunity",
			raw:        onlyofficeGet(root+"crm/opportunity/1234.json?__=411", "mike-token"),
			httpStatus: 200, ids: []int64{1234}, count: 1, startIndex: undefined, total: undefined,
		},
		{
			name:       "get a hidden opportunity",
			raw:        onlyofficeGet(root+"crm/opportunity/7.json?__=412", "mike-token"),
			httpStatus: 404, errPart: "not found",
		},
		{
			name:       "get a contact",
			raw:        onlyofficeGet(root+"crm/contact/13.json?__=413", "mike-token"),
			httpStatus: 200, ids: []int64{13}, count: 1, startIndex: undefined, total: undefined,
		},
		{
			name:       "get a contact's access",
			raw:        onlyofficeGet(root+"crm/contact/1/access.json?__=414", "mike-token"),
			httpStatus: 200, count: 1, startIndex: undefined, total: undefined,
		},
		{
			name: "an unknown parameter",
			raw: onlyofficePut(root+"crm/opportunity/access.json?__=9", "mike-token",
				"opportunityid%5B%5D=1234&isPrivate=true&isNotify=true"),
			httpStatus: 400, errPart: `"isNotify"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPortal(t, &httpadapter.Options{Location: moscow}, nil)
			srv := httptest.NewServer(p.handler)
			defer srv.Close()
			v := replay(t, srv, tc.raw)
			if v.httpStatus != tc.httpStatus {
				t.Fatalf("HTTP %d, want %d: %+v %s", v.httpStatus, tc.httpStatus, v, v.response)
			}
			if tc.httpStatus != 200 {
				// checkResponse: no response, an error whose message the client shows.
				if v.status != 1 || v.response != nil || !strings.Contains(v.errMessage, tc.errPart) {
					t.Errorf("error answer %+v, want a message with %q", v, tc.errPart)
				}
				return
			}
			// checkResponse: status 0 and a response that is not null.
			if v.status != 0 || len(v.response) == 0 || string(v.response) == "null" {
				t.Fatalf("the client reads this as a failure: %+v", v)
			}
			optional := func(name string, got *int, want int) {
				t.Helper()
				switch {
				case want == undefined && got != nil:
					t.Errorf("%s = %d, want it left out", name, *got)
				case want != undefined && (got == nil || *got != want):
					t.Errorf("%s = %v, want %d", name, fmtInt(got), want)
				}
			}
			optional("count", v.count, tc.count)
			optional("startIndex", v.startIndex, tc.startIndex)
			optional("total", v.total, tc.total)
			// nextIndex belongs to the GET filter lists; the writes and reads here leave it out.
			optional("nextIndex", v.nextIndex, undefined)
			if v.skipped != tc.skipped {
				t.Errorf("X-Skipped-Count = %q, want %q", v.skipped, tc.skipped)
			}
			if tc.ids == nil {
				return
			}
			var got []int64
			if v.response[0] == '[' {
				var recs []struct {
					ID int64 `json:"id"`
				}
				if err := json.Unmarshal(v.response, &recs); err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					got = append(got, r.ID)
				}
				if tc.count != len(recs) {
					t.Errorf("count %d for %d records", tc.count, len(recs))
				}
			} else {
				var rec struct {
					ID int64 `json:"id"`
				}
				if err := json.Unmarshal(v.response, &rec); err != nil {
					t.Fatal(err)
				}
				got = []int64{rec.ID}
			}
			if !slices.Equal(got, tc.ids) {
				t.Errorf("records %v, want %v", got, tc.ids)
			}
		})
	}
}

func fmtInt(p *int) string {
	if p == nil {
		return "undefined"
	}
	return fmt.Sprint(*p)
}
