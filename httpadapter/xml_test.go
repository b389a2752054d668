package httpadapter_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// xmlNode is an element of an XML answer.
type xmlNode struct {
	name        string
	children    []*xmlNode
	text        string
	selfClosing bool // written <name />
}

func parseXMLTree(t *testing.T, doc []byte) *xmlNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	root := &xmlNode{}
	stack := []*xmlNode{root}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("XML answer: %v\n%s", err, doc)
		}
		top := stack[len(stack)-1]
		switch e := tok.(type) {
		case xml.StartElement:
			raw := doc[before:dec.InputOffset()]
			n := &xmlNode{name: e.Name.Local, selfClosing: bytes.HasSuffix(raw, []byte("/>"))}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.CharData:
			top.text += string(e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(root.children) != 1 {
		t.Fatalf("XML answer has %d roots", len(root.children))
	}
	return root.children[0]
}

// sameTree reports how el differs from the JSON value v under SPEC §4's
// rules: an object's fields become child elements in order, a list becomes
// repeated elements named after its field (none when empty), null becomes
// <name />, an empty string <name></name>, and scalars the element's text.
func sameTree(el *xmlNode, v any, path string) error {
	switch v := v.(type) {
	case *orderedObject:
		var want []string
		var values []any
		for i, k := range v.keys {
			if list, ok := v.values[i].([]any); ok {
				for _, item := range list {
					want, values = append(want, k), append(values, item)
				}
				continue
			}
			want, values = append(want, k), append(values, v.values[i])
		}
		if len(el.children) != len(want) {
			return fmt.Errorf("%s: %d child elements, want %d (%v)", path, len(el.children), len(want), want)
		}
		for i, c := range el.children {
			if c.name != want[i] {
				return fmt.Errorf("%s: child %d is <%s>, want <%s>", path, i, c.name, want[i])
			}
			if err := sameTree(c, values[i], path+"."+c.name); err != nil {
				return err
			}
		}
		return nil
	case nil:
		if !el.selfClosing || len(el.children) > 0 {
			return fmt.Errorf("%s: null is not written <%s />", path, el.name)
		}
		return nil
	}
	if el.selfClosing || len(el.children) > 0 {
		return fmt.Errorf("%s: a scalar written as <%s /> or with children", path, el.name)
	}
	want := fmt.Sprint(v)
	if el.text != want {
		return fmt.Errorf("%s: text %q, want %q", path, el.text, want)
	}
	return nil
}

// orderedObject is a JSON object with its field order.
type orderedObject struct {
	keys   []string
	values []any
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			o := &orderedObject{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				o.keys, o.values = append(o.keys, k.(string)), append(o.values, v)
			}
			_, err = dec.Token()
			return o, err
		}
		list := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err = dec.Token()
		return list, err
	case json.Number:
		return t.String(), nil
	}
	return tok, nil
}

// TestXMLIsTheJSONTree: for answers with objects, lists, empty lists, nulls,
// empty strings and errors, the XML answer is the JSON answer's tree under
// <result>.
func TestXMLIsTheJSONTree(t *testing.T) {
	p := newPortal(t, nil, nil)
	for _, tc := range []struct{ name, path, token, body string }{
		{"private opportunity", oppPath, "mike-token", `{"isPrivate":true,"accessList":["` + alice + `"]}`},
		{"public opportunity, hidden contact", "/api/2.0/crm/opportunity/8/access", "mike-token", `{}`},
		{"contacts: private, shared, companies, null company", contactPath, "admin-token", `{"isPrivate":true,"tags":["lead"],"managerList":["` + bob + `"]}`},
		{"paged contacts", contactPath + "?startIndex=1&count=2", "admin-token", `{"tags":["lead"]}`},
		{"empty list", contactPath, "mike-token", `{"tags":["nothing has this"]}`},
		{"error", "/api/2.0/crm/opportunity/7/access", "mike-token", `{}`},
		{"error with markup in the message", oppPath, "mike-token", `{"accessList":["<b>&amp;"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := p.do(t, req{path: tc.path + "", token: tc.token, contentType: "application/json", body: tc.body, accept: "application/json"})
			x := p.do(t, req{path: tc.path, token: tc.token, contentType: "application/json", body: tc.body, accept: "text/xml"})
			if js.Code != x.Code {
				t.Fatalf("JSON %d, XML %d", js.Code, x.Code)
			}
			dec := json.NewDecoder(js.Body)
			dec.UseNumber()
			v, err := decodeOrdered(dec)
			if err != nil {
				t.Fatal(err)
			}
			tree := parseXMLTree(t, x.Body.Bytes())
			if tree.name != "result" {
				t.Fatalf("root <%s>, want <result>", tree.name)
			}
			if err := sameTree(tree, v, "result"); err != nil {
				t.Errorf("%v\nJSON: %s\nXML: %s", err, js.Body.String(), x.Body.String())
			}
		})
	}
	// The documented spellings of null, the empty string and the empty list.
	x := p.do(t, req{path: contactPath + ".xml", token: "mike-token", contentType: "application/json", body: `{"tags":["dated"]}`}).Body.String()
	for _, want := range []string{"<currency />", "<about></about>", "<isCompany>false</isCompany>"} {
		if !strings.Contains(x, want) {
			t.Errorf("XML lacks %s", want)
		}
	}
	if strings.Contains(x, "commonData") {
		t.Error("an empty list is written as an element")
	}
}
