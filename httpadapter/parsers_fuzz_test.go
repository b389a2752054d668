package httpadapter

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The parsers one by one, fuzzed from inside the package: none panics, every
// error is EINVALID (a 400, never a 500), and each agrees with the standard
// library's parser where both accept the input.

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && crmaccess.ErrorCode(err) != crmaccess.EINVALID {
		t.Fatalf("%s: error %v has code %q, want EINVALID", what, err, crmaccess.ErrorCode(err))
	}
}

// FuzzParseJSONBody: a JSON object always parses, with a parameter for each
// of its names (in lower case); anything else fails with EINVALID.
func FuzzParseJSONBody(f *testing.F) {
	for _, s := range []string{
		`{"isPrivate":true,"accessList":["00000000-0000-0000-0000-000000000000"]}`,
		`{"tags":["a","b"],"contactStage":-1,"contactType":null,"fromDate":"2008-04-10"}`,
		`{"a":{"b":[1,2,{"c":null}]},"A":[[1],[2]],"x":1e400}`,
		`{"isPrivate":"True","ISPRIVATE":false}`,
		`{"k":"\u0000\ud800'; DROP TABLE casbin_rule;--"}`,
		`[1,2]`, `{"a":1}{"b":2}`, `{"a":1,}`, `{"a"}`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		trimmed := bytes.TrimSpace(body)
		q, err := parseJSONBody(trimmed)
		wantInvalid(t, "parseJSONBody", err)
		var obj map[string]json.RawMessage
		if json.Unmarshal(trimmed, &obj) != nil || obj == nil {
			return
		}
		if err != nil {
			t.Fatalf("parseJSONBody(%q) refused a JSON object: %v", trimmed, err)
		}
		names := map[string]bool{}
		for k := range obj {
			names[strings.ToLower(k)] = true
		}
		for k := range names {
			if q.m[k] == nil {
				t.Fatalf("parseJSONBody(%q): no parameter %q", trimmed, k)
			}
		}
		if len(q.m) != len(names) {
			t.Fatalf("parseJSONBody(%q): %d parameters, the object has %d names", trimmed, len(q.m), len(names))
		}
	})
}

// FuzzParseXMLBody: any input parses or fails with EINVALID, and a parsed
// body's parameters each hold at least one value.
func FuzzParseXMLBody(f *testing.F) {
	for _, s := range []string{
		`<r><isPrivate>true</isPrivate><tags>lead</tags><tags>vip</tags></r>`,
		`<?xml version="1.0"?><a x="y"><managerList><g>00000000-0000-0000-0000-000000000000</g></managerList></a>`,
		`<r><a><b><c>deep</c></b></a></r>`,
		`<r><a>text<b>x</b></a></r>`,
		`<r/><r/>`, `<r>text</r>`, `<r><a/></r>`, `<!DOCTYPE r [<!ENTITY e "x">]><r><a>&e;</a></r>`,
		`<r><a><![CDATA[' OR 1=1 --]]></a></r>`, `<r`, ``, `<r><a>&#0;</a></r>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		q, err := parseXMLBody(bytes.TrimSpace(body))
		wantInvalid(t, "parseXMLBody", err)
		if err != nil {
			return
		}
		for k, v := range q.m {
			if len(v.items) == 0 {
				t.Fatalf("parseXMLBody(%q): parameter %q has no value", body, k)
			}
		}
	})
}

// FuzzParseURLEncoded: a query string or form that net/url accepts gives
// the same values per name (names in any case and with "[]" merged); a bad
// escape fails with EINVALID.
func FuzzParseURLEncoded(f *testing.F) {
	for _, s := range []string{
		"isPrivate=true&tags[]=lead&tags%5B%5D=vip&contactListView=2",
		"a=1&A=2&a[]=3", "startIndex=1&count=2", "=x&&&a", "%zz=1", "a=%", "a=1;b=2",
		"filterValue=%27%3B--%25_%5C%00", "[]=1&a[][]=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseURLEncoded(raw, "query string")
		wantInvalid(t, "parseURLEncoded", err)
		std, stdErr := url.ParseQuery(raw)
		if stdErr != nil || strings.Contains(raw, ";") {
			return
		}
		if err != nil {
			t.Fatalf("parseURLEncoded(%q) failed where net/url did not: %v", raw, err)
		}
		want := map[string]int{}
		for k, vs := range std {
			k = strings.ToLower(strings.TrimSuffix(k, "[]"))
			if k != "" {
				want[k] += len(vs)
			}
		}
		for k, n := range want {
			if v := q.m[k]; v == nil || len(v.items) != n {
				t.Fatalf("parseURLEncoded(%q): %q has %v, net/url %d values", raw, k, v, n)
			}
		}
		if len(q.m) != len(want) {
			t.Fatalf("parseURLEncoded(%q): %d names, net/url %d", raw, len(q.m), len(want))
		}
	})
}

// FuzzParseDate: a date that parses has a year from 1 on, writes out (seven
// fractional digits) and parses back to the same instant (when its UTC year
// is from 1 to 9999), a date alone is midnight in the location, and where
// time.Parse reads the same text as RFC 3339 both give the same instant.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"2008-04-10T06:30:00.000Z", "2008-04-10T06-30-00.000Z", "2008-04-10T06:30:00.1234567+03:00",
		"2008-04-10", "2008-04-10T06:30:00", "2021-02-29", "2020-02-29T23:59:59-23:59", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59.9999999+00:00", "2008-04-10t06:30:00z", "2008-04-10T24:00:00Z", "2008-04-10T06:30:00.12345678Z",
	} {
		f.Add(s)
	}
	plus3 := time.FixedZone("UTC+3", 3*3600)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseDate(s, plus3)
		if err != nil {
			return
		}
		if got.Year() < 1 {
			t.Fatalf("parseDate(%q) = %v: a year before 1", s, got)
		}
		out := formatDate(got, time.UTC)
		back, err := parseDate(out, time.UTC)
		// Years 0001 and 9999 with an offset can fall outside 1 to 9999 in
		// UTC (0000, 10000), which parseDate refuses or the output layout
		// cannot write.
		if y := got.UTC().Year(); y >= 1 && y <= 9999 && (err != nil || !back.Equal(got)) {
			t.Fatalf("parseDate(%q) = %v, written %q, read back %v, %v", s, got, out, back, err)
		}
		if len(s) == len("2008-04-10") {
			if h, m, sec := got.Clock(); h != 0 || m != 0 || sec != 0 || got.Location() != plus3 {
				t.Fatalf("parseDate(%q) = %v, want midnight in the location", s, got)
			}
		}
		if std, err := time.Parse(time.RFC3339Nano, s); err == nil && !std.Equal(got) {
			t.Fatalf("parseDate(%q) = %v, time.Parse %v", s, got, std)
		}
	})
}
