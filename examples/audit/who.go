package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
)

// whoCommand lists who may read, edit, delete and change the access of a
// record.
type whoCommand struct {
	recordFlag string
	ref        crmaccess.Ref
}

func (c *whoCommand) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.recordFlag, "record", "", "the record: opportunity:ID or contact:ID")
}

func (c *whoCommand) parse(args []string) error {
	var err error
	switch {
	case len(args) != 0:
		return fmt.Errorf("unexpected arguments %q", args)
	case c.recordFlag == "":
		return errors.New("-record is required")
	}
	if c.ref, err = accesstest.ParseRef(c.recordFlag); err != nil {
		return fmt.Errorf("-record: %v", err)
	}
	return nil
}

// whoSource is the state who asks: the users known in it and its checks.
// Now it is the Service's memory; a point in time (-at T) is another
// source answering the same two questions from the change log, and
// nothing below source changes.
type whoSource struct {
	when  string // "now", or the time asked for
	users func(context.Context) ([]crmaccess.User, error)
	check accesstest.Checker
}

func (c *whoCommand) source(a *audit) whoSource {
	return whoSource{when: "now", users: a.svc.KnownUsers, check: a.svc}
}

// whoActions are the columns of the answer.
var whoActions = []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess}

// whoUser is one user who may do something with the record: each allowed
// action with its reason.
type whoUser struct {
	ID          string            `json:"id"`
	DisplayName string            `json:"displayName"`
	May         map[string]string `json:"may"` // action → reason in CRM terms
}

// whoAnswer is who's answer.
type whoAnswer struct {
	Record     string    `json:"record"`
	Title      string    `json:"title"`
	Exists     bool      `json:"exists"`
	At         string    `json:"at"`
	Token      string    `json:"token"`
	KnownUsers int       `json:"knownUsers"`
	Users      []whoUser `json:"users"` // those who may do anything, by id
}

// who asks src every action of every known user on ref.
func who(ctx context.Context, src whoSource, ref crmaccess.Ref, progress func(done, total int)) ([]whoUser, int, error) {
	users, err := src.users(ctx)
	if err != nil {
		return nil, 0, err
	}
	out := []whoUser{}
	for i, u := range users {
		w := whoUser{ID: u.ID, DisplayName: u.DisplayName, May: map[string]string{}}
		for _, action := range whoActions {
			o := accesstest.Decide(ctx, src.check, u.ID, ref, action)
			if o.Err != nil {
				return nil, 0, o.Err
			}
			if o.Allowed {
				w.May[string(action)] = string(o.Reason)
			}
		}
		if len(w.May) > 0 {
			out = append(out, w)
		}
		progress(i+1, len(users))
	}
	return out, len(users), nil
}

func (c *whoCommand) run(ctx context.Context, a *audit) int {
	src := c.source(a)
	answer := whoAnswer{Record: c.ref.String(), At: src.when, Token: string(a.svc.Token())}
	var err error
	if answer.Title, answer.Exists, err = a.title(ctx, c.ref); err != nil {
		return a.failure("%v", err)
	}
	bar := a.newProgress("checking users")
	answer.Users, answer.KnownUsers, err = who(ctx, src, c.ref, bar.update)
	bar.finish()
	if err != nil {
		return a.failure("%v", err)
	}
	if a.json {
		return a.writeJSON(answer)
	}
	fmt.Fprintf(a.stdout, "Who may act on %s %s: %d of %d known users.\n",
		a.recordLine(c.ref, answer.Title, answer.Exists), src.when, len(answer.Users), answer.KnownUsers)
	if len(answer.Users) == 0 {
		return exitOK
	}
	head := []string{"USER", "NAME"}
	for _, action := range whoActions {
		head = append(head, strings.ToUpper(string(action)))
	}
	rows := [][]string{head}
	for _, u := range answer.Users {
		row := []string{u.ID, u.DisplayName}
		for _, action := range whoActions {
			reason, ok := u.May[string(action)]
			if !ok {
				reason = "-"
			}
			row = append(row, reason)
		}
		rows = append(rows, row)
	}
	if err := writeTable(a.stdout, rows); err != nil {
		return a.failure("%v", err)
	}
	return exitOK
}
