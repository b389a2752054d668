package httpadapter_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess/httpadapter"
)

// manyEntries is a JSON list of n copies of s.
func manyEntries(n int, s string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(jsonString(s)+",", n), ",") + "]"
}

// TestStrictInputIsRefusedAndChangesNothing: each rule of SPEC §4 "Strict
// input", on a request that an admin could otherwise carry out (so a
// request that got through would show in the state): the answer is 400 with
// a message naming the problem, and the database and every decision are as
// before.
func TestStrictInputIsRefusedAndChangesNothing(t *testing.T) {
	p := newFilePortal(t, nil, nil)
	const (
		jsonCT = "application/json"
		formCT = "application/x-www-form-urlencoded"
		xmlCT  = "text/xml"
	)
	cases := []struct {
		rule, name        string
		path              string
		contentType, body string
		names             string // the message must contain this
	}{
		// 1. A parameter the endpoint does not know.
		{"unknown name", "misspelled isPrivate", oppPath, jsonCT, `{"is_private":true,"accessList":["` + bob + `"]}`, `"is_private"`},
		{"unknown name", "tag for tags", contactPath, jsonCT, `{"isPrivate":true,"tag":["lead"]}`, `"tag"`},
		{"unknown name", "tag[] for tags in a form", contactPath, formCT, `isPrivate=true&tag[]=lead`, `"tag"`},
		{"unknown name", "in the query string", contactPath + "?isPrivate=true&tagz=lead", "", "", `"tagz"`},
		{"unknown name", "in XML", oppPath, xmlCT, `<r><isPrivate>true</isPrivate><acessList>` + bob + `</acessList></r>`, `"acessList"`},
		{"unknown name", "the other endpoint's list", contactPath, jsonCT, `{"isPrivate":true,"accessList":["` + bob + `"]}`, `"accessList"`},
		{"unknown name", "a filter on the opportunity endpoint", oppPath, jsonCT, `{"isPrivate":false,"tags":["lead"]}`, `"tags"`},
		{"unknown name", "several, all named", contactPath, jsonCT, `{"isPrivate":true,"tag":["lead"],"stage":3}`, `"stage", "tag"`},
		{"unknown name", "overridden by the query string", contactPath + "?tags=lead", jsonCT, `{"isPrivate":true,"tag":"vip"}`, `"tag"`},
		{"unknown name", "a NUL in a name", oppPath, jsonCT, `{"isPrivate\u0000":true}`, `"isPrivate\x00"`},

		// 2. A body that is not what its Content-Type says.
		{"Content-Type", "JSON sent as a form (curl -d)", oppPath, formCT, `{"isPrivate":true,"accessList":["` + bob + `"]}`, "looks like JSON"},
		{"Content-Type", "JSON sent as a form, contacts", contactPath, formCT, `{"isPrivate":true,"tags":["lead"]}`, "looks like JSON"},
		{"Content-Type", "a form sent as JSON", contactPath, jsonCT, `isPrivate=true&tags=lead`, "looks like a form"},
		{"Content-Type", "XML sent as JSON", oppPath, jsonCT, `<r><isPrivate>true</isPrivate></r>`, "looks like XML"},
		{"Content-Type", "JSON sent as XML", oppPath, xmlCT, `{"isPrivate":true}`, "looks like JSON"},
		{"Content-Type", "a form sent as XML", oppPath, "application/xml", `isPrivate=true`, "looks like a form"},
		{"Content-Type", "none, with a JSON body", oppPath, "", `{"isPrivate":true,"accessList":["` + bob + `"]}`, "no Content-Type"},
		{"Content-Type", "none, with a form body", contactPath, "", `isPrivate=true&tags=lead`, "no Content-Type"},

		// 3. A null entry in a list.
		{"null entry", "accessList [null]", oppPath, jsonCT, `{"isPrivate":true,"accessList":[null]}`, "accessList: entry 1 is null"},
		{"null entry", "managerList with a null", contactPath, jsonCT, `{"isPrivate":true,"tags":["lead"],"managerList":["` + bob + `",null]}`, "managerList: entry 2 is null"},
		{"null entry", "tags [null]", contactPath, jsonCT, `{"isPrivate":true,"tags":[null]}`, "tags: entry 1 is null"},
		{"null entry", "isPrivate [null]", oppPath, jsonCT, `{"isPrivate":[null],"accessList":["` + bob + `"]}`, "isPrivate"},
		{"null entry", "an empty XML entry", oppPath, xmlCT, `<r><isPrivate>true</isPrivate><accessList><g>` + bob + `</g><g /></accessList></r>`, "accessList: entry 2 is null"},
		{"null entry", "an empty repeated XML element", contactPath, xmlCT, `<r><isPrivate>true</isPrivate><tags>lead</tags><tags/></r>`, "tags: entry 2 is null"},
		{"null entry", "overridden by the query string", contactPath + "?tags=lead", jsonCT, `{"isPrivate":true,"tags":[null]}`, "tags: entry 1 is null"},
		{"null entry", "in an ignored presentation key", oppPath, jsonCT, `{"isPrivate":false,"fields":["id",null]}`, "fields: entry 2 is null"},

		// 3. A NUL character in any text.
		{"NUL", "in a tag", contactPath, jsonCT, `{"isPrivate":true,"tags":["lead\u0000"]}`, "tags"},
		{"NUL", "a tag that is only NUL", contactPath, jsonCT, `{"isPrivate":true,"tags":["\u0000"]}`, "tags"},
		{"NUL", "in a form tag", contactPath, formCT, `isPrivate=true&tags=lead%00`, "tags"},
		{"NUL", "in the search text", contactPath + "?filterValue=" + url.QueryEscape("a\x00"), jsonCT, `{"isPrivate":true}`, "filterValue"},
		{"NUL", "in a list entry", oppPath, jsonCT, `{"isPrivate":true,"accessList":["` + bob + `\u0000"]}`, "accessList"},
		{"NUL", "in isPrivate", oppPath, formCT, `isPrivate=true%00&accessList=` + bob, "isPrivate"},
		{"NUL", "in a date", contactPath, jsonCT, `{"isPrivate":true,"toDate":"2008-04-10\u0000"}`, "toDate"},
		{"NUL", "in an ignored presentation key", contactPath + "?__=1%00", jsonCT, `{"isPrivate":true}`, "__"},

		// 3. A year outside 1 to 9999.
		{"year", "toDate in year 0", contactPath, jsonCT, `{"isPrivate":true,"toDate":"0000-12-31"}`, "toDate"},
		{"year", "fromDate in year 0", contactPath, jsonCT, `{"isPrivate":true,"fromDate":"0000-01-01T00:00:00Z"}`, "fromDate"},
		{"year", "toDate in year 0, documented format", contactPath, formCT, `isPrivate=true&toDate=0000-04-10T06-30-00.000Z`, "toDate"},
		{"year", "five digits", contactPath, jsonCT, `{"isPrivate":true,"toDate":"10000-01-01"}`, "toDate"},

		// 3. A list longer than the maximum.
		{"list length", "1,001 tags", contactPath, jsonCT, `{"isPrivate":false,"tags":` + manyEntries(httpadapter.DefaultMaxListLength+1, "lead") + `}`, "tags"},
		{"list length", "1,001 accessList entries", oppPath, jsonCT, `{"isPrivate":true,"accessList":` + manyEntries(httpadapter.DefaultMaxListLength+1, bob) + `}`, "accessList"},
		{"list length", "1,001 managers in a form", contactPath, formCT, "isPrivate=true&tags=lead" + strings.Repeat("&managerList[]="+bob, httpadapter.DefaultMaxListLength+1), "managerList"},
	}
	for _, tc := range cases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			tables, decisions := p.tables(t), snapshot(t, p.svc)
			for _, suffix := range []string{"", ".xml"} {
				path, query, _ := strings.Cut(tc.path, "?")
				if query != "" {
					query = "?" + query
				}
				w := p.do(t, req{path: path + suffix + query, token: "admin-token", contentType: tc.contentType, body: tc.body})
				if suffix == ".xml" {
					if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "<statusCode>400</statusCode>") {
						t.Errorf("XML: %d %s", w.Code, w.Body.String())
					}
					continue
				}
				a := decode(t, w, http.StatusBadRequest)
				if !strings.Contains(a.Error.Message, tc.names) {
					t.Errorf("message %q does not name %q", a.Error.Message, tc.names)
				}
			}
			p.unchanged(t, tc.name, tables, decisions)
		})
	}
}

// TestStrictInputStillTakesWhatClientsSend: the presentation keys
// ONLYOFFICE's client adds are ignored wherever they come; names match in
// any case; key[] is a list; a list of exactly the maximum passes; and the
// maximum is configurable.
func TestStrictInputStillTakesWhatClientsSend(t *testing.T) {
	presentation := "__=1732890000000&sortBy=title&sortOrder=ascending&fields=id,title&startIndex=0&count=25&filterValue="
	t.Run("presentation keys on the opportunity endpoint", func(t *testing.T) {
		p := newPortal(t, nil, nil)
		for _, r := range []req{
			{path: oppPath + "?" + presentation, contentType: "application/json", body: `{"isPrivate":true,"accessList":["` + alice + `"]}`},
			{path: oppPath, contentType: "application/x-www-form-urlencoded", body: presentation + "&isPrivate=true&accessList[]=" + alice},
			{path: oppPath, contentType: "application/json", body: `{"__":1,"SORTBY":"x","sortOrder":"descending","fields":"id","startIndex":0,"count":2,"filterValue":"x","isPrivate":true,"accessList":["` + alice + `"]}`},
		} {
			r.token = "mike-token"
			o := decodeOpportunity(t, p.do(t, r))
			if !o.IsPrivate || !slices.Equal(userIDs(o.AccessList), []string{mike, alice}) {
				t.Errorf("%s %s: private %v, list %v", r.path, r.body, o.IsPrivate, userIDs(o.AccessList))
			}
		}
	})
	t.Run("presentation keys on the contact filter", func(t *testing.T) {
		p := newPortal(t, nil, nil)
		cs := decodeContacts(t, p.do(t, req{path: contactPath + "?__=1&SortBy=displayName&sortorder=ascending&fields=id", token: "admin-token",
			contentType: "application/json", body: `{"isPrivate":true,"Tags":["lead"],"managerList":["` + bob + `"],"__":"2"}`}))
		if got := contactIDs(cs); !slices.Equal(got, []int64{10, 11, 12, 13, 14, 15}) {
			t.Errorf("matched %v", got)
		}
	})
	t.Run("a list of exactly the maximum", func(t *testing.T) {
		p := newPortal(t, nil, nil)
		decode(t, p.putJSON(t, contactPath, `{"tags":`+manyEntries(httpadapter.DefaultMaxListLength, "lead")+`}`), http.StatusOK)
		decode(t, p.putJSON(t, oppPath, `{"isPrivate":true,"accessList":`+manyEntries(httpadapter.DefaultMaxListLength, alice)+`}`), http.StatusOK)
	})
	t.Run("a configured maximum", func(t *testing.T) {
		p := newPortal(t, &httpadapter.Options{MaxListLength: 2}, nil)
		decode(t, p.putJSON(t, oppPath, `{"isPrivate":true,"accessList":["`+alice+`","`+bob+`"]}`), http.StatusOK)
		a := decode(t, p.putJSON(t, oppPath, `{"isPrivate":true,"accessList":["`+alice+`","`+bob+`","`+admin+`"]}`), http.StatusBadRequest)
		if !strings.Contains(a.Error.Message, "accessList") || !strings.Contains(a.Error.Message, "at most 2") {
			t.Errorf("message %q", a.Error.Message)
		}
		if s := p.opportunityState(t, 1234); !slices.Equal(s.AccessList, []string{mike, alice, bob}) {
			t.Errorf("the refused list was stored: %v", s.AccessList)
		}
	})
}

// TestDatesAtTheEndsOfTheCalendar: toDate 0001-01-01 bounds that day (it is
// the zero instant, which crmaccess reads as no bound), however it is
// written; year 9999 is a bound too.
func TestDatesAtTheEndsOfTheCalendar(t *testing.T) {
	p := newPortal(t, nil, nil)
	for _, tc := range []struct {
		from, to string
		want     []int64
	}{
		{"", "0001-01-01", []int64{}},
		{"", "0001-01-01T00:00:00Z", []int64{}},
		{"", "0001-01-01T10:00:00+10:00", []int64{}},
		{"", "0001-01-01T00-00-00.0000000Z", []int64{}},
		{"0001-01-01", "", []int64{20, 21, 22, 23}},
		{"", "9999-12-31", []int64{20, 21, 22, 23}},
		{"", "9999-12-31T23:59:59.9999999-23:59", []int64{20, 21, 22, 23}},
		{"9999-12-31T23:59:59.9999999+23:59", "", []int64{}},
	} {
		body := fmt.Sprintf(`{"tags":["dated"],"fromDate":%q,"toDate":%q}`, tc.from, tc.to)
		cs := decodeContacts(t, p.putJSON(t, contactPath, body))
		if got := contactIDs(cs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: matched %v, want %v", body, got, tc.want)
		}
	}
}
