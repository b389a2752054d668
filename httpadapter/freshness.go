package httpadapter

import (
	"context"
	"net/http"
	"time"

	"github.com/crmaccess/crmaccess"
)

// Freshness headers (SPEC §4 "Freshness"): a request may carry the token of
// an earlier write, and is then decided on a state at least that fresh;
// every successful answer carries the token of the state it was decided on.
const (
	headerToken      = "X-Consistency-Token"
	headerRetryAfter = "Retry-After"
)

// DefaultFreshnessWait is how long a request carrying a token waits for
// this instance to reach it before answering 503.
const DefaultFreshnessWait = 5 * time.Second

// awaitToken waits, at most h.freshWait, until the Service holds the state
// of the request's X-Consistency-Token, if it carries one.
func (h *handler) awaitToken(r *http.Request) error {
	text := r.Header.Get(headerToken)
	if text == "" {
		return nil
	}
	tok, err := crmaccess.ParseToken(text)
	if err != nil {
		return crmaccess.Errorf(crmaccess.EINVALID, "%s: %s", headerToken, crmaccess.ErrorMessage(err))
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.freshWait)
	defer cancel()
	return h.svc.WaitFor(ctx, tok)
}

// setToken names the state an answer was decided on.
func setToken(w http.ResponseWriter, t crmaccess.Token) {
	if t != "" {
		w.Header().Set(headerToken, string(t))
	}
}
