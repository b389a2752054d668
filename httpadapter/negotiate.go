package httpadapter

import (
	"net/http"
	"strconv"
	"strings"
)

// wantsXML reports whether the answer to r is XML: the path ends in ".xml",
// or (without a ".json" suffix) the Accept header prefers text/xml or
// application/xml to application/json. JSON is the default.
func wantsXML(r *http.Request) bool {
	switch {
	case strings.HasSuffix(r.URL.Path, ".xml"):
		return true
	case strings.HasSuffix(r.URL.Path, ".json"):
		return false
	}
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return false
	}
	ranges := parseAccept(strings.Join(accept, ","))
	x := bestMatch(ranges, "text/xml").max(bestMatch(ranges, "application/xml"))
	j := bestMatch(ranges, "application/json")
	return x.beats(j)
}

// mediaRange is one entry of an Accept header.
type mediaRange struct {
	typ, sub string
	q        float64
}

func parseAccept(h string) []mediaRange {
	var out []mediaRange
	for _, part := range strings.Split(h, ",") {
		fields := strings.Split(part, ";")
		typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(fields[0])), "/")
		if !ok {
			continue
		}
		m := mediaRange{typ: strings.TrimSpace(typ), sub: strings.TrimSpace(sub), q: 1}
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q >= 0 && q <= 1 {
					m.q = q
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// match is how an Accept header rates one media type: the quality of its
// most specific matching range, that range's specificity (3 exact, 2
// type/*, 1 */*, 0 no match) and position.
type match struct {
	q           float64
	specificity int
	position    int
}

func bestMatch(ranges []mediaRange, mediaType string) match {
	typ, sub, _ := strings.Cut(mediaType, "/")
	best := match{}
	for i, m := range ranges {
		s := 0
		switch {
		case m.typ == typ && m.sub == sub:
			s = 3
		case m.typ == typ && m.sub == "*":
			s = 2
		case m.typ == "*" && m.sub == "*":
			s = 1
		}
		if s > best.specificity {
			best = match{q: m.q, specificity: s, position: i}
		}
	}
	return best
}

// max returns the better of two matches.
func (a match) max(b match) match {
	if b.beats(a) {
		return b
	}
	return a
}

// beats reports whether a is preferred to b: higher quality, then a more
// specific range, then an earlier one.
func (a match) beats(b match) bool {
	switch {
	case a.specificity == 0 || a.q == 0:
		return false
	case b.specificity == 0 || b.q == 0:
		return true
	case a.q != b.q:
		return a.q > b.q
	case a.specificity != b.specificity:
		return a.specificity > b.specificity
	}
	return a.position < b.position
}
