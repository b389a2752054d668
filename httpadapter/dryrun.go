package httpadapter

import (
	"net/http"
	"strconv"
	"strings"
)

// Dry runs (SPEC §11): the four bulk changes of access
// (opportunity/access, opportunity/filter/access, contact/access,
// contact/filter/access) take the query parameter dryRun, which
// ONLYOFFICE's client never sends. dryRun=true answers what the call would
// do — the same envelope, the records it would change with their new
// values, X-Skipped-Count — and writes nothing. The answer says so in
// X-Dry-Run, counts the records whose access would really change in
// X-Changed-Count, and carries in X-Consistency-Token the state it was
// decided on (no write made it).
const (
	paramDryRun   = "dryRun"
	headerDryRun  = "X-Dry-Run"
	headerChanged = "X-Changed-Count"
)

// queryOnlyParams are read from the query string only: a dryRun in a body
// is refused, so that a client that put it there never gets a write it did
// not mean.
var queryOnlyParams = []string{paramDryRun}

// readDryRun reads dryRun: true or false, in any letter case; missing is
// false. Anything else, an empty value included, is refused: a request
// asking for a dry run in a way that cannot be read must not write.
func readDryRun(p *params) (bool, error) {
	s, ok, err := p.one(paramDryRun)
	switch {
	case err != nil:
		return false, err
	case !ok:
		if p.get(paramDryRun) != nil {
			return false, invalid("%s: null is not true or false", paramDryRun)
		}
		return false, nil
	case strings.EqualFold(s.text, "true"):
		return true, nil
	case strings.EqualFold(s.text, "false"):
		return false, nil
	}
	return false, invalid("%s: %q is not true or false", paramDryRun, s.text)
}

// markDryRun sets the headers of a dry run's answer: changed records would
// really change.
func markDryRun(w http.ResponseWriter, changed int) {
	w.Header().Set(headerDryRun, "true")
	w.Header().Set(headerChanged, strconv.Itoa(changed))
}

// countChanged counts the records of a result whose access changes.
func countChanged[T any](records []T, changed func(*T) bool) int {
	n := 0
	for i := range records {
		if changed(&records[i]) {
			n++
		}
	}
	return n
}
