package storage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
)

// The rule encoding the baseline reads back (the policy package's): list,
// creator and responsible lines of a record ("kind:id"), the public
// markers, the admin role and the status lines of a user.
const (
	ruleCreator      = "g2"
	ruleResponsible  = "g3"
	subjectPublic    = "crm:public"
	subjectPubRead   = "crm:public-read"
	statusInactiveTo = "crm:inactive"
)

// baseline writes, once (schema version 6), the baseline entry of a store
// whose change log does not explain its rules: a store written before the
// log existed (schema 1), whose users got their status without change
// records (schema 4), or changed without the log. It compares the access
// every record and user has in the rules with the After of its last
// logged change record (none: no access), and appends one entry of kind
// crmaccess.EntryBaseline with a change record, Before and After both the
// stored access, for each one that differs. A store whose log explains it
// (every store Import filled since) gets no entry. Instances that follow
// the log apply nothing from it: it changes no rule.
func baseline(ctx context.Context, s *Store, gtx *gorm.DB) error {
	tx, ok := gtx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errors.New("storage: the baseline needs the migration's transaction")
	}
	stored, users, err := s.storedAccess(ctx, tx)
	if err != nil {
		return err
	}
	loggedRecords := make(map[crmaccess.Ref]crmaccess.AccessState)
	loggedUsers := make(map[string]crmaccess.AccessState)
	err = queryEach(ctx, tx, `SELECT `+changeColumns+` FROM `+s.t.changes+` WHERE seq IN (SELECT MAX(seq) FROM `+s.t.changes+
		` WHERE log_seq >= 1 GROUP BY entity_kind, entity_id, user_id)`, nil, func(r *sql.Rows) error {
		c, err := scanChange(r)
		if c.Entity == (crmaccess.Ref{}) {
			loggedUsers[c.User] = c.After
		} else {
			loggedRecords[c.Entity] = c.After
		}
		return err
	})
	if err != nil {
		return err
	}
	now := time.Now()
	var changes []crmaccess.Change
	refs := make([]crmaccess.Ref, 0, len(stored))
	for ref := range stored {
		refs = append(refs, ref)
	}
	for ref := range loggedRecords {
		if _, ok := stored[ref]; !ok {
			refs = append(refs, ref)
		}
	}
	slices.SortFunc(refs, func(a, b crmaccess.Ref) int {
		return cmp.Or(strings.Compare(string(a.Kind), string(b.Kind)), cmp.Compare(a.ID, b.ID))
	})
	for _, ref := range refs {
		have, ok := stored[ref]
		if !ok {
			have = noRules()
		}
		logged, ok := loggedRecords[ref]
		if !ok {
			logged = noRules()
		}
		if !sameRecordAccess(ref.Kind, have, logged) {
			changes = append(changes, crmaccess.Change{At: now, Entity: ref, Before: have, After: have})
		}
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	for id := range loggedUsers {
		if _, ok := users[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		have, logged := users[id], loggedUsers[id]
		if have.Admin != logged.Admin || have.Status != logged.Status {
			changes = append(changes, crmaccess.Change{At: now, User: id, Before: have, After: have})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	head, err := s.head(ctx, tx)
	if err != nil {
		return err
	}
	return s.appendLog(ctx, s.newWtx(tx, false), &crmaccess.Batch{Kind: crmaccess.EntryBaseline, At: now, Changes: changes}, head+1)
}

// storedAccess reads the access of every record and user from the rules,
// as the policy package reads it back (crmaccess.Authorizer.Access).
func (s *Store) storedAccess(ctx context.Context, q queryer) (map[crmaccess.Ref]crmaccess.AccessState, map[string]crmaccess.AccessState, error) {
	records := make(map[crmaccess.Ref]*crmaccess.AccessState)
	markers := make(map[crmaccess.Ref]string)
	users := make(map[string]crmaccess.AccessState)
	err := queryEach(ctx, q, `SELECT ptype, v0, v1 FROM `+s.t.rules+` WHERE ptype IN ('`+ruleList+`', '`+ruleCreator+`', '`+
		ruleResponsible+`', '`+ruleAdmin+`', '`+ruleStatus+`')`, nil, func(r *sql.Rows) error {
		var ptype, from, to string
		if err := r.Scan(&ptype, &from, &to); err != nil {
			return err
		}
		switch ptype {
		case ruleAdmin:
			if to == roleAdmin {
				u := users[from]
				u.Admin = true
				users[from] = u
			}
			return nil
		case ruleStatus:
			u := users[from]
			switch to {
			case statusActive:
				u.Status = crmaccess.UserActive
			case statusInactiveTo:
				u.Status = crmaccess.UserInactive
			}
			users[from] = u
			return nil
		}
		kind, id, ok := strings.Cut(from, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			return nil // not a record's line
		}
		ref := crmaccess.Ref{Kind: crmaccess.Kind(kind), ID: n}
		st := records[ref]
		if st == nil {
			st = &crmaccess.AccessState{}
			records[ref] = st
		}
		switch {
		case ptype == ruleCreator:
			st.Creator = to
		case ptype == ruleResponsible:
			st.Responsible = to
		case to == subjectPublic || to == subjectPubRead:
			markers[ref] = to
		default:
			st.List = append(st.List, to)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := make(map[crmaccess.Ref]crmaccess.AccessState, len(records))
	for ref, st := range records {
		slices.Sort(st.List)
		switch marker := markers[ref]; {
		case ref.Kind == crmaccess.KindOpportunity:
			st.IsPrivate = marker == ""
			if !st.IsPrivate {
				st.List = nil
			}
		case marker == subjectPublic:
			st.ShareType = crmaccess.ShareReadWrite
		case marker == subjectPubRead:
			st.ShareType = crmaccess.ShareRead
		default:
			st.ShareType, st.IsPrivate = crmaccess.ShareNone, true
		}
		out[ref] = *st
	}
	return out, users, nil
}

// noRules is the access of a record without rules.
func noRules() crmaccess.AccessState {
	return crmaccess.AccessState{IsPrivate: true, ShareType: crmaccess.ShareNone}
}

// sameRecordAccess reports whether two states of a record of kind give
// the same rules.
func sameRecordAccess(kind crmaccess.Kind, a, b crmaccess.AccessState) bool {
	if kind == crmaccess.KindOpportunity {
		if a.IsPrivate != b.IsPrivate || a.Creator != b.Creator || a.Responsible != b.Responsible {
			return false
		}
		if !a.IsPrivate {
			return true
		}
	} else if a.ShareType != b.ShareType {
		return false
	}
	return slices.Equal(sortedCopy(a.List), sortedCopy(b.List))
}

func sortedCopy(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(list))
}
