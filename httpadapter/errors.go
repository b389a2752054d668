package httpadapter

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/crmaccess/crmaccess"
)

// statusOf is the one table from crmaccess error codes to HTTP statuses.
//
// ECONFLICT answers 500: the Service retries writers' conflicts and
// reloads memory that does not fit the database itself, so one that still
// reaches a client is a fault the client cannot resolve; SPEC §4 lists no
// 409 either. EUNAVAILABLE (a busy database, a lost commit, a token's state
// not reached in time) answers 503 with Retry-After.
var statusOf = map[string]int{
	crmaccess.EINVALID:      http.StatusBadRequest,
	crmaccess.EUNAUTHORIZED: http.StatusUnauthorized,
	crmaccess.EFORBIDDEN:    http.StatusForbidden,
	crmaccess.ENOTFOUND:     http.StatusNotFound,
	crmaccess.ECONFLICT:     http.StatusInternalServerError,
	crmaccess.EUNAVAILABLE:  http.StatusServiceUnavailable,
	crmaccess.EINTERNAL:     http.StatusInternalServerError,
}

// internalMessage is all a client learns of a 500.
const internalMessage = "internal error"

// errTooLarge reports a body over Options.MaxBodyBytes.
var errTooLarge = errors.New("httpadapter: request body too large")

// writeFailure answers err: 413 for an oversized body, otherwise the status
// of its crmaccess code. A 500 is logged with its detail and answered with a
// generic message.
func (h *handler) writeFailure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errTooLarge) {
		h.writeError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", h.maxBody))
		return
	}
	code := crmaccess.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := crmaccess.ErrorMessage(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set(headerRetryAfter, "1")
	}
	if status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "httpadapter: request failed",
			"method", r.Method, "path", r.URL.Path, "code", code, "err", err)
		msg = internalMessage
	}
	h.writeError(w, r, status, msg)
}

// writeError is the one writer of the error envelope
// {"status":1,"statusCode":C,"error":{"message":"…"}}, in the format the
// request asked for. A 401 names the authentication scheme in
// WWW-Authenticate (RFC 9110 §11.6.1), whichever path led to it.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", h.challenge)
	}
	e := &envelope{status: 1, statusCode: status, errorMessage: &message}
	h.writeEnvelope(w, r, status, e)
}
