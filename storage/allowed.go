package storage

import (
	"regexp"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
)

// Allowed returns a GORM scope that restricts any query over the caller's
// own tables to the rows whose idColumn holds the id of a stored record of
// kind on which user may do action (read; edit or delete; change access):
//
//	db.Model(&Deal{}).Scopes(store.Allowed(user, crmaccess.KindOpportunity,
//		crmaccess.ActionRead, "deals.id")).Where("stage = ?", 3).Order("id").Limit(50).Find(&deals)
//
// The database decides, as Service.Check does from the same rows: an admin
// (the admin rule in the rule table), a public opportunity, its creator or
// responsible user (columns of the opportunities table), a contact's share
// type (Read reads only), or a list rule naming user. It costs, per row of
// the caller's query, a primary-key probe of the record table and at most
// two probes of the rule table's unique index on (ptype, v0, v1, …).
//
// A row whose idColumn names no stored record is not returned, to anyone:
// the scope keeps records the user may see, and an admin sees every record,
// not every id.
//
// The scope ANDs its condition to the query's; a condition the host adds
// with Or widens the query past it, as with any scope.
//
// idColumn is a qualified column, "table.column" or "schema.table.column",
// in identifier characters (it is written into the SQL; its table or alias
// may not start with crmaccess_, the scope's own aliases). user is a
// canonical GUID. A bad argument fails closed: the query returns no rows
// and the error EINVALID (db.Error).
func (s *Store) Allowed(user string, kind crmaccess.Kind, action crmaccess.Action, idColumn string) func(*gorm.DB) *gorm.DB {
	cond, args, err := s.allowedSQL(user, kind, action, idColumn)
	return func(db *gorm.DB) *gorm.DB {
		if err != nil {
			db.AddError(err)
			return db.Where("1 = 0")
		}
		return db.Where(cond, args...)
	}
}

// qualifiedColumn is a column named with its table (and schema).
var qualifiedColumn = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}$`)

// The rule encoding of the policy package, as the scope reads it: list
// rules ("g", "opportunity:ID", user), the admin rule (user →
// "crm:admin"). The conformance tests hold it to the policy package.
const (
	ruleList        = "g"
	ruleAdmin       = "g4"
	roleAdmin       = "crm:admin"
	ruleStatus      = "g5"
	statusActive    = "crm:active"
	aliasRecord     = "crmaccess_rec"
	aliasRule       = "crmaccess_rule"
	aliasAdmin      = "crmaccess_adm"
	reservedAliases = "crmaccess_"
)

// allowedSQL is the scope's condition and its arguments.
func (s *Store) allowedSQL(user string, kind crmaccess.Kind, action crmaccess.Action, idColumn string) (string, []any, error) {
	if !qualifiedColumn.MatchString(idColumn) {
		return "", nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: the id column %q is not a qualified column name (table.column)", idColumn)
	}
	for _, part := range strings.Split(strings.ToLower(idColumn), ".") {
		if strings.HasPrefix(part, reservedAliases) {
			return "", nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: the id column %q uses a name the scope reserves (%s…)", idColumn, reservedAliases)
		}
	}
	if id, err := crmaccess.ParseGUID(user); err != nil || id != user {
		return "", nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: user %q is not a canonical GUID", user)
	}
	if !action.Valid() {
		return "", nil, crmaccess.Errorf(crmaccess.EINVALID, "storage: unknown action %q", action)
	}
	table, err := s.recordTable(kind)
	if err != nil {
		return "", nil, err
	}
	rec := aliasRecord + "."
	admin := `EXISTS (SELECT 1 FROM ` + s.t.rules + ` ` + aliasAdmin + ` WHERE ` + aliasAdmin + `.ptype = '` + ruleAdmin +
		`' AND ` + aliasAdmin + `.v0 = ? AND ` + aliasAdmin + `.v1 = '` + roleAdmin + `')`
	listed := `EXISTS (SELECT 1 FROM ` + s.t.rules + ` ` + aliasRule + ` WHERE ` + aliasRule + `.ptype = '` + ruleList +
		`' AND ` + aliasRule + `.v0 = '` + string(kind) + `:' || ` + rec + `id AND ` + aliasRule + `.v1 = ?` + s.d.probeOnly() + `)`
	var grants []string
	args := []any{user}
	switch {
	case kind == crmaccess.KindOpportunity && action == crmaccess.ActionChangeAccess:
		grants = []string{rec + `create_by = ?`}
		args = append(args, user)
	case kind == crmaccess.KindOpportunity:
		grants = []string{`NOT ` + rec + `is_private`, rec + `create_by = ?`, rec + `responsible = ?`, listed}
		args = append(args, user, user, user)
	case action == crmaccess.ActionRead:
		grants = []string{rec + `share_type IN (` + shareSQL(crmaccess.ShareReadWrite) + `, ` + shareSQL(crmaccess.ShareRead) + `)`, listed}
		args = append(args, user)
	default: // a contact's edit, delete and change of access
		grants = []string{rec + `share_type = ` + shareSQL(crmaccess.ShareReadWrite), listed}
		args = append(args, user)
	}
	// Only a known, active user is granted anything (a g5 crm:active line).
	active := `EXISTS (SELECT 1 FROM ` + s.t.rules + ` ` + aliasAdmin + ` WHERE ` + aliasAdmin + `.ptype = '` + ruleStatus +
		`' AND ` + aliasAdmin + `.v0 = ? AND ` + aliasAdmin + `.v1 = '` + statusActive + `')`
	cond := active + ` AND EXISTS (SELECT 1 FROM ` + table + ` ` + aliasRecord + ` WHERE ` + rec + `id = ` + idColumn +
		` AND (` + admin + ` OR ` + strings.Join(grants, ` OR `) + `))`
	return cond, append([]any{user}, args...), nil
}

func shareSQL(t crmaccess.ShareType) string { return strconv.Itoa(int(t)) }

// probeOnly ends a correlated EXISTS that must stay a probe per row.
// PostgreSQL may otherwise plan the EXISTS as a hashed IN over every list
// rule of the user, and the rule table has no index by user: a scan of the
// whole table. OFFSET 0 keeps it from that rewrite (the planner rewrites
// only EXISTS queries without an OFFSET), so each row that needs it probes
// the unique index on (ptype, v0, v1).
func (d dialect) probeOnly() string {
	if d.postgres() {
		return ` OFFSET 0`
	}
	return ``
}
