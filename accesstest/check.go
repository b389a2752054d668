package accesstest

import (
	"context"
	"fmt"
	"os"
)

// Violation is an assertion the checker does not meet, and its answer.
type Violation struct {
	Assertion
	Outcome
}

// String tells the violation in CRM terms, where the file states it:
// `line 4, column 5: want omar may read fleet (opportunity:2), but omar
// may not: denied (why: ...)`.
func (v Violation) String() string {
	user := v.UserName
	record := v.RecordName
	if record != v.Record.String() {
		record = fmt.Sprintf("%s (%s)", record, v.Record)
	}
	s := fmt.Sprintf("line %d, column %d: %s", v.Line, v.Column, failure(user, record, v.Action, v.May, v.Outcome))
	if v.Why != "" {
		s += " (why: " + v.Why + ")"
	}
	return s
}

// CheckOptions tune Check; nil means the defaults.
type CheckOptions struct {
	// Progress, when set, is called after each assertion with how many
	// are done and how many there are.
	Progress func(done, total int)
}

// Check asks c every assertion of e and returns those it does not meet,
// in file order; none means the expectations hold. A check that fails
// for another reason than the user (a database error) is a violation
// too, with its Err; Check returns an error only when ctx ends.
func (e *Expectations) Check(ctx context.Context, c Checker, opts *CheckOptions) ([]Violation, error) {
	var progress func(done, total int)
	if opts != nil {
		progress = opts.Progress
	}
	var out []Violation
	for i, a := range e.Assertions {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		o := Decide(ctx, c, a.User, a.Record, a.Action)
		if o.Err != nil || o.Allowed != a.May {
			out = append(out, Violation{Assertion: a, Outcome: o})
		}
		if progress != nil {
			progress(i+1, len(e.Assertions))
		}
	}
	return out, nil
}

// Expect reports through t every assertion of e that c does not meet, and
// returns whether all hold.
func Expect(t T, c Checker, e *Expectations) bool {
	t.Helper()
	violations, err := e.Check(context.Background(), c, nil)
	if err != nil {
		t.Errorf("accesstest: %v", err)
		return false
	}
	for _, v := range violations {
		t.Errorf("accesstest: %s", v)
	}
	return len(violations) == 0
}

// ExpectFile reads the expectations file at path and reports, as Expect
// does, every assertion c does not meet; a file that does not parse is
// reported too.
func ExpectFile(t T, c Checker, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("accesstest: %v", err)
		return false
	}
	defer f.Close()
	e, err := ParseExpectations(f)
	if err != nil {
		t.Errorf("accesstest: %s: %v", path, err)
		return false
	}
	return Expect(t, c, e)
}
