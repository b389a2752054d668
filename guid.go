package crmaccess

import (
	"slices"
	"strings"
)

// ParseGUID returns the canonical (lowercase, dashed, no braces) form of a
// user id. Any letter case is accepted and the braces are optional:
// "{9924256A-739C-462b-AF15-E652A3B1B6EB}" gives
// "9924256a-739c-462b-af15-e652a3b1b6eb". It fails with EINVALID.
func ParseGUID(s string) (string, error) {
	if isCanonicalGUID(s) {
		return s, nil // the common case, without allocating
	}
	t := s
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		t = t[1 : len(t)-1]
	}
	if len(t) != 36 {
		return "", Errorf(EINVALID, "%q is not a GUID", s)
	}
	b := []byte(t)
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", Errorf(EINVALID, "%q is not a GUID", s)
			}
			continue
		}
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", Errorf(EINVALID, "%q is not a GUID", s)
		}
	}
	return string(b), nil
}

// isCanonicalGUID reports whether s is already in ParseGUID's output form.
func isCanonicalGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// ParseGUIDList parses every entry of a user list with ParseGUID and returns
// the distinct canonical ids in ascending order. name is the list's name, for
// the error message; the first bad entry fails the whole list with EINVALID.
func ParseGUIDList(name string, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		id, err := ParseGUID(s)
		if err != nil {
			return nil, Errorf(EINVALID, "%s: %q is not a GUID", name, s)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
