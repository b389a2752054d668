package crmaccess

import (
	"errors"
	"fmt"
)

// Error codes. Every error the library returns carries one of them; test
// them with ErrorCode, never by comparing messages.
const (
	EINVALID      = "invalid"      // the input is malformed or out of range
	EUNAUTHORIZED = "unauthorized" // no acting user, or not a valid one
	EFORBIDDEN    = "forbidden"    // the actor may see the record but not do this
	ENOTFOUND     = "not_found"    // the record does not exist or is hidden from the actor
	ECONFLICT     = "conflict"     // the store's state does not allow the write
	EUNAVAILABLE  = "unavailable"  // not now: a state not reached in time, a busy database; retry later
	EINTERNAL     = "internal"     // anything else; the message never shows detail
)

// Error is the library's one error type: a code, a message fit for the end
// user, and for internal errors the cause (kept for logs, never shown).
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("crmaccess: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("crmaccess: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure as an EINTERNAL error whose message
// shows no detail. An error that already carries a code is returned as is.
func Internal(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
}

// ErrorCode returns the code of err: "" for nil, EINTERNAL for an error that
// does not carry one.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err fit for the end user: "" for nil,
// "internal error" for an error that does not carry a code or is internal.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}
