package httpadapter

import (
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxListLength is the most entries a list parameter may have unless
// Options.MaxListLength says otherwise.
const DefaultMaxListLength = 1000

// presentationKeys are the parameters ONLYOFFICE's web client adds to its
// calls to shape the answer: a cache buster, sorting, field selection,
// paging and the search box. Every endpoint accepts them; it reads those it
// serves (the contact filter pages its answer and searches by filterValue)
// and ignores the others.
var presentationKeys = []string{"__", "sortBy", "sortOrder", "fields", "startIndex", "count", "filterValue"}

// inputRules are what one endpoint accepts (SPEC §4 "Strict input"): access
// control fails closed, so a request the endpoint would have to guess at is
// refused before anything is decided, instead of being read as something
// milder than its sender meant (a misspelled isPrivate as false, a
// misspelled filter field as "every contact").
type inputRules struct {
	names   []string // the parameters the endpoint reads, as documented
	maxList int      // the most entries of a list
}

// known reports whether name (any case) is one the endpoint reads or a
// presentation key.
func (in *inputRules) known(name string) bool {
	match := func(n string) bool { return strings.EqualFold(n, name) }
	return slices.ContainsFunc(in.names, match) || slices.ContainsFunc(presentationKeys, match)
}

// querySource names the query string in messages (and tells it apart from
// a body).
const querySource = "query string"

// vet holds the parameters of one source (the query string or the body) to
// the rules before they count, so that a source whose values another one
// overrides is refused all the same: every name is known, no list has a null
// entry or more than maxList entries, and no text (name or value) holds a
// NUL character, which databases refuse or truncate.
func (in *inputRules) vet(source string, q *params) error {
	keys := make([]string, 0, len(q.m))
	for k := range q.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var unknown []string
	for _, k := range keys {
		if !in.known(k) {
			unknown = append(unknown, strconv.Quote(q.m[k].name))
		}
	}
	if source != querySource {
		for _, k := range keys {
			if in.known(k) && slices.ContainsFunc(queryOnlyParams, func(n string) bool { return strings.EqualFold(n, k) }) {
				return invalid("%s: %s is read from the query string only", source, q.m[k].name)
			}
		}
	}
	switch len(unknown) {
	case 0:
	case 1:
		return invalid("%s: unknown parameter %s; this endpoint takes %s", source, unknown[0], strings.Join(in.names, ", "))
	default:
		return invalid("%s: unknown parameters %s; this endpoint takes %s", source, strings.Join(unknown, ", "), strings.Join(in.names, ", "))
	}
	for _, k := range keys {
		v := q.m[k]
		if v.list && len(v.items) > in.maxList {
			return invalid("%s: %d entries; at most %d are accepted", v.name, len(v.items), in.maxList)
		}
		for i, s := range v.items {
			if v.list && s.kind == kindNull {
				return invalid("%s: entry %d is null", v.name, i+1)
			}
			if strings.IndexByte(s.text, 0) >= 0 {
				return invalid("%s: a NUL character is not accepted in text", v.name)
			}
		}
	}
	return nil
}
