package httpadapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/httpadapter"
)

// The records and users of testdata/portal.json, for snapshots.
var (
	portalUsers = []string{mike, admin, alice, bob}
	portalRefs  = func() []crmaccess.Ref {
		var refs []crmaccess.Ref
		for _, id := range []int64{1234, 7, 8, 40, 41, 42} {
			refs = append(refs, crmaccess.OpportunityRef(id))
		}
		for _, id := range []int64{1, 2, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23} {
			refs = append(refs, crmaccess.ContactRef(id))
		}
		return refs
	}()
	portalTokens = []string{"mike-token", "admin-token", "alice-token", "bob-token", "", "forged-token"}
)

// snapshot is every decision of every user on every record of the portal,
// and how many change records each record has: what a request could change.
func snapshot(t testing.TB, svc *crmaccess.Service) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, ref := range portalRefs {
		for _, u := range portalUsers {
			for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess} {
				d, err := svc.Check(ctx, u, ref, a)
				if err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprint(u, " ", ref, " ", a)] = fmt.Sprint(d)
			}
		}
		ch, err := svc.Changes(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint("changes ", ref)] = fmt.Sprint(len(ch))
	}
	for _, u := range portalUsers {
		ok, err := svc.IsAdmin(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		out["admin "+u] = fmt.Sprint(ok)
	}
	return out
}

func sameSnapshot(a, b map[string]string) string {
	for k, v := range a {
		if b[k] != v {
			return fmt.Sprintf("%s: %s → %s", k, v, b[k])
		}
	}
	return ""
}

// FuzzHostileRequests sends any body, Content-Type and query string, as any
// user (or none), to every endpoint, with a small body limit: the answer is
// a well-formed envelope, never a 500; an answer other than 200 changed
// nothing (no decision, no change record); and PostgreSQL answers as
// SQLite does (when CRMACCESS_POSTGRES_DSN is set).
func FuzzHostileRequests(f *testing.F) {
	f.Add(uint8(0), uint8(0), "application/json", documentedContactBody, "")
	f.Add(uint8(2), uint8(1), "application/json", `{"isPrivate":true,"accessList":["`+bob+`"]}`, "")
	f.Add(uint8(3), uint8(2), "application/json", `{"isPrivate":false}`, "")
	f.Add(uint8(1), uint8(0), "text/xml", `<r><isPrivate>true</isPrivate><tags>'; DROP TABLE casbin_rule;--</tags></r>`, "")
	f.Add(uint8(0), uint8(0), "application/x-www-form-urlencoded", "isPrivate=true&tags[]=%25&tags[]=_&managerList="+alice, "filterValue=%27%22%5C%00")
	f.Add(uint8(4), uint8(1), "application/json", `{"isPrivate":true}`, "")
	f.Add(uint8(5), uint8(0), "", `{"isPrivate":true}`, "")
	f.Add(uint8(0), uint8(3), "application/json", `{"isPrivate":true,"accessList":["`+mike+`"]}`, "opportunityid=7")
	f.Add(uint8(2), uint8(0), "application/json", `{"isPrivate":true,"managerList":["not-a-guid"],"tags":["lead"]}`, "")
	f.Add(uint8(1), uint8(0), "application/json", `{"fromDate":"2008-04-11","toDate":"2008-04-10"}`, "")
	f.Add(uint8(0), uint8(0), "application/json", `{"tags":["`+strings.Repeat("x", 3000)+`"]}`, "")
	f.Add(uint8(0), uint8(6), "application/x-www-form-urlencoded", "opportunityid%5B%5D=1234&opportunityid%5B%5D=7&isPrivate=true&accessList%5B%5D="+bob, "__=1")
	f.Add(uint8(3), uint8(7), "application/json", `{"isPrivate":true,"accessList":["`+bob+`"],"tags":["renewal"],"responsibleid":"`+mike+`"}`, "filterValue=renew")
	f.Add(uint8(3), uint8(8), "application/x-www-form-urlencoded", "contactid%5B%5D=10&contactid%5B%5D=14&contactid%5B%5D=15&isPrivate=true&accessList%5B%5D="+bob, "")
	f.Add(uint8(3), uint8(9), "application/json", `{"isShared":true,"isPrivate":false,"contactid":15}`, "")
	f.Add(uint8(2), uint8(10), "application/json", `{"isShared":false,"managerList":["`+alice+`"],"accessList":["`+bob+`"]}`, "")
	f.Add(uint8(0), uint8(11), "", "", "contactid=15")
	bs := backends(f, &httpadapter.Options{MaxBodyBytes: 2048})
	paths := []struct{ method, path string }{
		{http.MethodPut, contactPath}, {http.MethodPut, oppPath}, {http.MethodPut, "/api/2.0/crm/opportunity/7/access"},
		{http.MethodPut, "/api/2.0/crm/opportunity/8/access.json"}, {http.MethodPut, contactPath + ".xml"},
		{http.MethodPut, "/api/2.0/crm/opportunity/99999/access"},
		{http.MethodPut, oppsPath}, {http.MethodPut, oppFilterPath + ".xml"}, {http.MethodPut, contactsByIDPath},
		{http.MethodPut, "/api/2.0/crm/contact/15/access"}, {http.MethodPut, "/api/2.0/crm/contact/14/access.json"},
		{http.MethodGet, "/api/2.0/crm/contact/15/access"}, {http.MethodGet, "/api/2.0/crm/opportunity/7.xml"},
		{http.MethodGet, "/api/2.0/crm/contact/16"},
	}
	last := make([]map[string]string, len(bs)) // each backend's state after the previous input; nil after a 200
	f.Fuzz(func(t *testing.T, who, where uint8, contentType, body, query string) {
		if _, err := url.ParseRequestURI(contactPath + "?" + query); err != nil || strings.ContainsAny(query, "# ") {
			return // not a request line a client can send
		}
		e := paths[int(where)%len(paths)]
		token := portalTokens[int(who)%len(portalTokens)]
		var first int
		for i, b := range bs {
			before := last[i]
			if before == nil {
				before = snapshot(t, b.svc)
			}
			last[i] = nil
			w := b.do(t, req{method: e.method, path: e.path + "?" + query, token: token, contentType: contentType, body: body})
			switch w.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
				http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("%s: %s %s as %q, %q %q ?%s: status %d %s", b.name, e.method, e.path, token, contentType, body, query, w.Code, w.Body.String())
			}
			if strings.HasSuffix(e.path, ".xml") {
				if !strings.HasPrefix(w.Body.String(), "<result>") {
					t.Fatalf("%s: not an XML envelope: %s", b.name, w.Body.String())
				}
			} else {
				var env struct {
					StatusCode int `json:"statusCode"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.StatusCode != w.Code {
					t.Fatalf("%s: envelope %s (%v) for status %d", b.name, w.Body.String(), err, w.Code)
				}
			}
			if w.Code != http.StatusOK {
				after := snapshot(t, b.svc)
				if d := sameSnapshot(before, after); d != "" {
					t.Fatalf("%s: %s %s as %q, %q %q ?%s answered %d but changed %s", b.name, e.method, e.path, token, contentType, body, query, w.Code, d)
				}
				last[i] = after
			}
			if i == 0 {
				first = w.Code
			} else if w.Code != first {
				t.Fatalf("%s %s as %q, %q %q ?%s: %s answered %d, %s %d: %s", e.method, e.path, token, contentType, body, query,
					bs[0].name, first, b.name, w.Code, w.Body.String())
			}
		}
	})
}
