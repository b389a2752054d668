package httpadapter_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/httpadapter"
)

// TestOpportunityBodyEncodings: the same request in JSON, XML (any root,
// repeated or nested list entries) and form encoding (repeated keys, key[])
// has the same effect. (A body without a Content-Type is refused: see
// TestStrictInputIsRefusedAndChangesNothing.)
func TestOpportunityBodyEncodings(t *testing.T) {
	want := []string{mike, alice, bob}
	for _, tc := range []struct{ name, contentType, body string }{
		{"JSON", "application/json", `{"isPrivate":true,"accessList":["` + alice + `","{` + strings.ToUpper(bob) + `}"]}`},
		{"JSON with charset", "application/json; charset=utf-8", `{"isPrivate":true,"accessList":["` + alice + `","` + bob + `"]}`},
		{"XML repeated elements", "text/xml", `<request><isPrivate>true</isPrivate><accessList>` + alice + `</accessList><accessList>` + bob + `</accessList></request>`},
		{"XML nested entries", "application/xml", `<?xml version="1.0"?><anything a="b"><isPrivate>true</isPrivate><accessList><guid>` + alice + `</guid><guid>` + bob + `</guid></accessList></anything>`},
		{"form repeated keys", "application/x-www-form-urlencoded", "isPrivate=true&accessList=" + alice + "&accessList=" + bob},
		{"form key[]", "application/x-www-form-urlencoded", "isPrivate=true&accessList%5B%5D=" + alice + "&accessList[]=" + bob},
		{"names in any case", "application/json", `{"ISPRIVATE":true,"AccessList":["` + alice + `","` + bob + `"]}`},
		{"isPrivate as a word", "application/json", `{"isPrivate":"True","accessList":["` + alice + `","` + bob + `"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPortal(t, nil, nil)
			o := decodeOpportunity(t, p.do(t, req{path: oppPath, token: "mike-token", contentType: tc.contentType, body: tc.body}))
			if !o.IsPrivate || !slices.Equal(userIDs(o.AccessList), want) || !o.CanEdit {
				t.Errorf("answer: private %v, list %v, canEdit %v", o.IsPrivate, userIDs(o.AccessList), o.CanEdit)
			}
			if s := p.opportunityState(t, 1234); !s.IsPrivate || !slices.Equal(s.AccessList, want) {
				t.Errorf("stored: private %v, list %v", s.IsPrivate, s.AccessList)
			}
		})
	}
}

// TestMissingValuesMeanPublic: isPrivate missing is false, and lists that
// are missing, null or empty are empty, which makes the record public.
func TestMissingValuesMeanPublic(t *testing.T) {
	for _, tc := range []struct{ name, contentType, body string }{
		{"no body", "", ""},
		{"empty object", "application/json", `{}`},
		{"isPrivate without a list", "application/json", `{"isPrivate":true}`},
		{"null list", "application/json", `{"isPrivate":true,"accessList":null}`},
		{"empty list", "application/json", `{"isPrivate":true,"accessList":[]}`},
		{"null isPrivate", "application/json", `{"isPrivate":null,"accessList":["` + alice + `"]}`},
		{"empty XML elements", "text/xml", `<r><isPrivate>true</isPrivate><accessList /></r>`},
		{"empty form value", "application/x-www-form-urlencoded", `isPrivate=&accessList=` + alice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPortal(t, nil, nil)
			p.putJSON(t, oppPath, `{"isPrivate":true,"accessList":["`+alice+`"]}`)
			o := decodeOpportunity(t, p.do(t, req{path: oppPath, token: "mike-token", contentType: tc.contentType, body: tc.body}))
			if o.IsPrivate || o.AccessList != nil {
				t.Errorf("answer: private %v, list %v; want public without accessList", o.IsPrivate, o.AccessList)
			}
			if s := p.opportunityState(t, 1234); s.IsPrivate {
				t.Error("stored: still private")
			}
		})
	}
}

// TestParameterPrecedence: the route wins over the query string, which wins
// over the body; names match in any case across sources.
func TestParameterPrecedence(t *testing.T) {
	p := newPortal(t, nil, nil)

	// The route's id wins over an id in the query string and the body.
	o := decodeOpportunity(t, p.do(t, req{
		path: oppPath + "?opportunityId=8", token: "mike-token", contentType: "application/json",
		body: `{"opportunityid":8,"isPrivate":true,"accessList":["` + alice + `"]}`,
	}))
	if o.ID != 1234 || !o.IsPrivate {
		t.Fatalf("acted on %d (private %v), want 1234", o.ID, o.IsPrivate)
	}

	// The query string's isPrivate (any case) wins over the body's.
	o = decodeOpportunity(t, p.do(t, req{
		path: oppPath + "?ISPRIVATE=false", token: "mike-token", contentType: "application/json",
		body: `{"isPrivate":true,"accessList":["` + alice + `"]}`,
	}))
	if o.IsPrivate {
		t.Error("the body's isPrivate won over the query string's")
	}

	// A list in the query string replaces the body's list whole.
	o = decodeOpportunity(t, p.do(t, req{
		path: oppPath + "?accesslist=" + bob + "&isPrivate=true", token: "mike-token", contentType: "application/json",
		body: `{"accessList":["` + alice + `"]}`,
	}))
	if got := userIDs(o.AccessList); !slices.Equal(got, []string{mike, bob}) {
		t.Errorf("accessList %v, want the query's with the actor", got)
	}

	// Everything from the query string alone.
	cs := decodeContacts(t, p.do(t, req{path: contactPath + "?isPrivate=true&tags[]=dated&managerList=" + alice, token: "admin-token"}))
	if got := contactIDs(cs); !slices.Equal(got, []int64{20, 21, 22, 23}) {
		t.Errorf("query-only filter matched %v", got)
	}
}

// TestContactFilterParameters: each filter parameter through the wire.
func TestContactFilterParameters(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []int64
	}{
		{"tags, any case and spaces", `{"tags":[" LEAD "]}`, []int64{10, 11, 12, 13, 14}},
		{"tags all required", `{"tags":["lead","VIP"]}`, []int64{13}},
		{"contactStage", `{"tags":["lead"],"contactStage":3}`, []int64{13}},
		{"contactStage 0 is no stage", `{"tags":["lead"],"contactStage":0}`, []int64{10, 11, 12, 14}},
		{"contactStage null is any", `{"tags":["lead"],"contactStage":null}`, []int64{10, 11, 12, 13, 14}},
		{"contactStage negative is any", `{"tags":["lead"],"contactStage":-1}`, []int64{10, 11, 12, 13, 14}},
		{"contactStage as text", `{"tags":["lead"],"contactStage":"3"}`, []int64{13}},
		{"contactStage empty text is any", `{"tags":["lead"],"contactStage":""}`, []int64{10, 11, 12, 13, 14}},
		{"contactType", `{"tags":["lead"],"contactType":4}`, []int64{13}},
		{"contactListView company", `{"tags":["lead"],"contactListView":"Company"}`, []int64{12}},
		{"contactListView person by number", `{"tags":["lead"],"contactListView":2}`, []int64{10, 11, 13, 14}},
		{"contactListView person as text", `{"tags":["lead"],"contactListView":"2"}`, []int64{10, 11, 13, 14}},
		{"contactListView withopportunity", `{"contactListView":"WITHOPPORTUNITY"}`, []int64{2}},
		{"contactListView null is all", `{"tags":["lead"],"contactListView":null}`, []int64{10, 11, 12, 13, 14}},
		{"filterValue in the body", `{"tags":["lead"],"filterValue":"WORKS"}`, []int64{12}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPortal(t, nil, nil)
			cs := decodeContacts(t, p.putJSON(t, contactPath, tc.body))
			if got := contactIDs(cs); !slices.Equal(got, tc.want) {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("filterValue in the query string", func(t *testing.T) {
		p := newPortal(t, nil, nil)
		cs := decodeContacts(t, p.putJSON(t, contactPath+"?filterValue=lou+lea", `{"tags":["lead"]}`))
		if got := contactIDs(cs); !slices.Equal(got, []int64{13}) {
			t.Errorf("matched %v, want [13]", got)
		}
	})
}

// TestContactBodyEncodings: the documented contact request in XML and form
// encoding matches like the JSON one.
func TestContactBodyEncodings(t *testing.T) {
	for _, tc := range []struct{ name, contentType, body string }{
		{"XML", "text/xml", `<request><isPrivate>true</isPrivate><managerList>` + alice + `</managerList><managerList>` + bob + `</managerList>` +
			`<tags>dated</tags><contactStage /><contactType></contactType><contactListView>person</contactListView>` +
			`<fromDate>2008-04-10T06-30-00.000Z</fromDate><toDate>2008-04-10T06-30-00.000Z</toDate></request>`},
		{"form", "application/x-www-form-urlencoded", "isPrivate=true&managerList[]=" + alice + "&managerList[]=" + bob +
			"&tags=dated&contactStage=&contactListView=Person&fromDate=2008-04-10T06-30-00.000Z&toDate=2008-04-10T06-30-00.000Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPortal(t, nil, nil)
			cs := decodeContacts(t, p.do(t, req{path: contactPath, token: "admin-token", contentType: tc.contentType, body: tc.body}))
			if got := contactIDs(cs); !slices.Equal(got, []int64{21, 22}) {
				t.Fatalf("matched %v, want [21 22]", got)
			}
			for _, c := range cs {
				if !c.IsPrivate || c.IsShared || c.ShareType != 0 || !slices.Equal(userIDs(c.AccessList), []string{alice, bob}) {
					t.Errorf("contact %d: private %v shared %v shareType %d list %v", c.ID, c.IsPrivate, c.IsShared, c.ShareType, userIDs(c.AccessList))
				}
			}
		})
	}
}

// TestDateFormats: every accepted date format selects the contacts created
// on 2008-04-10 from 06:30 UTC on (20 is a second early, 23 the next day).
func TestDateFormats(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string
		loc      *time.Location
		want     []int64
	}{
		{"documented dashes", "2008-04-10T06-30-00.000Z", "2008-04-10T06-30-00.000Z", nil, []int64{21, 22}},
		{"colons", "2008-04-10T06:30:00.000Z", "2008-04-10T06:30:00.000Z", nil, []int64{21, 22}},
		{"no fraction", "2008-04-10T06:30:00Z", "2008-04-10T00:00:00Z", nil, []int64{21, 22}},
		{"seven digits", "2008-04-10T06:30:00.0000000Z", "2008-04-10T12:00:00.1234567Z", nil, []int64{21, 22}},
		{"one digit", "2008-04-10T06:30:00.0Z", "2008-04-10T12:00:00.5Z", nil, []int64{21, 22}},
		{"offsets", "2008-04-10T08:30:00+02:00", "2008-04-10T01:00:00+01:00", nil, []int64{21}},
		{"negative offset", "2008-04-10T01-30-00.000-05:00", "2008-04-10T00:00:00-05:00", nil, []int64{21, 22, 23}},
		{"date only", "2008-04-10", "2008-04-10", nil, []int64{20, 21, 22}},
		{"no zone is UTC by default", "2008-04-10T06:30:00", "2008-04-10", nil, []int64{21, 22}},
		{"no zone is the configured location", "2008-04-10T08:30:00", "2008-04-10", time.FixedZone("UTC+2", 2*3600), []int64{21}},
		{"empty means no bound", "", "", nil, []int64{20, 21, 22, 23}},
		{"only fromDate", "2008-04-10T23:59:59Z", "", nil, []int64{22, 23}},
		{"only toDate", "", "2008-04-10T06:29:59Z", nil, []int64{20, 21, 22}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPortal(t, &httpadapter.Options{Location: tc.loc}, nil)
			body := `{"tags":["dated"],"fromDate":"` + tc.from + `","toDate":"` + tc.to + `"}`
			cs := decodeContacts(t, p.putJSON(t, contactPath, body))
			if got := contactIDs(cs); !slices.Equal(got, tc.want) {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDatesOut: dates are written with seven fractional digits, in UTC by
// default and in the configured location otherwise.
func TestDatesOut(t *testing.T) {
	p := newPortal(t, nil, nil)
	o := decodeOpportunity(t, p.putJSON(t, oppPath, `{}`))
	if o.Created != "2019-08-21T11:39:04.9614433Z" {
		t.Errorf("created %q", o.Created)
	}
	cs := decodeContacts(t, p.putJSON(t, contactPath, `{"tags":["dated"]}`))
	if cs[0].Created != "2008-04-10T06:29:59.0000000Z" {
		t.Errorf("created %q", cs[0].Created)
	}
	q := newPortal(t, &httpadapter.Options{Location: time.FixedZone("", 2*3600)}, nil)
	cs = decodeContacts(t, q.putJSON(t, contactPath, `{"tags":["dated"]}`))
	if cs[0].Created != "2008-04-10T08:29:59.0000000+02:00" {
		t.Errorf("created in +02:00: %q", cs[0].Created)
	}
}

// TestPaging: startIndex and count page the returned list only; every
// match is changed, and the answer reports startIndex and total.
func TestPaging(t *testing.T) {
	for _, tc := range []struct {
		query      string
		want       []int64
		startIndex int
	}{
		{"?startIndex=1&count=2", []int64{11, 12}, 1},
		{"?count=2", []int64{10, 11}, 0},
		{"?startIndex=3", []int64{13, 14}, 3},
		{"?StartIndex=4&Count=10", []int64{14}, 4},
		{"?startIndex=9", []int64{}, 9},
		{"?count=0", []int64{}, 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			p := newPortal(t, nil, nil)
			w := p.putJSON(t, contactPath+tc.query, `{"isPrivate":true,"tags":["lead"],"managerList":["`+bob+`"]}`)
			a := decode(t, w, http.StatusOK)
			cs := decodeContacts(t, w)
			if got := contactIDs(cs); !slices.Equal(got, tc.want) {
				t.Errorf("page %v, want %v", got, tc.want)
			}
			if a.Total == nil || *a.Total != 5 || a.StartIndex == nil || *a.StartIndex != tc.startIndex {
				t.Errorf("total %v startIndex %v, want 5 and %d", a.Total, a.StartIndex, tc.startIndex)
			}
			if n := len(tc.want); (n == 0 && a.Count != nil) || (n > 0 && (a.Count == nil || *a.Count != n)) {
				t.Errorf("count %v, want %d (left out when 0)", a.Count, n)
			}
			for _, id := range []int64{10, 11, 12, 13, 14} {
				if c := p.contactState(t, id); c.ShareType != crmaccess.ShareNone {
					t.Errorf("contact %d was not changed", id)
				}
			}
		})
	}
	t.Run("unpaged answer has no startIndex or total", func(t *testing.T) {
		p := newPortal(t, nil, nil)
		a := decode(t, p.putJSON(t, contactPath, `{"tags":["lead"]}`), http.StatusOK)
		if a.StartIndex != nil || a.Total != nil || a.Count == nil || *a.Count != 5 {
			t.Errorf("startIndex %v total %v count %v", a.StartIndex, a.Total, a.Count)
		}
	})
	t.Run("paging comes from the query string only", func(t *testing.T) {
		p := newPortal(t, nil, nil)
		a := decode(t, p.putJSON(t, contactPath, `{"tags":["lead"],"count":1,"startIndex":2}`), http.StatusOK)
		if a.Count == nil || *a.Count != 5 || a.Total != nil {
			t.Errorf("a body's count paged the answer: count %v total %v", a.Count, a.Total)
		}
	})
}

// TestSkippedCount: contacts the caller may read but not edit are skipped,
// left unchanged and counted in X-Skipped-Count; those the caller may not
// even read are not counted (SPEC §3).
func TestSkippedCount(t *testing.T) {
	p := newPortal(t, nil, nil)
	// Bob may read contact 14 (shared Read) but not edit it; contact 15 is
	// private to alice, hidden from him.
	bobs := p.do(t, req{path: contactPath, token: "bob-token", contentType: "application/json",
		body: `{"isPrivate":false,"tags":["lead"]}`})
	if got := bobs.Header().Get("X-Skipped-Count"); got != "1" {
		t.Errorf("bob: X-Skipped-Count %q, want 1 (contact 14 is shared read-only; 15 is hidden)", got)
	}
	w := p.putJSON(t, contactPath, `{"isPrivate":true,"tags":["lead"],"managerList":["`+bob+`"]}`)
	if got := w.Header().Get("X-Skipped-Count"); got != "0" {
		t.Errorf("X-Skipped-Count %q, want 0 (contact 15 is private to alice: hidden, not counted)", got)
	}
	cs := decodeContacts(t, w)
	if got := contactIDs(cs); !slices.Equal(got, []int64{10, 11, 12, 13, 14}) {
		t.Errorf("answered %v", got)
	}
	// Contacts private to bob: mike is not on their list (not added, as in
	// ONLYOFFICE), so he may neither edit nor delete them any more.
	for _, c := range cs {
		if c.CanEdit || c.CanDelete || !slices.Equal(userIDs(c.AccessList), []string{bob}) {
			t.Errorf("contact %d: canEdit %v canDelete %v list %v", c.ID, c.CanEdit, c.CanDelete, userIDs(c.AccessList))
		}
	}
	if c := p.contactState(t, 15); c.ShareType != crmaccess.ShareNone || !slices.Equal(c.ManagerList, []string{alice}) {
		t.Errorf("the skipped contact changed: %v %v", c.ShareType, c.ManagerList)
	}
	w = p.do(t, req{path: contactPath, token: "admin-token", contentType: "application/json", body: `{"tags":["lead"]}`})
	if got := w.Header().Get("X-Skipped-Count"); got != "0" {
		t.Errorf("admin: X-Skipped-Count %q, want 0", got)
	}
	if cs := decodeContacts(t, w); len(cs) != 6 || !cs[5].IsShared || cs[5].ShareType != 1 || cs[5].AccessList != nil {
		t.Errorf("admin made the leads public: %+v", cs)
	}
}

// TestRelatedRecordsTheCallerCannotRead: a main contact or a company the
// caller may not read renders as null; readable ones render as objects.
func TestRelatedRecordsTheCallerCannotRead(t *testing.T) {
	p := newPortal(t, nil, nil)
	// Bob is responsible for opportunity 8; its contact 15 is private to alice.
	w := p.do(t, req{path: "/api/2.0/crm/opportunity/8/access", token: "alice-token", contentType: "application/json", body: `{}`})
	if o := decodeOpportunity(t, w); o.Contact == nil || o.Contact.ID != 15 {
		t.Errorf("alice sees contact %v, want 15", o.Contact)
	}
	w = p.do(t, req{path: "/api/2.0/crm/opportunity/8/access", token: "admin-token", contentType: "application/json", body: `{}`})
	if o := decodeOpportunity(t, w); o.Contact == nil || o.CanEdit != true {
		t.Errorf("admin: contact %v canEdit %v", o.Contact, o.CanEdit)
	}
	// Contact 13's company 12 is shared; contact 14's company 16 is private to alice.
	cs := decodeContacts(t, p.putJSON(t, contactPath, `{"tags":["lead"],"contactListView":"person"}`))
	companies := map[int64]any{}
	for _, c := range cs {
		if c.Company != nil {
			companies[c.ID] = c.Company.ID
		} else {
			companies[c.ID] = nil
		}
	}
	if companies[13] != int64(12) || companies[14] != nil {
		t.Errorf("companies %v, want 13→12 and 14→null", companies)
	}
	if !strings.Contains(p.putJSON(t, contactPath, `{"tags":["lead"],"contactListView":"person"}`).Body.String(), `"company":null`) {
		t.Error("an unreadable company is not written as null")
	}
}

// TestSuffixAndAcceptChooseTheFormat: .xml and .json suffixes decide;
// otherwise Accept does, JSON being the default.
func TestSuffixAndAcceptChooseTheFormat(t *testing.T) {
	p := newPortal(t, nil, nil)
	for _, tc := range []struct {
		suffix, accept string
		xml            bool
	}{
		{"", "", false},
		{".json", "", false},
		{".xml", "", true},
		{".xml", "application/json", true},
		{".json", "text/xml", false},
		{"", "text/xml", true},
		{"", "application/xml", true},
		{"", "application/json", false},
		{"", "*/*", false},
		{"", "text/*", true},
		{"", "application/json, text/xml", false},
		{"", "text/xml, application/json", true},
		{"", "application/json;q=0.5, text/xml", true},
		{"", "text/xml;q=0.1, */*", false},
		{"", "text/html", false},
		{"", "application/xml;q=0", false},
	} {
		for path, body := range map[string]string{oppPath: `{}`, contactPath: `{"tags":["lead"]}`} {
			w := p.do(t, req{path: path + tc.suffix, token: "mike-token", accept: tc.accept, contentType: "application/json", body: body})
			ct := w.Header().Get("Content-Type")
			gotXML := strings.HasPrefix(ct, "text/xml") && strings.HasPrefix(w.Body.String(), "<result>")
			gotJSON := strings.HasPrefix(ct, "application/json") && strings.HasPrefix(w.Body.String(), "{")
			if w.Code != 200 || gotXML != tc.xml || gotJSON == tc.xml {
				t.Errorf("%s%s Accept %q: %d %s %.40s", path, tc.suffix, tc.accept, w.Code, ct, w.Body.String())
			}
		}
	}
	// Errors follow the same choice.
	w := p.do(t, req{path: "/api/2.0/crm/opportunity/x/access.xml", token: "mike-token"})
	if want := "<result><status>1</status><statusCode>400</statusCode><error><message>"; !strings.HasPrefix(w.Body.String(), want) {
		t.Errorf("XML error: %s", w.Body.String())
	}
}
