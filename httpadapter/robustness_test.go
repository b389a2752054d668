package httpadapter_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess/httpadapter"
)

// TestPagingNearTheLargestInt: startIndex and count as large as an int
// holds page the answer (an empty page, or all from startIndex) instead of
// overflowing startIndex+count into a negative bound and panicking after
// the change was written.
func TestPagingNearTheLargestInt(t *testing.T) {
	p := newPortal(t, nil, nil)
	maxInt := strconv.Itoa(int(^uint(0) >> 1))
	for _, tc := range []struct {
		query string
		want  int // items in the page
	}{
		{"startIndex=1&count=" + maxInt, 5},
		{"startIndex=0&count=" + maxInt, 6},
		{"startIndex=" + maxInt + "&count=" + maxInt, 0},
		{"startIndex=" + maxInt + "&count=1", 0},
	} {
		w := p.do(t, req{path: contactPath + "?" + tc.query, token: "admin-token", contentType: "application/json", body: `{"tags":["lead"]}`})
		a := decode(t, w, http.StatusOK)
		var got []wireContact
		if err := json.Unmarshal(a.Response, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want || a.Total == nil || *a.Total != 6 {
			t.Errorf("%s: %d items (total %v), want %d of 6", tc.query, len(got), a.Total, tc.want)
		}
	}
}

// TestMoreTagsThanSQLVariables: a filter body naming 40,000 distinct tags
// (300 kB, under the body limit; a host that raised the list limit) is
// answered, not a 500.
func TestMoreTagsThanSQLVariables(t *testing.T) {
	p := newPortal(t, &httpadapter.Options{MaxListLength: 50_000}, nil)
	var b strings.Builder
	b.WriteString(`{"isPrivate":true,"tags":["lead"`)
	for i := range 40_000 {
		fmt.Fprintf(&b, `,"t%d"`, i)
	}
	b.WriteString(`]}`)
	w := p.do(t, req{path: contactPath, token: "admin-token", contentType: "application/json", body: b.String()})
	if a := decode(t, w, http.StatusOK); string(a.Response) != "[]" {
		t.Errorf("matched %s", a.Response)
	}
}
