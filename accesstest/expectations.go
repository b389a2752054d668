package accesstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// Expectations is a parsed expectations file (see the package doc).
type Expectations struct {
	// Users maps the file's names to canonical user ids.
	Users map[string]string
	// Records maps the file's names to records.
	Records map[string]crmaccess.Ref
	// Assertions are the file's expectations one by one, in file order:
	// expectation by expectation, then user, record, and the "may" actions
	// before the "mayNot" ones.
	Assertions []Assertion
}

// Assertion is one expected answer: User may (or, May false, may not) do
// Action on Record.
type Assertion struct {
	User       string // canonical user id
	UserName   string // as the file names the user: a name of "users", or the id
	Record     crmaccess.Ref
	RecordName string // as the file names the record: a name of "records", or the reference
	Action     crmaccess.Action
	May        bool
	Why        string // the expectation's "why", if any
	// Line and Column locate the expectation in the file, from 1.
	Line, Column int
}

// ParseError is a problem of an expectations file and where it is.
type ParseError struct {
	Line, Column int // from 1; the column counts characters
	Msg          string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// actionNames are the actions of the file, in the order errors list them.
var actionNames = []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess}

// ParseExpectations reads an expectations file. It is strict: a field it
// does not know, a field given twice, a value of the wrong type, an unknown
// action, a user or record that is neither a name of the file nor a valid
// id, an expectation without users, records or actions, or anything after
// the object fails with a *ParseError naming its line and column.
func ParseExpectations(r io.Reader) (*Expectations, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	raw, err := p.file()
	if err != nil {
		return nil, err
	}
	return raw.resolve(p)
}

// at is a string of the file and where it starts.
type at struct {
	s   string
	off int64
}

// rawExpectation is one entry of "expect" before its names are resolved.
type rawExpectation struct {
	off         int64
	users       []at
	records     []at
	may, mayNot []at
	why         string
}

type rawFile struct {
	users, records map[string]at // name → value
	expect         []rawExpectation
}

type parser struct {
	data []byte
	dec  *json.Decoder
}

// errorAt is a *ParseError at byte offset off.
func (p *parser) errorAt(off int64, format string, args ...any) error {
	off = min(max(off, 0), int64(len(p.data)))
	before := p.data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len([]rune(string(before[bytes.LastIndexByte(before, '\n')+1:]))) + 1
	return &ParseError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// next returns the next token and the offset where it starts.
func (p *parser) next() (json.Token, int64, error) {
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	tok, err := p.dec.Token()
	if err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			return nil, 0, p.errorAt(max(syntax.Offset-1, off), "%v", strings.TrimPrefix(err.Error(), "json: "))
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, 0, p.errorAt(int64(len(p.data)), "unexpected end of the file")
		}
		return nil, 0, p.errorAt(off, "%v", err)
	}
	return tok, off, nil
}

// describe names a token's JSON type for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// open reads the opening delimiter of an object ('{') or a list ('[').
func (p *parser) open(what string, delim json.Delim) (int64, error) {
	tok, off, err := p.next()
	if err != nil {
		return 0, err
	}
	if tok != delim {
		return 0, p.errorAt(off, "%s: want %s, found %s", what, describe(delim), describe(tok))
	}
	return off, nil
}

// str reads a string.
func (p *parser) str(what string) (at, error) {
	tok, off, err := p.next()
	if err != nil {
		return at{}, err
	}
	s, ok := tok.(string)
	if !ok {
		return at{}, p.errorAt(off, "%s: want a string, found %s", what, describe(tok))
	}
	return at{s: s, off: off}, nil
}

// members reads an object, calling member for each key (after checking
// that it is known and not repeated).
func (p *parser) members(what string, known []string, member func(key at) error) error {
	if _, err := p.open(what, '{'); err != nil {
		return err
	}
	seen := map[string]bool{}
	for p.dec.More() {
		key, err := p.str(what + " key")
		if err != nil {
			return err
		}
		if known != nil && !slices.Contains(known, key.s) {
			return p.errorAt(key.off, "%s: unknown field %q (known: %s)", what, key.s, strings.Join(known, ", "))
		}
		if seen[key.s] {
			return p.errorAt(key.off, "%s: %q given twice", what, key.s)
		}
		seen[key.s] = true
		if err := member(key); err != nil {
			return err
		}
	}
	_, _, err := p.next() // '}'
	return err
}

// strings reads a list of strings.
func (p *parser) strings(what string) ([]at, error) {
	if _, err := p.open(what, '['); err != nil {
		return nil, err
	}
	var out []at
	for p.dec.More() {
		s, err := p.str(what + " entry")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	_, _, err := p.next() // ']'
	return out, err
}

// names reads an object of names to strings.
func (p *parser) names(what string) (map[string]at, error) {
	out := map[string]at{}
	err := p.members(what, nil, func(key at) error {
		if strings.TrimSpace(key.s) == "" {
			return p.errorAt(key.off, "%s: an empty name", what)
		}
		v, err := p.str(fmt.Sprintf("%s %q", what, key.s))
		out[key.s] = v
		return err
	})
	return out, err
}

func (p *parser) file() (*rawFile, error) {
	f := &rawFile{users: map[string]at{}, records: map[string]at{}}
	err := p.members("the file", []string{"users", "records", "expect"}, func(key at) error {
		var err error
		switch key.s {
		case "users":
			f.users, err = p.names("users")
		case "records":
			f.records, err = p.names("records")
		case "expect":
			f.expect, err = p.expectations()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) && strings.IndexByte(" \t\r\n", p.data[off]) >= 0 {
		off++
	}
	if off < int64(len(p.data)) {
		return nil, p.errorAt(off, "data after the end of the file's object")
	}
	return f, nil
}

func (p *parser) expectations() ([]rawExpectation, error) {
	if _, err := p.open("expect", '['); err != nil {
		return nil, err
	}
	var out []rawExpectation
	for i := 0; p.dec.More(); i++ {
		what := fmt.Sprintf("expect[%d]", i)
		var e rawExpectation
		e.off = p.dec.InputOffset()
		for e.off < int64(len(p.data)) && strings.IndexByte(" \t\r\n,", p.data[e.off]) >= 0 {
			e.off++
		}
		err := p.members(what, []string{"users", "records", "may", "mayNot", "why"}, func(key at) error {
			var err error
			field := what + "." + key.s
			switch key.s {
			case "users":
				e.users, err = p.strings(field)
			case "records":
				e.records, err = p.strings(field)
			case "may":
				e.may, err = p.strings(field)
			case "mayNot":
				e.mayNot, err = p.strings(field)
			case "why":
				var s at
				s, err = p.str(field)
				e.why = s.s
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		switch {
		case len(e.users) == 0:
			return nil, p.errorAt(e.off, "%s: no users", what)
		case len(e.records) == 0:
			return nil, p.errorAt(e.off, "%s: no records", what)
		case len(e.may)+len(e.mayNot) == 0:
			return nil, p.errorAt(e.off, "%s: no actions in may or mayNot", what)
		}
		out = append(out, e)
	}
	_, _, err := p.next() // ']'
	return out, err
}

// parseRef reads "opportunity:ID" or "contact:ID".
func parseRef(s string) (crmaccess.Ref, bool) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		return crmaccess.Ref{}, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return crmaccess.Ref{}, false
	}
	ref := crmaccess.Ref{Kind: crmaccess.Kind(kind), ID: n}
	return ref, ref.Valid()
}

// ParseRef reads a record reference as the file and examples/audit write
// it: "opportunity:ID" or "contact:ID" with ID > 0.
func ParseRef(s string) (crmaccess.Ref, error) {
	ref, ok := parseRef(s)
	if !ok {
		return crmaccess.Ref{}, fmt.Errorf("%q is not a record: want opportunity:ID or contact:ID with ID > 0", s)
	}
	return ref, nil
}

// ParseAction reads one of the four actions: read, edit, delete, access.
func ParseAction(s string) (crmaccess.Action, error) {
	a := crmaccess.Action(s)
	if !a.Valid() {
		names := make([]string, len(actionNames))
		for i, n := range actionNames {
			names[i] = string(n)
		}
		return "", fmt.Errorf("unknown action %q (actions: %s)", s, strings.Join(names, ", "))
	}
	return a, nil
}

func (f *rawFile) resolve(p *parser) (*Expectations, error) {
	out := &Expectations{Users: map[string]string{}, Records: map[string]crmaccess.Ref{}}
	for _, name := range sortedKeys(f.users) {
		v := f.users[name]
		id, err := crmaccess.ParseGUID(v.s)
		if err != nil {
			return nil, p.errorAt(v.off, "users %q: %q is not a user id (a GUID)", name, v.s)
		}
		out.Users[name] = id
	}
	for _, name := range sortedKeys(f.records) {
		v := f.records[name]
		ref, err := ParseRef(v.s)
		if err != nil {
			return nil, p.errorAt(v.off, "records %q: %v", name, err)
		}
		out.Records[name] = ref
	}
	for i, e := range f.expect {
		what := fmt.Sprintf("expect[%d]", i)
		line, col := p.lineColumn(e.off)
		var users []string
		for _, u := range e.users {
			id, ok := out.Users[u.s]
			if !ok {
				var err error
				if id, err = crmaccess.ParseGUID(u.s); err != nil {
					return nil, p.errorAt(u.off, "%s.users: %q is neither a name of \"users\" nor a user id", what, u.s)
				}
			}
			users = append(users, id)
		}
		var records []crmaccess.Ref
		for _, r := range e.records {
			ref, ok := out.Records[r.s]
			if !ok {
				if ref, ok = parseRef(r.s); !ok {
					return nil, p.errorAt(r.off, "%s.records: %q is neither a name of \"records\" nor opportunity:ID or contact:ID", what, r.s)
				}
			}
			records = append(records, ref)
		}
		var may, mayNot []crmaccess.Action
		for _, group := range []struct {
			field   string
			entries []at
			into    *[]crmaccess.Action
		}{{"may", e.may, &may}, {"mayNot", e.mayNot, &mayNot}} {
			for _, a := range group.entries {
				action, err := ParseAction(a.s)
				if err != nil {
					return nil, p.errorAt(a.off, "%s.%s: %v", what, group.field, err)
				}
				if slices.Contains(may, action) || slices.Contains(mayNot, action) {
					return nil, p.errorAt(a.off, "%s.%s: %q is already expected", what, group.field, a.s)
				}
				*group.into = append(*group.into, action)
			}
		}
		for ui, user := range users {
			for ri, ref := range records {
				for _, group := range []struct {
					actions []crmaccess.Action
					may     bool
				}{{may, true}, {mayNot, false}} {
					for _, action := range group.actions {
						out.Assertions = append(out.Assertions, Assertion{
							User: user, UserName: e.users[ui].s, Record: ref, RecordName: e.records[ri].s,
							Action: action, May: group.may, Why: e.why, Line: line, Column: col,
						})
					}
				}
			}
		}
	}
	return out, nil
}

func (p *parser) lineColumn(off int64) (int, int) {
	var pe *ParseError
	errors.As(p.errorAt(off, ""), &pe)
	return pe.Line, pe.Column
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
