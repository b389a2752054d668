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
// user (or none), to both endpoints, with a small body limit: the answer is
// a well-formed envelope, never a 500; and an answer other than 200 changed
// nothing (no decision, no change record).
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
	p := newPortal(f, &httpadapter.Options{MaxBodyBytes: 2048}, nil)
	paths := []string{contactPath, oppPath, "/api/2.0/crm/opportunity/7/access", "/api/2.0/crm/opportunity/8/access.json",
		contactPath + ".xml", "/api/2.0/crm/opportunity/99999/access"}
	var last map[string]string // the state after the previous input; nil after a 200
	f.Fuzz(func(t *testing.T, who, where uint8, contentType, body, query string) {
		if _, err := url.ParseRequestURI(contactPath + "?" + query); err != nil || strings.ContainsAny(query, "# ") {
			return // not a request line a client can send
		}
		path := paths[int(where)%len(paths)]
		token := portalTokens[int(who)%len(portalTokens)]
		before := last
		if before == nil {
			before = snapshot(t, p.svc)
		}
		last = nil
		w := p.do(t, req{path: path + "?" + query, token: token, contentType: contentType, body: body})
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%s as %q, %q %q ?%s: status %d %s", path, token, contentType, body, query, w.Code, w.Body.String())
		}
		if strings.HasSuffix(path, ".xml") {
			if !strings.HasPrefix(w.Body.String(), "<result>") {
				t.Fatalf("not an XML envelope: %s", w.Body.String())
			}
		} else {
			var env struct {
				StatusCode int `json:"statusCode"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.StatusCode != w.Code {
				t.Fatalf("envelope %s (%v) for status %d", w.Body.String(), err, w.Code)
			}
		}
		if w.Code != http.StatusOK {
			after := snapshot(t, p.svc)
			if d := sameSnapshot(before, after); d != "" {
				t.Fatalf("%s as %q, %q %q ?%s answered %d but changed %s", path, token, contentType, body, query, w.Code, d)
			}
			last = after
		}
	})
}
