package accesstest_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
)

// FuzzParseExpectations: any input either parses into valid assertions
// (canonical user ids, valid records and actions) or fails with a
// *ParseError inside the file; never a panic.
func FuzzParseExpectations(f *testing.F) {
	for _, path := range []string{"../examples/audit/demo.expect.json", "../examples/audit/strict.expect.json", "testdata/bad.expect.json"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"users": {"a": "{AAAAAAAA-0000-0000-0000-000000000001}"}, "expect": [{"users": ["a"], "records": ["contact:1"], "may": ["read"], "why": "\u00e9"}]}`))
	f.Add([]byte("{\n\"expect\": [{\"users\": [\"a\"]}]"))
	f.Add([]byte(`{"records": {"r": "opportunity:9223372036854775807"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := accesstest.ParseExpectations(bytes.NewReader(data))
		if err != nil {
			var pe *accesstest.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			lines := bytes.Count(data, []byte{'\n'}) + 1
			if pe.Line < 1 || pe.Line > lines || pe.Column < 1 {
				t.Fatalf("%v: outside the file's %d lines", err, lines)
			}
			return
		}
		for _, a := range e.Assertions {
			if id, err := crmaccess.ParseGUID(a.User); err != nil || id != a.User {
				t.Fatalf("user %q is not a canonical id", a.User)
			}
			if !a.Record.Valid() || !a.Action.Valid() || a.Line < 1 || a.Column < 1 {
				t.Fatalf("assertion %+v", a)
			}
			if strings.TrimSpace(a.UserName) == "" || a.RecordName == "" {
				t.Fatalf("assertion without names %+v", a)
			}
		}
	})
}
