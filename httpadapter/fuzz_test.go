package httpadapter_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequestParsing sends arbitrary bodies in each encoding, and arbitrary
// query strings, to both endpoints: the answer is always a well-formed
// envelope with 200, 400 or 404 (a hidden or missing opportunity), never a
// 500 or a panic.
func FuzzRequestParsing(f *testing.F) {
	f.Add("application/json", documentedContactBody, "")
	f.Add("application/json", documentedOpportunityBody, "startIndex=1&count=2")
	f.Add("text/xml", `<r><isPrivate>true</isPrivate><tags>lead</tags><tags>vip</tags><fromDate>2008-04-10</fromDate></r>`, "")
	f.Add("application/xml", `<r><managerList><g>`+mike+`</g></managerList></r>`, "filterValue=lea")
	f.Add("application/x-www-form-urlencoded", "isPrivate=true&tags[]=lead&contactListView=2&toDate=2008-04-10T06-30-00.000%2B02:00", "")
	f.Add("", `{"contactStage":-1,"contactType":"3","toDate":"2008-04-10T06:30:00.1234567Z"}`, "isPrivate=false")
	f.Add("application/json", `{"fromDate":"2008-04-10T06-30-00","toDate":null,"tags":null}`, "count=0")
	p := newPortal(f, nil, nil)
	f.Fuzz(func(t *testing.T, contentType, body, query string) {
		if _, err := url.ParseRequestURI(contactPath + "?" + query); err != nil || strings.ContainsAny(query, "# ") {
			return // not a request line a client can send
		}
		for _, path := range []string{contactPath, oppPath, "/api/2.0/crm/opportunity/7/access"} {
			w := p.do(t, req{path: path + "?" + query, token: "mike-token", contentType: contentType, body: body})
			switch w.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
			default:
				t.Fatalf("%s %q %q %q: status %d %s", path, contentType, body, query, w.Code, w.Body.String())
			}
			var env map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
				t.Fatalf("not a JSON envelope: %v: %s", err, w.Body.String())
			}
			if int(env["statusCode"].(float64)) != w.Code {
				t.Fatalf("envelope statusCode %v, status %d", env["statusCode"], w.Code)
			}
		}
	})
}
