package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/crmaccess/crmaccess/accesstest"
)

// checkCommand checks an expectations file against the database.
type checkCommand struct {
	path string
	e    *accesstest.Expectations
}

func (c *checkCommand) flags(*flag.FlagSet) {}

// parse reads the expectations file: one that does not parse is a usage
// error, found before the database is opened.
func (c *checkCommand) parse(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want one expectations file, got %d arguments", len(args))
	}
	c.path = args[0]
	f, err := os.Open(c.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if c.e, err = accesstest.ParseExpectations(f); err != nil {
		return fmt.Errorf("%s: %v", c.path, err)
	}
	return nil
}

// checkReport is check's JSON answer.
type checkReport struct {
	File       string          `json:"file"`
	Database   string          `json:"database"`
	Token      string          `json:"token"` // the state the checks were decided on
	Assertions int             `json:"assertions"`
	Violations []violationJSON `json:"violations"`
	// What the file names that is not there: records that do not exist,
	// users that are not known, active users (warnings, not violations).
	MissingRecords []danglingName `json:"missingRecords"`
	UnknownUsers   []danglingName `json:"unknownUsers"`
}

type violationJSON struct {
	Line       int    `json:"line"`
	Column     int    `json:"column"`
	User       string `json:"user"`
	UserName   string `json:"userName"`
	Record     string `json:"record"`
	RecordName string `json:"recordName"`
	Action     string `json:"action"`
	Want       string `json:"want"` // "may" or "may not"
	Allowed    bool   `json:"allowed"`
	Reason     string `json:"reason,omitempty"`
	Error      string `json:"error,omitempty"` // the check itself failed
	Why        string `json:"why,omitempty"`
}

// nonNil is list, or an empty list: JSON [] rather than null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

func may(b bool) string {
	if b {
		return "may"
	}
	return "may not"
}

func (c *checkCommand) run(ctx context.Context, a *audit) int {
	path, e := c.path, c.e

	bar := a.newProgress("checking")
	violations, err := e.Check(ctx, a.svc, &accesstest.CheckOptions{Progress: bar.update})
	bar.finish()
	if err != nil {
		return a.failure("%v", err)
	}
	missing, unknown, err := a.dangling(ctx, e)
	if err != nil {
		return a.failure("%v", err)
	}
	a.warnDangling(missing, unknown)

	if a.json {
		r := checkReport{File: path, Database: a.shown(), Token: string(a.svc.Token()), Assertions: len(e.Assertions),
			Violations: []violationJSON{}, MissingRecords: nonNil(missing), UnknownUsers: nonNil(unknown)}
		for _, v := range violations {
			j := violationJSON{Line: v.Line, Column: v.Column, User: v.User, UserName: v.UserName, Record: v.Record.String(),
				RecordName: v.RecordName, Action: string(v.Action), Want: may(v.May), Allowed: v.Allowed, Reason: string(v.Reason), Why: v.Why}
			if v.Err != nil {
				j.Error = v.Err.Error()
			}
			r.Violations = append(r.Violations, j)
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return a.failure("%v", err)
		}
	} else {
		if len(violations) > 0 {
			rows := [][]string{{"WHERE", "USER", "ACTION", "RECORD", "WANT", "GOT", "WHY"}}
			for _, v := range violations {
				got := may(v.Allowed) + ": " + string(v.Reason)
				if v.Err != nil {
					got = "check failed: " + v.Err.Error()
				}
				record := v.RecordName
				if record != v.Record.String() {
					record += " (" + v.Record.String() + ")"
				}
				rows = append(rows, []string{fmt.Sprintf("%d:%d", v.Line, v.Column), v.UserName, string(v.Action), record, may(v.May), got, v.Why})
			}
			if err := writeTable(a.stdout, rows); err != nil {
				return a.failure("%v", err)
			}
			fmt.Fprintf(a.stdout, "%d of %d assertions of %s violated on %s.\n", len(violations), len(e.Assertions), path, a.shown())
		} else {
			fmt.Fprintf(a.stdout, "All %d assertions of %s hold on %s.\n", len(e.Assertions), path, a.shown())
		}
	}
	if len(violations) > 0 {
		return exitViolation
	}
	return exitOK
}
