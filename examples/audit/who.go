package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/accesstest"
)

// whoCommand lists who may read, edit, delete and change the access of a
// record.
type whoCommand struct {
	recordFlag string
	atFlag     string
	ref        crmaccess.Ref
	at         crmaccess.Moment // zero: now
}

func (c *whoCommand) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.recordFlag, "record", "", "the record: opportunity:ID or contact:ID")
	fs.StringVar(&c.atFlag, "at", "", "a point in time: an RFC 3339 time (2026-11-24T09:00:00Z), or a write's consistency token (p42); empty: now")
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
	if c.at, err = parseMoment(c.atFlag); err != nil {
		return fmt.Errorf("-at: %v", err)
	}
	return nil
}

// parseMoment reads -at: a time with its offset, or a token naming a
// write (the state right after it). Empty is now.
func parseMoment(s string) (crmaccess.Moment, error) {
	if s == "" {
		return crmaccess.Moment{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return crmaccess.Moment{Time: t}, nil
	}
	if tok, err := crmaccess.ParseToken(s); err == nil {
		return crmaccess.MomentOf(tok)
	}
	return crmaccess.Moment{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-24T09:00:00Z) nor a consistency token (p42)", s)
}

// whoSource is the state who asks: the users known in it and its checks.
// Now it is the Service's memory; a point in time (-at T) is another
// source answering the same two questions from the change log, and
// nothing below source changes.
type whoSource struct {
	when  string // "now", or the time asked for
	users func(context.Context) ([]crmaccess.User, error)
	check accesstest.Checker

	// A point in time: the Service's history answers (UsersWhoCould),
	// users who have since been removed included.
	past  crmaccess.Moment
	svc   *crmaccess.Service
	store crmaccess.Reader
}

func (c *whoCommand) source(a *audit) whoSource {
	if c.at == (crmaccess.Moment{}) {
		return whoSource{when: "now", users: a.svc.KnownUsers, check: a.svc}
	}
	return whoSource{when: "at " + c.atFlag, past: c.at, svc: a.svc, store: a.store}
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
	if src.svc != nil {
		return whoAt(ctx, src, ref, progress)
	}
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
	if src.svc != nil {
		fmt.Fprintf(a.stdout, "Who could act on %s %s: %d users.\n",
			a.recordLine(c.ref, answer.Title, answer.Exists), src.when, len(answer.Users))
	} else {
		fmt.Fprintf(a.stdout, "Who may act on %s %s: %d of %d known users.\n",
			a.recordLine(c.ref, answer.Title, answer.Exists), src.when, len(answer.Users), answer.KnownUsers)
	}
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

// whoAt asks the history who could do each action on ref at src.past: the
// users are those the change log names then, not those known now. The
// count it returns is the number of users who could do anything.
func whoAt(ctx context.Context, src whoSource, ref crmaccess.Ref, progress func(done, total int)) ([]whoUser, int, error) {
	byID := map[string]*whoUser{}
	for i, action := range whoActions {
		grants, err := src.svc.UsersWhoCould(ctx, ref, action, src.past)
		if err != nil {
			return nil, 0, err
		}
		for _, g := range grants {
			w := byID[g.User]
			if w == nil {
				w = &whoUser{ID: g.User, May: map[string]string{}}
				byID[g.User] = w
			}
			w.May[string(action)] = string(g.Reason)
		}
		progress(i+1, len(whoActions))
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	users, err := src.store.Users(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	for _, u := range users {
		byID[u.ID].DisplayName = u.DisplayName
	}
	out := make([]whoUser, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byID[id])
	}
	return out, len(out), nil
}
