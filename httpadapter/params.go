package httpadapter

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"net/url"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// kind is the type a scalar arrived with: JSON tells strings, numbers,
// booleans and null apart; a query string, a form or XML sends only text
// (and XML an empty element, which reads as null).
type kind uint8

const (
	kindString kind = iota
	kindNumber
	kindBool
	kindNull
	kindObject // a JSON object or a nested list: no parameter takes one
)

type scalar struct {
	text string
	kind kind
}

// param is the value of one parameter from one source: one scalar, or
// several (a JSON array, repeated keys, repeated elements).
type param struct {
	name  string // as first sent, for messages
	items []scalar
	list  bool // sent as a list (JSON array, "key[]", nested XML elements)
}

// params are a request's parameters by lower-case name.
type params struct {
	m     map[string]*param
	query *params // the query string alone, for paging
}

func newParams() *params { return &params{m: map[string]*param{}} }

// get returns the parameter name (any case), or nil.
func (p *params) get(name string) *param { return p.m[strings.ToLower(name)] }

// set gives name the value of a source that ranks higher than the ones seen
// so far: the whole previous value is replaced.
func (p *params) set(name string, v *param) { p.m[strings.ToLower(name)] = v }

// merge adds the parameters of a higher-ranking source.
func (p *params) merge(q *params) {
	for k, v := range q.m {
		p.m[k] = v
	}
}

func invalid(format string, args ...any) error {
	return crmaccess.Errorf(crmaccess.EINVALID, format, args...)
}

// addQuery reads the query string, held to the endpoint's rules; it wins
// over the body.
func (p *params) addQuery(raw string, rules *inputRules) error {
	q, err := parseURLEncoded(raw, querySource)
	if err == nil {
		err = rules.vet(querySource, q)
	}
	if err != nil {
		return err
	}
	p.merge(q)
	p.query = q
	return nil
}

const supportedBodies = "application/json, text/xml, application/xml or application/x-www-form-urlencoded"

// addBody reads a body by its Content-Type (JSON, XML or form encoding) and
// holds it to the endpoint's rules. A body is read only as what its
// Content-Type says: without one, or in another shape than it says (curl -d
// sends JSON as a form unless told otherwise), it is refused rather than
// guessed at.
func (p *params) addBody(contentType string, body []byte, rules *inputRules) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if contentType == "" {
		return invalid("body: no Content-Type; send %s", supportedBodies)
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return invalid("body: Content-Type %q is malformed", contentType)
	}
	var (
		q    *params
		want string // the shape the Content-Type announces
	)
	switch {
	case mediaType == "application/json" || mediaType == "text/json" || strings.HasSuffix(mediaType, "+json"):
		want = "JSON"
	case mediaType == "text/xml" || mediaType == "application/xml" || strings.HasSuffix(mediaType, "+xml"):
		want = "XML"
	case mediaType == "application/x-www-form-urlencoded":
		want = "a form"
	default:
		return invalid("body: Content-Type %q is not supported; send %s", mediaType, supportedBodies)
	}
	if got := bodyShape(trimmed); got != want {
		return invalid("body: the Content-Type is %s but the body looks like %s", mediaType, got)
	}
	switch want {
	case "JSON":
		q, err = parseJSONBody(trimmed)
	case "XML":
		q, err = parseXMLBody(trimmed)
	default:
		q, err = parseURLEncoded(string(trimmed), "form body")
	}
	if err == nil {
		err = rules.vet("body", q)
	}
	if err != nil {
		return err
	}
	p.merge(q)
	return nil
}

// bodyShape tells what a trimmed, non-empty body looks like: XML starts
// with <, JSON with { [ or ", or is another JSON value; the rest is a form.
// A form's names cannot start with those bytes unescaped, so the shapes do
// not overlap where it matters.
func bodyShape(body []byte) string {
	switch {
	case body[0] == '<':
		return "XML"
	case body[0] == '{' || body[0] == '[' || body[0] == '"' || json.Valid(body):
		return "JSON"
	}
	return "a form"
}

// parseURLEncoded reads "a=1&b=2&b=3&c[]=4" keeping the order; repeated keys
// make a list, and "key[]" is key sent as a list.
func parseURLEncoded(raw, source string) (*params, error) {
	q := newParams()
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, invalid("%s: %q is not URL-encoded", source, k)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, invalid("%s: the value of %s is not URL-encoded", source, key)
		}
		list := strings.HasSuffix(key, "[]")
		key = strings.TrimSuffix(key, "[]")
		if key == "" {
			continue
		}
		cur := q.get(key)
		if cur == nil {
			cur = &param{name: key}
			q.set(key, cur)
		}
		cur.items = append(cur.items, scalar{text: value, kind: kindString})
		cur.list = cur.list || list || len(cur.items) > 1
	}
	return q, nil
}

// parseJSONBody reads a JSON object; a later member wins over an earlier
// one with the same name in another letter case.
func parseJSONBody(body []byte) (*params, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	malformed := func(err error) error { return invalid("body: malformed JSON: %v", err) }
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("body: expected a JSON object")
	}
	q := newParams()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		v, err := jsonParam(raw)
		if err != nil {
			return nil, malformed(err)
		}
		v.name = key
		q.set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformed(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid("body: data after the JSON object")
	}
	return q, nil
}

func jsonParam(raw json.RawMessage) (*param, error) {
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		v := &param{list: true, items: make([]scalar, 0, len(items))}
		for _, it := range items {
			s, err := jsonScalar(it)
			if err != nil {
				return nil, err
			}
			if len(it) > 0 && it[0] == '[' {
				s.kind = kindObject
			}
			v.items = append(v.items, s)
		}
		return v, nil
	}
	s, err := jsonScalar(raw)
	if err != nil {
		return nil, err
	}
	return &param{items: []scalar{s}}, nil
}

func jsonScalar(raw json.RawMessage) (scalar, error) {
	if len(raw) == 0 {
		return scalar{}, errors.New("empty value")
	}
	switch raw[0] {
	case 'n':
		return scalar{kind: kindNull}, nil
	case 't', 'f':
		return scalar{text: string(raw), kind: kindBool}, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return scalar{}, err
		}
		return scalar{text: s, kind: kindString}, nil
	case '{', '[':
		return scalar{kind: kindObject}, nil
	}
	return scalar{text: string(raw), kind: kindNumber}, nil
}

// parseXMLBody reads any root element with one child element per field: a
// list is the element repeated, or one element holding one child per entry.
// An empty element is null.
func parseXMLBody(body []byte) (*params, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	malformed := func(err error) error { return invalid("body: malformed XML: %v", err) }
	q := newParams()
	depth := 0       // 1 inside the root, 2 inside a field, 3 inside an entry
	var field string // the field being read
	var text []byte  // its text, or its entry's
	var entries []scalar
	rootDone := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return nil, invalid("body: data after the XML root element")
			}
			depth++
			switch depth {
			case 2:
				field, text, entries = t.Name.Local, text[:0], nil
			case 3:
				if len(bytes.TrimSpace(text)) > 0 {
					return nil, invalid("body: XML element <%s> mixes text and elements", field)
				}
				text = text[:0]
			case 4:
				return nil, invalid("body: XML element <%s> is nested too deep", field)
			}
		case xml.CharData:
			if depth >= 2 {
				text = append(text, t...)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, invalid("body: text outside the XML fields")
			}
		case xml.EndElement:
			switch depth {
			case 3:
				entries = append(entries, xmlScalar(text))
				text = text[:0]
			case 2:
				v := &param{name: field}
				if entries != nil {
					if len(bytes.TrimSpace(text)) > 0 {
						return nil, invalid("body: XML element <%s> mixes text and elements", field)
					}
					v.items, v.list = entries, true
				} else {
					v.items = []scalar{xmlScalar(text)}
				}
				if cur := q.get(field); cur != nil {
					cur.items = append(cur.items, v.items...)
					cur.list = true
				} else {
					q.set(field, v)
				}
			case 1:
				rootDone = true
			}
			depth--
		}
	}
	if !rootDone {
		return nil, invalid("body: malformed XML: no root element")
	}
	return q, nil
}

func xmlScalar(text []byte) scalar {
	t := strings.TrimSpace(string(text))
	if t == "" {
		return scalar{kind: kindNull}
	}
	return scalar{text: t, kind: kindString}
}
