package httpadapter

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
)

// one returns the single scalar of parameter name, or ok false when it is
// missing or null. name is the documented spelling, used in messages.
func (p *params) one(name string) (s scalar, ok bool, err error) {
	v := p.get(name)
	if v == nil {
		return scalar{}, false, nil
	}
	if v.list || len(v.items) != 1 {
		// [null] is a list too: it is not the null that means "missing".
		return scalar{}, false, invalid("%s: expected one value, got a list", name)
	}
	s = v.items[0]
	switch s.kind {
	case kindNull:
		return scalar{}, false, nil
	case kindObject:
		return scalar{}, false, invalid("%s: expected one value, got an object", name)
	}
	return s, true, nil
}

// boolean reads a flag: true or false (JSON booleans, or the words in any
// case); missing, null or empty is false.
func (p *params) boolean(name string) (bool, error) {
	v, _, err := p.flag(name)
	return v, err
}

// flag reads a flag as boolean does, and tells whether it was sent at all
// (not missing, not null).
func (p *params) flag(name string) (value, given bool, err error) {
	s, ok, err := p.one(name)
	if err != nil || !ok {
		return false, false, err
	}
	switch {
	case s.kind == kindNumber:
	case strings.EqualFold(s.text, "true"):
		return true, true, nil
	case strings.EqualFold(s.text, "false"), s.text == "":
		return false, true, nil
	}
	return false, false, invalid("%s: %q is not true or false", name, s.text)
}

// strs reads a list of strings; missing or null is empty, and a single
// value is a list of one. A null entry ([null]) is refused: only the list
// itself may be null.
func (p *params) strs(name string) ([]string, error) {
	v := p.get(name)
	if v == nil {
		return nil, nil
	}
	if !v.list && len(v.items) == 1 && v.items[0].kind == kindNull {
		return nil, nil
	}
	out := make([]string, 0, len(v.items))
	for i, s := range v.items {
		switch s.kind {
		case kindString:
		case kindNull:
			return nil, invalid("%s: entry %d is null", name, i+1)
		default:
			return nil, invalid("%s: entry %d is not a string", name, i+1)
		}
		out = append(out, s.text)
	}
	return out, nil
}

// ids reads a list of record ids: a JSON array of numbers (or of strings
// holding them), repeated keys (opportunityid[]=1&opportunityid[]=2) or
// elements, or a single value. given is false when the list is missing or
// null.
func (p *params) ids(name string) (ids []int64, given bool, err error) {
	v := p.get(name)
	if v == nil || (!v.list && len(v.items) == 1 && v.items[0].kind == kindNull) {
		return nil, false, nil
	}
	ids = make([]int64, 0, len(v.items))
	for i, s := range v.items {
		switch s.kind {
		case kindString, kindNumber:
		case kindNull:
			return nil, false, invalid("%s: entry %d is null", name, i+1)
		default:
			return nil, false, invalid("%s: entry %d is not a number", name, i+1)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s.text), 10, 64)
		if err != nil {
			return nil, false, invalid("%s: entry %d, %q, is not a whole number", name, i+1, s.text)
		}
		ids = append(ids, n)
	}
	return ids, true, nil
}

// optionalID reads an id that may be absent: missing, null or empty is nil.
func (p *params) optionalID(name string) (*int64, error) {
	s, ok, err := p.one(name)
	if err != nil || !ok || (s.kind == kindString && strings.TrimSpace(s.text) == "") {
		return nil, err
	}
	if s.kind == kindBool {
		return nil, invalid("%s: %s is not a number", name, s.text)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s.text), 10, 64)
	if err != nil {
		return nil, invalid("%s: %q is not a whole number", name, s.text)
	}
	return &n, nil
}

// text reads a string parameter; missing or null is "".
func (p *params) text(name string) (string, error) {
	s, ok, err := p.one(name)
	if err != nil || !ok {
		return "", err
	}
	if s.kind == kindBool {
		return "", invalid("%s: expected text, got %s", name, s.text)
	}
	return s.text, nil
}

// date reads a date parameter in one of the formats of parseDate; missing,
// null or empty is the zero time (no bound), and given tells it apart from
// a date that happens to be the zero instant.
func (p *params) date(name string, loc *time.Location) (t time.Time, given bool, err error) {
	s, ok, err := p.one(name)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	if s.kind != kindString {
		return time.Time{}, false, invalid("%s: expected a date string, got %s", name, s.text)
	}
	if strings.TrimSpace(s.text) == "" {
		return time.Time{}, false, nil
	}
	t, err = parseDate(strings.TrimSpace(s.text), loc)
	switch {
	case errors.Is(err, errYearOutOfRange):
		return time.Time{}, false, invalid("%s: %q: the year must be from 1 to 9999", name, s.text)
	case err != nil:
		return time.Time{}, false, invalid("%s: %q is not a date (use 2008-04-10T06:30:00.000Z, 2008-04-10T06-30-00.000Z or 2008-04-10)", name, s.text)
	}
	return t, true, nil
}

// dayBound reads toDate, which bounds the whole calendar day it falls on.
// A toDate at the zero instant (0001-01-01T00:00:00Z) would read as "no
// bound" in crmaccess.ContactFilter; any other instant of the same day
// bounds alike, so it moves by a nanosecond.
func (p *params) dayBound(name string, loc *time.Location) (time.Time, error) {
	t, given, err := p.date(name, loc)
	if given && t.IsZero() {
		t = t.Add(time.Nanosecond)
	}
	return t, err
}

// listView reads contactListView: a name in any case or a number 0 to 3;
// missing, null or empty is all.
func (p *params) listView(name string) (crmaccess.ListView, error) {
	s, ok, err := p.one(name)
	if err != nil || !ok {
		return crmaccess.ListAll, err
	}
	if s.kind == kindBool {
		return crmaccess.ListAll, invalid("%s: %s is not one of all, company, person, withopportunity", name, s.text)
	}
	return crmaccess.ParseListView(s.text)
}

// count reads a paging parameter of the query string: a whole number >= 0.
func (p *params) count(name string) (n int, set bool, err error) {
	s, ok, err := p.one(name)
	if err != nil || !ok {
		return 0, false, err
	}
	n, err = strconv.Atoi(strings.TrimSpace(s.text))
	if err != nil || n < 0 {
		return 0, false, invalid("%s: %q is not a whole number >= 0", name, s.text)
	}
	return n, true, nil
}

// requiredIDs reads the list of record ids name; it must be sent (an empty
// list changes nothing). kind names the records in messages.
func requiredIDs(p *params, name, kind string) ([]int64, error) {
	ids, given, err := p.ids(name)
	if err == nil && !given {
		err = invalid("%s: missing; send the id of each %s (%s[]=ID)", name, kind, name)
	}
	return ids, err
}

// firstError runs steps in order and returns the first error.
func firstError(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
