package httpadapter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// envelope is ONLYOFFICE's answer around a response or an error:
//
//	{"count":N,"startIndex":S,"total":T,"status":0,"statusCode":200,"response":…}
//	{"status":1,"statusCode":C,"error":{"message":"…"}}
//
// count is left out when 0; startIndex and total only appear on a paged
// answer.
type envelope struct {
	count      int
	paged      bool
	startIndex int
	nextIndex  int // > 0 when a next page exists (a read's list)
	total      int
	status     int
	statusCode int

	object any // a single response object, marshalled with encoding/json

	// list streams a list response: it calls emit once per item, in order.
	isList bool
	list   func(emit func(item any) error) error

	errorMessage *string
}

// errorBody is the "error" member of a failure envelope.
type errorBody struct {
	Message string `json:"message"`
}

const (
	contentTypeJSON = "application/json; charset=utf-8"
	contentTypeXML  = "text/xml; charset=utf-8"
)

// writeEnvelope writes e with status in the format r asks for. A list is
// written item by item, so a long answer never exists whole in memory.
// answerBuffers holds the buffers answers are written through: 32 KiB
// each, which allocating and clearing for every answer cost more than
// writing a short one.
var answerBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

func (h *handler) writeEnvelope(w http.ResponseWriter, r *http.Request, status int, e *envelope) {
	asXML := wantsXML(r)
	if asXML {
		w.Header().Set("Content-Type", contentTypeXML)
	} else {
		w.Header().Set("Content-Type", contentTypeJSON)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Add("Vary", "Accept") // without a suffix, Accept picks the format
	w.WriteHeader(status)
	bw := answerBuffers.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil) // keeps no ResponseWriter alive
		answerBuffers.Put(bw)
	}()
	var err error
	if asXML {
		err = writeXMLEnvelope(bw, e)
	} else {
		err = writeJSONEnvelope(bw, e)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// The status is sent; all that is left is to note the broken answer.
		h.log.DebugContext(r.Context(), "httpadapter: writing the answer failed", "path", r.URL.Path, "err", err)
	}
}

// header writes the members before the response: count, startIndex, total,
// status, statusCode.
func (e *envelope) header(field func(name, value string) error) error {
	if e.count != 0 {
		if err := field("count", strconv.Itoa(e.count)); err != nil {
			return err
		}
	}
	if e.paged {
		if err := field("startIndex", strconv.Itoa(e.startIndex)); err != nil {
			return err
		}
		if e.nextIndex > 0 {
			if err := field("nextIndex", strconv.Itoa(e.nextIndex)); err != nil {
				return err
			}
		}
		if err := field("total", strconv.Itoa(e.total)); err != nil {
			return err
		}
	}
	if err := field("status", strconv.Itoa(e.status)); err != nil {
		return err
	}
	return field("statusCode", strconv.Itoa(e.statusCode))
}

func writeJSONEnvelope(w *bufio.Writer, e *envelope) error {
	w.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			w.WriteByte(',')
		}
		first = false
	}
	err := e.header(func(name, value string) error {
		sep()
		w.WriteString(strconv.Quote(name))
		w.WriteByte(':')
		_, err := w.WriteString(value)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case e.errorMessage != nil:
		sep()
		b, err := json.Marshal(errorBody{Message: *e.errorMessage})
		if err != nil {
			return err
		}
		w.WriteString(`"error":`)
		w.Write(b)
	case e.isList:
		sep()
		w.WriteString(`"response":[`)
		n := 0
		err := e.list(func(item any) error {
			b, err := json.Marshal(item)
			if err != nil {
				return err
			}
			if n > 0 {
				w.WriteByte(',')
			}
			n++
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		w.WriteByte(']')
	default:
		sep()
		b, err := json.Marshal(e.object)
		if err != nil {
			return err
		}
		w.WriteString(`"response":`)
		w.Write(b)
	}
	_, err = w.WriteString("}\n")
	return err
}

func writeXMLEnvelope(w *bufio.Writer, e *envelope) error {
	w.WriteString("<result>")
	err := e.header(func(name, value string) error {
		_, err := fmt.Fprintf(w, "<%s>%s</%s>", name, value, name)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case e.errorMessage != nil:
		if err := writeXMLOf(w, "error", errorBody{Message: *e.errorMessage}); err != nil {
			return err
		}
	case e.isList:
		err := e.list(func(item any) error { return writeXMLOf(w, "response", item) })
		if err != nil {
			return err
		}
	default:
		if err := writeXMLOf(w, "response", e.object); err != nil {
			return err
		}
	}
	_, err = w.WriteString("</result>\n")
	return err
}

// writeXMLOf writes v as the element name, converting its JSON form so the
// XML is exactly the JSON tree.
func writeXMLOf(w *bufio.Writer, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return jsonToXML(w, name, dec)
}

// jsonToXML writes the next JSON value of dec as element name: an object's
// members become child elements, a list becomes repeated elements named
// name (an empty list, none), null becomes <name />, and a string, number or
// boolean becomes the element's text.
func jsonToXML(w *bufio.Writer, name string, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			w.WriteString("<" + name + ">")
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return err
				}
				if err := jsonToXML(w, key.(string), dec); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			w.WriteString("</" + name + ">")
		case '[':
			for dec.More() {
				if err := jsonToXML(w, name, dec); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
		}
	case nil:
		w.WriteString("<" + name + " />")
	case string:
		w.WriteString("<" + name + ">")
		if err := xml.EscapeText(w, []byte(t)); err != nil {
			return err
		}
		w.WriteString("</" + name + ">")
	case bool:
		w.WriteString("<" + name + ">" + strconv.FormatBool(t) + "</" + name + ">")
	case json.Number:
		w.WriteString("<" + name + ">" + t.String() + "</" + name + ">")
	default:
		return fmt.Errorf("httpadapter: unexpected JSON token %v", tok)
	}
	return nil
}
