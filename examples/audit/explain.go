package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
)

// explainCommand answers one check and its reason in CRM terms.
type explainCommand struct {
	userFlag, recordFlag, actionFlag string

	user   string
	ref    crmaccess.Ref
	action crmaccess.Action
}

func (c *explainCommand) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.userFlag, "user", "", "the user's id (a GUID)")
	fs.StringVar(&c.recordFlag, "record", "", "the record: opportunity:ID or contact:ID")
	fs.StringVar(&c.actionFlag, "action", "read", "read, edit, delete or access (change access)")
}

func (c *explainCommand) parse(args []string) error {
	var err error
	switch {
	case len(args) != 0:
		return fmt.Errorf("unexpected arguments %q", args)
	case c.userFlag == "" || c.recordFlag == "":
		return errors.New("-user and -record are required")
	}
	if c.user, err = crmaccess.ParseGUID(c.userFlag); err != nil {
		return fmt.Errorf("-user %q is not a user id (a GUID)", c.userFlag)
	}
	if c.ref, err = accesstest.ParseRef(c.recordFlag); err != nil {
		return fmt.Errorf("-record: %v", err)
	}
	if c.action, err = accesstest.ParseAction(c.actionFlag); err != nil {
		return fmt.Errorf("-action: %v", err)
	}
	return nil
}

// explanation is explain's answer.
type explanation struct {
	User        string `json:"user"`
	DisplayName string `json:"displayName"`
	Record      string `json:"record"`
	Title       string `json:"title"`  // the record's title or name; "" when it does not exist
	Exists      bool   `json:"exists"` // a missing record is open to admins only
	Action      string `json:"action"`
	Allowed     bool   `json:"allowed"`
	Reason      string `json:"reason"`
	Rule        string `json:"rule"`  // who may do the action on a record of this kind
	Token       string `json:"token"` // the state it was decided on
}

func (q *explainCommand) run(ctx context.Context, a *audit) int {
	o := accesstest.Decide(ctx, a.svc, q.user, q.ref, q.action)
	if o.Err != nil {
		return a.failure("%v", o.Err)
	}
	x := explanation{User: q.user, Record: q.ref.String(), Action: string(q.action), Allowed: o.Allowed, Reason: string(o.Reason),
		Rule: rule(q.ref.Kind, q.action), Token: string(a.svc.Token())}
	users, err := a.svc.Users(ctx, []string{q.user})
	if err != nil {
		return a.failure("%v", err)
	}
	if len(users) == 1 {
		x.DisplayName = users[0].DisplayName
	}
	if x.Title, x.Exists, err = a.title(ctx, q.ref); err != nil {
		return a.failure("%v", err)
	}
	if a.json {
		return a.writeJSON(x)
	}
	err = writeTable(a.stdout, [][]string{
		{"user", named(x.User, x.DisplayName)},
		{"record", a.recordLine(q.ref, x.Title, x.Exists)},
		{"action", x.Action},
		{"decision", decision(x.Allowed)},
		{"reason", x.Reason},
		{"rule", x.Rule},
	})
	if err != nil {
		return a.failure("%v", err)
	}
	return exitOK
}

// rule is who may do action on a record of kind, in the words of the
// access rules (SPEC §2), so that a denial says what would allow it.
func rule(kind crmaccess.Kind, action crmaccess.Action) string {
	switch {
	case kind == crmaccess.KindOpportunity && action == crmaccess.ActionChangeAccess:
		return "an admin or the opportunity's creator may change its access"
	case kind == crmaccess.KindOpportunity:
		return fmt.Sprintf("an admin may %s an opportunity; so may anyone when it is public, and those in its accessList, its creator and its responsible user", action)
	case action == crmaccess.ActionRead:
		return "an admin may read a contact; so may anyone when it is shared (read-only or read-write), and those in its managerList"
	}
	return fmt.Sprintf("an admin may %s a contact; so may anyone when it is shared read-write, and those in its managerList", verb(action))
}

// verb is how an action reads in a sentence.
func verb(action crmaccess.Action) string {
	if action == crmaccess.ActionChangeAccess {
		return "change the access of"
	}
	return string(action)
}

func decision(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "denied"
}

// named is "id (Name)", or the id alone.
func named(id, name string) string {
	if name == "" {
		return id
	}
	return id + " (" + name + ")"
}

func (a *audit) recordLine(ref crmaccess.Ref, title string, exists bool) string {
	switch {
	case !exists:
		return ref.String() + " (does not exist: admins only)"
	case title == "":
		return ref.String()
	}
	return fmt.Sprintf("%s (%s)", ref, title)
}

// title reads a record's title (an opportunity) or display name (a
// contact) from the store, whoever may read it: the auditor sees all.
func (a *audit) title(ctx context.Context, ref crmaccess.Ref) (string, bool, error) {
	if ref.Kind == crmaccess.KindOpportunity {
		opps, err := a.store.Opportunities(ctx, []int64{ref.ID})
		if err != nil || len(opps) == 0 {
			return "", false, err
		}
		return opps[0].Title, true, nil
	}
	contacts, err := a.store.Contacts(ctx, []int64{ref.ID})
	if err != nil || len(contacts) == 0 {
		return "", false, err
	}
	return contacts[0].DisplayName(), true, nil
}

func (a *audit) writeJSON(v any) int {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return a.failure("%v", err)
	}
	return exitOK
}
