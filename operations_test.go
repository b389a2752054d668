package crmaccess_test

import (
	"context"
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

// Every write of the Service, on every database: who may make it, who may
// not (and with which code), and what it leaves in the log (SPEC §2, §3,
// §9). A refused write leaves no trace: the token does not move, no change
// record is added, no decision changes. A permitted one moves the token,
// records its actor and the access before and after (or no change record
// when it changes no access), and a fresh instance given its token decides
// as the writer does.

// opLog is what a write leaves in the log: the change records of one
// record (ref) or one user (user), and a test of the last one's states.
type opLog struct {
	ref  crmaccess.Ref
	user string
	// last tests the write's change record; nil: the write adds none.
	last func(before, after crmaccess.AccessState) bool
}

type operation struct {
	name  string
	write func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error)
	// refused are actors who may not make the write, and the code each gets.
	refused map[string]string
	by      string // an actor who may
	log     opLog
}

// lists reports whether list holds every one of ids.
func lists(list []string, ids ...string) bool {
	for _, id := range ids {
		if !slices.Contains(list, id) {
			return false
		}
	}
	return true
}

var operations = []operation{
	{
		name: "SetOpportunityAccess: the creator",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.SetOpportunityAccess(ctx, actor, 1, true, []string{dave})
			return resultToken(r, err)
		},
		refused: map[string]string{bob: crmaccess.EFORBIDDEN, dave: crmaccess.EFORBIDDEN, erin: crmaccess.EUNAUTHORIZED},
		by:      alice,
		log: opLog{ref: crmaccess.OpportunityRef(1), last: func(b, a crmaccess.AccessState) bool {
			return !b.IsPrivate && a.IsPrivate && lists(a.List, alice, dave) && a.Creator == alice && a.Responsible == bob
		}},
	},
	{
		name: "SetOpportunityAccess: an admin, on a record hidden from others",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.SetOpportunityAccess(ctx, actor, 3, true, []string{bob})
			return resultToken(r, err)
		},
		refused: map[string]string{alice: crmaccess.ENOTFOUND, bob: crmaccess.ENOTFOUND},
		by:      admin,
		log: opLog{ref: crmaccess.OpportunityRef(3), last: func(b, a crmaccess.AccessState) bool {
			return len(b.List) == 0 && a.IsPrivate && lists(a.List, bob)
		}},
	},
	{
		name: "CreateOpportunity: any active user",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.CreateOpportunity(ctx, actor, crmaccess.Opportunity{ID: 10, Title: "New deal"}, true, []string{bob})
			return resultToken(r, err)
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED, "": crmaccess.EUNAUTHORIZED},
		by:      dave,
		log: opLog{ref: crmaccess.OpportunityRef(10), last: func(b, a crmaccess.AccessState) bool {
			return b.Creator == "" && a.Creator == dave && a.Responsible == dave && a.IsPrivate && lists(a.List, bob)
		}},
	},
	{
		name: "UpdateOpportunity: a user on the accessList moves the responsible user",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.UpdateOpportunity(ctx, actor, crmaccess.Opportunity{ID: 2, Title: "Secret deal", Responsible: bob, ContactID: 5, StageID: 31})
			return resultToken(r, err)
		},
		refused: map[string]string{bob: crmaccess.ENOTFOUND, erin: crmaccess.EUNAUTHORIZED},
		by:      dave,
		log: opLog{ref: crmaccess.OpportunityRef(2), last: func(b, a crmaccess.AccessState) bool {
			return b.Responsible == carol && a.Responsible == bob && a.Creator == alice && a.IsPrivate && lists(a.List, dave)
		}},
	},
	{
		name: "UpdateOpportunity: a title alone changes no access",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.UpdateOpportunity(ctx, actor, crmaccess.Opportunity{ID: 1, Title: "Renamed", Responsible: bob, ContactID: 2, Members: []int64{3}, StageID: 30})
			return resultToken(r, err)
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED},
		by:      dave, // public: anyone edits
		log:     opLog{ref: crmaccess.OpportunityRef(1)},
	},
	{
		name: "DeleteOpportunity: a user on the accessList",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.DeleteOpportunity(ctx, actor, 2)
		},
		refused: map[string]string{bob: crmaccess.ENOTFOUND, erin: crmaccess.EUNAUTHORIZED},
		by:      dave,
		log: opLog{ref: crmaccess.OpportunityRef(2), last: func(b, a crmaccess.AccessState) bool {
			return lists(b.List, dave) && b.Responsible == carol && len(a.List) == 0 && a.Creator == "" && a.Responsible == ""
		}},
	},
	{
		name: "CreateContact: any active user",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.CreateContact(ctx, actor, crmaccess.Contact{ID: 10, FirstName: "New", ShareType: crmaccess.ShareNone, ManagerList: []string{bob}})
			return contactToken(r, err)
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED},
		by:      dave,
		log: opLog{ref: crmaccess.ContactRef(10), last: func(b, a crmaccess.AccessState) bool {
			return len(b.List) == 0 && a.ShareType == crmaccess.ShareNone && lists(a.List, bob)
		}},
	},
	{
		name: "UpdateContact: a manager; a reader may not",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.UpdateContact(ctx, actor, crmaccess.Contact{ID: 3, FirstName: "Mike", LastName: "Renamed", Tags: []string{"lead"}})
			return contactToken(r, err)
		},
		refused: map[string]string{dave: crmaccess.EFORBIDDEN, erin: crmaccess.EUNAUTHORIZED},
		by:      bob,
		log:     opLog{ref: crmaccess.ContactRef(3)},
	},
	{
		name: "UpdateContact: a private contact is hidden from others",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.UpdateContact(ctx, actor, crmaccess.Contact{ID: 2, FirstName: "Tadjeddine", LastName: "Renamed", CompanyID: 1})
			return contactToken(r, err)
		},
		refused: map[string]string{dave: crmaccess.ENOTFOUND, bob: crmaccess.ENOTFOUND},
		by:      alice,
		log:     opLog{ref: crmaccess.ContactRef(2)},
	},
	{
		name: "DeleteContact: a manager",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.DeleteContact(ctx, actor, 3)
		},
		refused: map[string]string{dave: crmaccess.EFORBIDDEN, erin: crmaccess.EUNAUTHORIZED},
		by:      bob,
		log: opLog{ref: crmaccess.ContactRef(3), last: func(b, a crmaccess.AccessState) bool {
			return b.ShareType == crmaccess.ShareRead && lists(b.List, bob) && a.ShareType == crmaccess.ShareNone && len(a.List) == 0
		}},
	},
	{
		name: "SetContactAccess: a manager",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.SetContactAccess(ctx, actor, 3, true, []string{dave})
			return contactToken(r, err)
		},
		refused: map[string]string{dave: crmaccess.EFORBIDDEN, erin: crmaccess.EUNAUTHORIZED},
		by:      bob,
		log: opLog{ref: crmaccess.ContactRef(3), last: func(b, a crmaccess.AccessState) bool {
			return b.ShareType == crmaccess.ShareRead && a.ShareType == crmaccess.ShareNone && lists(a.List, dave)
		}},
	},
	{
		name: "SetContactAccess: an admin, on a contact open to admins only",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			r, err := s.SetContactAccess(ctx, actor, 4, true, []string{carol})
			return contactToken(r, err)
		},
		refused: map[string]string{alice: crmaccess.ENOTFOUND, carol: crmaccess.ENOTFOUND},
		by:      admin,
		log: opLog{ref: crmaccess.ContactRef(4), last: func(b, a crmaccess.AccessState) bool {
			return len(b.List) == 0 && a.ShareType == crmaccess.ShareNone && lists(a.List, carol)
		}},
	},
	{
		name: "AddStage: admins only",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.AddStage(ctx, actor, crmaccess.Stage{ID: 40, Title: "Won"})
		},
		refused: map[string]string{alice: crmaccess.EFORBIDDEN, erin: crmaccess.EUNAUTHORIZED},
		by:      admin,
		log:     opLog{ref: crmaccess.OpportunityRef(1)},
	},
	{
		name: "UpdateStage: admins only",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.UpdateStage(ctx, actor, crmaccess.Stage{ID: 30, Title: "Talks"})
		},
		refused: map[string]string{bob: crmaccess.EFORBIDDEN, erin: crmaccess.EUNAUTHORIZED},
		by:      admin,
		log:     opLog{ref: crmaccess.OpportunityRef(1)},
	},
	{
		name: "GrantAdmin: the host's call, by an active user",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.GrantAdmin(ctx, actor, bob)
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED},
		by:      admin,
		log: opLog{user: bob, last: func(b, a crmaccess.AccessState) bool {
			return !b.Admin && a.Admin && a.Status == crmaccess.UserActive
		}},
	},
	{
		name: "RevokeAdmin: the host's call, by an active user",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.RevokeAdmin(ctx, actor, admin)
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED},
		by:      alice,
		log: opLog{user: admin, last: func(b, a crmaccess.AccessState) bool {
			return b.Admin && !a.Admin
		}},
	},
	{
		name: "PutUser: a new user",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.PutUser(ctx, actor, crmaccess.User{ID: erin, DisplayName: "Erin"})
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED},
		by:      admin,
		log: opLog{user: erin, last: func(b, a crmaccess.AccessState) bool {
			return b.Status == crmaccess.UserUnknown && a.Status == crmaccess.UserActive && !a.Admin
		}},
	},
	{
		name: "SetUserActive: deactivate",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.SetUserActive(ctx, actor, dave, false)
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED},
		by:      admin,
		log: opLog{user: dave, last: func(b, a crmaccess.AccessState) bool {
			return b.Status == crmaccess.UserActive && a.Status == crmaccess.UserInactive
		}},
	},
	{
		name: "RemoveUser: off every list",
		write: func(ctx context.Context, s *crmaccess.Service, actor string) (crmaccess.Token, error) {
			return s.RemoveUser(ctx, actor, dave)
		},
		refused: map[string]string{erin: crmaccess.EUNAUTHORIZED},
		by:      admin,
		log: opLog{ref: crmaccess.OpportunityRef(2), last: func(b, a crmaccess.AccessState) bool {
			return lists(b.List, dave) && !slices.Contains(a.List, dave) && a.IsPrivate
		}},
	},
	{
		name: "Upsert: the host's call, with no actor",
		write: func(ctx context.Context, s *crmaccess.Service, _ string) (crmaccess.Token, error) {
			d := upsertPortal()
			d.Opportunities[0].IsPrivate, d.Opportunities[0].AccessList = true, []string{carol}
			return s.Upsert(ctx, d)
		},
		by: "",
		log: opLog{ref: crmaccess.OpportunityRef(1), last: func(b, a crmaccess.AccessState) bool {
			return !b.IsPrivate && a.IsPrivate && lists(a.List, carol) && a.Creator == alice
		}},
	},
}

// upsertPortal is the test portal's opportunity 1 and what it names.
func upsertPortal() *crmaccess.DataSet {
	return &crmaccess.DataSet{
		Users:    []crmaccess.User{{ID: alice, DisplayName: "Alice Creator", Title: "Sales"}, {ID: bob, DisplayName: "Bob Manager", Title: "Sales"}},
		Stages:   []crmaccess.Stage{{ID: 30, Title: "Discussion"}},
		Contacts: []crmaccess.Contact{{ID: 2, FirstName: "Tadjeddine", ShareType: crmaccess.ShareNone, ManagerList: []string{alice}}, {ID: 3, FirstName: "Mike", ShareType: crmaccess.ShareRead, ManagerList: []string{bob}}},
		Opportunities: []crmaccess.Opportunity{{ID: 1, Title: "Hotel catalogue", CreateBy: alice, Responsible: bob,
			ContactID: 2, Members: []int64{3}, StageID: 30}},
	}
}

// contactToken is the token of a contact write's answer.
func contactToken(c *crmaccess.ContactResult, err error) (crmaccess.Token, error) {
	if err != nil {
		return "", err
	}
	return c.Token, nil
}

func TestEveryWriteSaysWhoMayAndWhatItLogs(t *testing.T) {
	eachDatabase(t, testEveryWriteSaysWhoMayAndWhatItLogs)
}

func testEveryWriteSaysWhoMayAndWhatItLogs(t *testing.T, db database) {
	for _, op := range operations {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel() // each on a store of its own
			ctx := t.Context()
			p := newPortalOn(t, db)
			logOf := func() []crmaccess.Change {
				t.Helper()
				var ch []crmaccess.Change
				var err error
				if op.log.user != "" {
					ch, err = p.AdminChanges(ctx, op.log.user)
				} else {
					ch, err = p.Changes(ctx, op.log.ref)
				}
				if err != nil {
					t.Fatal(err)
				}
				return ch
			}
			before, logBefore, tok := decisions(t, p.Service), logOf(), p.Token()
			for actor, code := range op.refused {
				_, err := op.write(ctx, p.Service, actor)
				if got := crmaccess.ErrorCode(err); got != code {
					t.Errorf("as %q: %q (%v), want %q", actor, got, err, code)
				}
			}
			if p.Token() != tok || len(logOf()) != len(logBefore) || !mapsEqual(before, decisions(t, p.Service)) {
				t.Fatalf("a refused write left a trace: token %s → %s, %d change records → %d", tok, p.Token(), len(logBefore), len(logOf()))
			}

			wrote, err := op.write(ctx, p.Service, op.by)
			if err != nil {
				t.Fatalf("as %q: %v", op.by, err)
			}
			if wrote == tok || p.Token() == tok {
				t.Errorf("the write's token %s, the service's %s: the log did not move from %s", wrote, p.Token(), tok)
			}
			logAfter := logOf()
			switch {
			case op.log.last == nil && len(logAfter) != len(logBefore):
				t.Errorf("a write that changes no access added %d change records: %+v", len(logAfter)-len(logBefore), logAfter[len(logBefore):])
			case op.log.last != nil && len(logAfter) != len(logBefore)+1:
				t.Errorf("%d change records added, want 1: %+v", len(logAfter)-len(logBefore), logAfter[len(logBefore):])
			case op.log.last != nil:
				last := logAfter[len(logAfter)-1]
				if last.Actor != op.by || last.At.IsZero() || !op.log.last(last.Before, last.After) {
					t.Errorf("the change record: actor %q at %v, before %+v, after %+v", last.Actor, last.At, last.Before, last.After)
				}
			}

			// Another instance, given the token, decides as the writer.
			other := p.reopen(t)
			if err := other.WaitFor(ctx, wrote); err != nil {
				t.Fatal(err)
			}
			if !mapsEqual(decisions(t, p.Service), decisions(t, other.Service)) {
				t.Error("a fresh instance given the write's token decides otherwise")
			}
		})
	}
}
