package httpadapter_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The list reads (SPEC §4, §10): GET opportunity/filter and contact/filter
// answer the records the caller may read that match, paged by startIndex
// and count, with total and nextIndex.

type listAnswer struct {
	Count      int             `json:"count"`
	StartIndex *int            `json:"startIndex"`
	NextIndex  *int            `json:"nextIndex"`
	Total      *int            `json:"total"`
	Response   json.RawMessage `json:"response"`
}

func getList(t *testing.T, p *portal, path, token string) (listAnswer, http.Header) {
	t.Helper()
	w := p.do(t, req{method: http.MethodGet, path: path, token: token})
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body.String())
	}
	var a listAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return a, w.Header()
}

func TestListReadsPageWhatTheCallerMayRead(t *testing.T) {
	p := newPortal(t, nil, nil)
	const base = "/api/2.0/crm/"
	// Every page, by twos, against the whole list: the same records in
	// order, the total each time, nextIndex until the last page.
	for _, c := range []struct{ kind, query, token string }{
		{"contact", "tags=lead&__=1700000000000", "mike-token"},
		{"contact", "tags=lead", "bob-token"},
		{"contact", "", "admin-token"},
		{"opportunity", "opportunityStagesid=-1&responsibleid=00000000-0000-0000-0000-000000000000", "bob-token"},
		{"opportunity", "", "admin-token"},
	} {
		all, h := getList(t, p, base+c.kind+"/filter.json?"+c.query, c.token)
		if h.Get("X-Consistency-Token") == "" || all.Total == nil || all.StartIndex == nil || *all.StartIndex != 0 {
			t.Fatalf("%+v: envelope %+v, token %q", c, all, h.Get("X-Consistency-Token"))
		}
		var items []struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(all.Response, &items); err != nil {
			t.Fatal(err)
		}
		if len(items) != *all.Total || all.Count != *all.Total || all.NextIndex != nil {
			t.Fatalf("%+v: %d items, total %d, count %d, nextIndex %v", c, len(items), *all.Total, all.Count, all.NextIndex)
		}
		var paged []int64
		for start := 0; start < len(items); start += 2 {
			a, _ := getList(t, p, base+c.kind+"/filter?"+c.query+"&startIndex="+itoa(start)+"&count=2", c.token)
			var page []struct {
				ID int64 `json:"id"`
			}
			json.Unmarshal(a.Response, &page)
			for _, it := range page {
				paged = append(paged, it.ID)
			}
			if *a.Total != len(items) || (start+2 < len(items)) != (a.NextIndex != nil) || (a.NextIndex != nil && *a.NextIndex != start+2) {
				t.Errorf("%+v page at %d: total %d, nextIndex %v", c, start, *a.Total, a.NextIndex)
			}
		}
		var want []int64
		for _, it := range items {
			want = append(want, it.ID)
		}
		if !slices.Equal(paged, want) || !slices.IsSorted(want) {
			t.Errorf("%+v: paged %v, whole %v", c, paged, want)
		}
	}
	// A contact private to another is not listed: contact 15 is alice's.
	a, _ := getList(t, p, base+"contact/filter?tags=lead", "bob-token")
	if strings.Contains(string(a.Response), `"id":15`) {
		t.Error("bob's list shows contact 15, private to alice")
	}
	a, _ = getList(t, p, base+"contact/filter?tags=lead", "alice-token")
	if !strings.Contains(string(a.Response), `"id":15`) {
		t.Error("alice's list lacks her contact 15")
	}
	// Strict input: an unknown parameter is refused.
	if w := p.do(t, req{method: http.MethodGet, path: base + "contact/filter?tag=lead", token: "bob-token"}); w.Code != http.StatusBadRequest {
		t.Errorf("unknown parameter: %d", w.Code)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
