package accesstest

import (
	"context"
	"fmt"

	"github.com/crmaccess/crmaccess"
)

// T is the part of testing.TB the assertions use; *testing.T and
// *testing.B satisfy it.
type T interface {
	Helper()
	Errorf(format string, args ...any)
}

// Checker answers checks; *crmaccess.Service is one.
type Checker interface {
	Check(ctx context.Context, user string, ref crmaccess.Ref, action crmaccess.Action) (crmaccess.Decision, error)
}

// AtLeast returns a Checker that decides on a state of c at least as fresh
// as the write that returned token (crmaccess.WithToken): for a test that
// wrote through another Service, or another process, and asserts on this
// one.
func AtLeast(c Checker, token crmaccess.Token) Checker {
	return freshChecker{c, token}
}

type freshChecker struct {
	c     Checker
	token crmaccess.Token
}

func (f freshChecker) Check(ctx context.Context, user string, ref crmaccess.Ref, action crmaccess.Action) (crmaccess.Decision, error) {
	return f.c.Check(crmaccess.WithToken(ctx, f.token), user, ref, action)
}

// ReasonUnauthorized is the reason given when the user is not a known,
// active user of the store (Check's EUNAUTHORIZED): such a user may do
// nothing.
const ReasonUnauthorized crmaccess.Reason = "not a known, active user"

// Outcome is one check's answer: allowed or not, and why in CRM terms.
// Err is set when the check itself failed (a bad record reference, a
// database error): an outcome with Err is never what anyone expected.
type Outcome struct {
	Allowed bool
	Reason  crmaccess.Reason
	Err     error
}

// Decide asks c whether user may do action on ref. A user who is not a
// known, active user is denied with ReasonUnauthorized; any other error
// is kept in Err.
func Decide(ctx context.Context, c Checker, user string, ref crmaccess.Ref, action crmaccess.Action) Outcome {
	d, err := c.Check(ctx, user, ref, action)
	switch {
	case err == nil:
		return Outcome{Allowed: d.Allowed, Reason: d.Reason}
	case crmaccess.ErrorCode(err) == crmaccess.EUNAUTHORIZED:
		return Outcome{Reason: ReasonUnauthorized}
	default:
		return Outcome{Err: err}
	}
}

// verb is how an action reads in a sentence: "may change access of".
func verb(a crmaccess.Action) string {
	if a == crmaccess.ActionChangeAccess {
		return "change access of"
	}
	return string(a)
}

// sentence is "user may[ not] act record".
func sentence(user string, want bool, action crmaccess.Action, record string) string {
	may := "may"
	if !want {
		may = "may not"
	}
	return fmt.Sprintf("%s %s %s %s", user, may, verb(action), record)
}

// failure describes an outcome that is not the wanted one, or "" when it
// is: "want USER may edit RECORD, but USER may not: denied".
func failure(user, record string, action crmaccess.Action, want bool, o Outcome) string {
	if o.Err != nil {
		return fmt.Sprintf("want %s, but the check failed: %v", sentence(user, want, action, record), o.Err)
	}
	if o.Allowed == want {
		return ""
	}
	got := "may not"
	if o.Allowed {
		got = "may"
	}
	return fmt.Sprintf("want %s, but %s %s: %s", sentence(user, want, action, record), user, got, o.Reason)
}

func assert(t T, c Checker, user string, ref crmaccess.Ref, action crmaccess.Action, want bool) bool {
	t.Helper()
	msg := failure("user "+user, ref.String(), action, want, Decide(context.Background(), c, user, ref, action))
	if msg != "" {
		t.Errorf("accesstest: %s", msg)
		return false
	}
	return true
}

// May reports through t when user may not do action on ref, naming the
// reason, and returns whether user may.
func May(t T, c Checker, user string, ref crmaccess.Ref, action crmaccess.Action) bool {
	t.Helper()
	return assert(t, c, user, ref, action, true)
}

// MayNot reports through t when user may do action on ref, naming the
// reason, and returns whether user may not.
func MayNot(t T, c Checker, user string, ref crmaccess.Ref, action crmaccess.Action) bool {
	t.Helper()
	return assert(t, c, user, ref, action, false)
}

// MayRead is May with crmaccess.ActionRead.
func MayRead(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionRead, true)
}

// MayNotRead is MayNot with crmaccess.ActionRead.
func MayNotRead(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionRead, false)
}

// MayEdit is May with crmaccess.ActionEdit.
func MayEdit(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionEdit, true)
}

// MayNotEdit is MayNot with crmaccess.ActionEdit.
func MayNotEdit(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionEdit, false)
}

// MayDelete is May with crmaccess.ActionDelete.
func MayDelete(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionDelete, true)
}

// MayNotDelete is MayNot with crmaccess.ActionDelete.
func MayNotDelete(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionDelete, false)
}

// MayChangeAccess is May with crmaccess.ActionChangeAccess.
func MayChangeAccess(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionChangeAccess, true)
}

// MayNotChangeAccess is MayNot with crmaccess.ActionChangeAccess.
func MayNotChangeAccess(t T, c Checker, user string, ref crmaccess.Ref) bool {
	t.Helper()
	return assert(t, c, user, ref, crmaccess.ActionChangeAccess, false)
}
