package crmaccess_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// auditSeveralProcesses checks the database and every instance once the
// traffic of TestSeveralProcesses is over. It reads the database with SQL
// and gorm-adapter, not through the library.
func auditSeveralProcesses(t *testing.T, run *multiRun) {
	gdb := auditDB(t, run.db)
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	var head int64
	if err := sqlDB.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM ` + run.db.table("log")).Scan(&head); err != nil {
		t.Fatal(err)
	}
	final := crmaccess.Token(fmt.Sprint("p", head))

	// Every instance follows the log by itself: without being given a
	// token, its memory reaches the head.
	for i := range run.children {
		deadline := time.Now().Add(5 * time.Second)
		for {
			tok, err := run.tokenOfInstance(i)
			if err == nil && tok == final {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("instance %d holds %q %v five seconds after the last write; the log's head is %q", i, tok, err, final)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Given the last token, every instance decides as a freshly started
	// Service and as stock Casbin over the rule table.
	fresh, freshTok := freshDecisions(t, run.db)
	if freshTok != final {
		t.Errorf("a fresh Service loaded the state at %q, want the log's head %q", freshTok, final)
	}
	stock := stockDecisions(t, gdb, run.db.ruleTable())
	for key, d := range fresh {
		if allowed := strings.HasPrefix(d, "true "); allowed != stock[key] {
			t.Errorf("%s: a fresh Service decides %q, stock Casbin %v", key, d, stock[key])
		}
	}
	for i := range run.children {
		got, tok, err := run.decisionsOf(i, final)
		if err != nil {
			t.Errorf("instance %d given %s: %v", i, final, err)
			continue
		}
		if tok != final {
			t.Errorf("instance %d given %s answered at %s", i, final, tok)
		}
		if d := diffMaps(fresh, got); d != "" {
			t.Errorf("instance %d given %s decides otherwise than a fresh Service (fresh → instance):\n%s", i, final, d)
		}
	}

	rules := auditRecords(t, sqlDB, run.db)
	auditLog(t, sqlDB, run, head, rules)
}

// auditDB opens the shared database for the audit.
func auditDB(t *testing.T, db multiDB) *gorm.DB {
	t.Helper()
	if db.engine == "postgres" {
		return openPostgres(t, postgresDSN(t))
	}
	gdb, err := gorm.Open(sqlite.Open(storage.SQLiteDSN(db.target)), quietGorm())
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return gdb
}

// stockDecisions asks a stock Casbin enforcer, with crmaccess's model and
// gorm-adapter over the rule table, every (user, record, action) of
// multiDecisions. A contact's access is changed by whoever may edit it.
func stockDecisions(t *testing.T, gdb *gorm.DB, table string) map[string]bool {
	t.Helper()
	e := stockEnforcer(t, gdb, table)
	out := map[string]bool{}
	for _, u := range append(slices.Clone(multiUsers), multiOutsider) {
		for _, ref := range multiRefs() {
			for _, a := range multiActions {
				act := string(a)
				if ref.Kind == crmaccess.KindContact && a == crmaccess.ActionChangeAccess {
					act = string(crmaccess.ActionEdit)
				}
				ok, err := e.Enforce(u, policy.Object(ref), act)
				if err != nil {
					t.Fatal(err)
				}
				out[u+" "+ref.String()+" "+string(a)] = ok
			}
		}
	}
	return out
}

// auditRecords reads the rule table and the records, and checks that no
// record contradicts itself: no public marker beside list lines, privacy
// columns that agree with the markers, an opportunity's creator and
// responsible lines those of its row, no rule of a record that does not
// exist. It returns the rule table.
func auditRecords(t *testing.T, db *sql.DB, m multiDB) map[crmaccess.Rule]bool {
	t.Helper()
	rules := map[crmaccess.Rule]bool{}
	lines := map[string]map[string][]string{} // object → line type → values
	rows, err := db.Query(`SELECT ptype, v0, v1, v2 || v3 || v4 || v5 FROM ` + m.ruleTable())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r crmaccess.Rule
		var rest string
		if err := rows.Scan(&r.Type, &r.From, &r.To, &rest); err != nil {
			t.Fatal(err)
		}
		if rest != "" || rules[r] {
			t.Errorf("rule line %v (more values %q) is extra or twice", r, rest)
		}
		rules[r] = true
		if lines[r.From] == nil {
			lines[r.From] = map[string][]string{}
		}
		lines[r.From][r.Type] = append(lines[r.From][r.Type], r.To)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	seen := map[string]bool{}
	markers := func(obj string) (public, publicRead bool, users []string) {
		for _, v := range lines[obj]["g"] {
			switch v {
			case "crm:public":
				public = true
			case "crm:public-read":
				publicRead = true
			default:
				users = append(users, v)
			}
		}
		if (public || publicRead) && len(users) > 0 {
			t.Errorf("%s has a public marker and list lines: %v", obj, lines[obj]["g"])
		}
		return public, publicRead, users
	}

	rows, err = db.Query(`SELECT id, is_private, create_by, responsible FROM ` + m.table("opportunities"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var private bool
		var creator, responsible string
		if err := rows.Scan(&id, &private, &creator, &responsible); err != nil {
			t.Fatal(err)
		}
		obj := policy.Object(crmaccess.OpportunityRef(id))
		seen[obj] = true
		public, publicRead, _ := markers(obj)
		if private == public || publicRead {
			t.Errorf("%s: is_private %v, but its lines are %v", obj, private, lines[obj]["g"])
		}
		if !slices.Equal(lines[obj]["g2"], []string{creator}) || !slices.Equal(lines[obj]["g3"], []string{responsible}) {
			t.Errorf("%s: created by %s, responsible %s, but its lines are %v", obj, creator, responsible, lines[obj])
		}
	}
	rows.Close()

	rows, err = db.Query(`SELECT id, share_type FROM ` + m.table("contacts"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var share crmaccess.ShareType
		if err := rows.Scan(&id, &share); err != nil {
			t.Fatal(err)
		}
		obj := policy.Object(crmaccess.ContactRef(id))
		seen[obj] = true
		public, publicRead, _ := markers(obj)
		if public != (share == crmaccess.ShareReadWrite) || publicRead != (share == crmaccess.ShareRead) || len(lines[obj]) > 1 {
			t.Errorf("%s: share_type %d, but its lines are %v", obj, share, lines[obj])
		}
	}
	rows.Close()

	for obj, byType := range lines {
		// A user's lines: its status, and the admin role of an active one.
		userLines := len(byType["g5"]) == 1 && (byType["g5"][0] == "crm:active" || byType["g5"][0] == "crm:inactive") &&
			(len(byType) == 1 || len(byType) == 2 && len(byType["g4"]) == 1 && byType["g4"][0] == "crm:admin")
		if !seen[obj] && !userLines {
			t.Errorf("rule lines %v name %s, which is neither a record nor an admin", byType, obj)
		}
	}
	return rules
}

// loggedChange is a change record as the audit reads it.
type loggedChange struct {
	pos, seq      int64
	key           string // "opportunity:3", "contact:5", "admin:USER"
	ref           crmaccess.Ref
	user          string
	before, after crmaccess.AccessState
}

// auditLog replays the log from nothing, checking that positions run
// 1, 2, … head, each entry whole, each change starting from the replayed
// state; that every acknowledged write's answer is the replayed state at
// its token; that the last acknowledged write of each record is its final
// state unless an unacknowledged entry came after; and that the replay
// ends at the rule table.
func auditLog(t *testing.T, db *sql.DB, run *multiRun, head int64, rules map[crmaccess.Rule]bool) {
	t.Helper()
	counts := map[int64]int64{}
	rows, err := db.Query(`SELECT seq, changes FROM ` + run.db.table("log") + ` ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var want int64 = 1
	for rows.Next() {
		var seq, n int64
		if err := rows.Scan(&seq, &n); err != nil {
			t.Fatal(err)
		}
		if seq != want {
			t.Fatalf("the log holds position %d where %d was due", seq, want)
		}
		counts[seq] = n
		want++
	}
	rows.Close()

	byPos := map[int64][]loggedChange{}
	rows, err = db.Query(`SELECT log_seq, seq, entity_kind, entity_id, user_id,
		before_private, before_share, before_list, before_admin, before_creator, before_responsible,
		after_private, after_share, after_list, after_admin, after_creator, after_responsible,
		before_status, after_status
		FROM ` + run.db.table("changes") + ` ORDER BY log_seq, seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c loggedChange
		var kind, beforeList, afterList, beforeStatus, afterStatus string
		var bs, as int64
		if err := rows.Scan(&c.pos, &c.seq, &kind, &c.ref.ID, &c.user,
			&c.before.IsPrivate, &bs, &beforeList, &c.before.Admin, &c.before.Creator, &c.before.Responsible,
			&c.after.IsPrivate, &as, &afterList, &c.after.Admin, &c.after.Creator, &c.after.Responsible,
			&beforeStatus, &afterStatus); err != nil {
			t.Fatal(err)
		}
		c.before.Status, c.after.Status = crmaccess.UserStatus(beforeStatus), crmaccess.UserStatus(afterStatus)
		c.before.ShareType, c.after.ShareType = crmaccess.ShareType(bs), crmaccess.ShareType(as)
		if json.Unmarshal([]byte(beforeList), &c.before.List) != nil || json.Unmarshal([]byte(afterList), &c.after.List) != nil {
			t.Fatalf("change %d: lists %q, %q are not JSON", c.seq, beforeList, afterList)
		}
		c.ref.Kind = crmaccess.Kind(kind)
		c.key = c.ref.String()
		if kind == "" {
			c.key = "admin:" + c.user
		}
		byPos[c.pos] = append(byPos[c.pos], c)
	}
	rows.Close()

	run.mu.Lock()
	acks := slices.Clone(run.acks)
	unknown := run.unknown
	run.mu.Unlock()
	acksAt := map[int64][]ackedWrite{}
	lastAck := map[string]ackedWrite{}
	for _, a := range acks {
		if a.pos < 1 || a.pos > head {
			t.Errorf("%s was acknowledged at position %d, outside the log (1 to %d)", a.what, a.pos, head)
		}
		acksAt[a.pos] = append(acksAt[a.pos], a)
		for key := range a.states {
			if last, ok := lastAck[key]; !ok || a.pos > last.pos {
				lastAck[key] = a
			}
		}
	}

	state := map[string]loggedChange{} // key → its last change
	// held is the replayed state of key; before its first change, the
	// state of no rules (a record that does not exist is private and has
	// nobody on its list).
	held := func(key string) crmaccess.AccessState {
		if c, ok := state[key]; ok {
			return c.after
		}
		return crmaccess.AccessState{IsPrivate: true}
	}
	lastTouch := map[string]int64{} // key → the position of its last change
	var unclaimed []int64           // entries no acknowledged write names
	for pos := int64(1); pos <= head; pos++ {
		changes := byPos[pos]
		if int64(len(changes)) != counts[pos] { // an edit of a record alone changes no access
			t.Errorf("entry %d: %d change records, the log row says %d", pos, len(changes), counts[pos])
		}
		for _, c := range changes {
			if !sameRuleSet(replayRules(c.ref, c.user, c.before), replayRules(c.ref, c.user, held(c.key))) {
				t.Errorf("entry %d: change %d of %s starts from %+v, the replay holds %+v", pos, c.seq, c.key, c.before, held(c.key))
			}
			state[c.key] = c
			lastTouch[c.key] = pos
		}
		if len(acksAt[pos]) == 0 && pos > 1 {
			unclaimed = append(unclaimed, pos)
		}
		for _, a := range acksAt[pos] {
			for key, got := range a.states {
				if db := stateOf(key, held(key)); db != got {
					t.Errorf("%s was acknowledged at position %d as %s %s, but the database held %s", a.what, pos, key, got, db)
				}
			}
		}
	}
	for pos := range byPos {
		if pos < 1 || pos > head {
			t.Errorf("change records name position %d, outside the log (1 to %d)", pos, head)
		}
	}
	if len(unclaimed) > unknown {
		t.Errorf("%d log entries (%v) answer no acknowledged write, but only %d writes had an unknown outcome",
			len(unclaimed), unclaimed, unknown)
	}
	for key, a := range lastAck {
		final := stateOf(key, held(key))
		if final != a.states[key] && lastTouch[key] <= a.pos {
			t.Errorf("%s: the last acknowledged write (%s, at %d) left %s, but it is %s and nothing changed it after",
				key, a.what, a.pos, a.states[key], final)
		}
	}

	replayed := map[crmaccess.Rule]bool{}
	for _, c := range state {
		for _, r := range replayRules(c.ref, c.user, c.after) {
			replayed[r] = true
		}
	}
	if d := diffMaps(ruleKeys(replayed), ruleKeys(rules)); d != "" {
		t.Errorf("the log replays to other rules than the rule table holds (replay → table):\n%s", d)
	}
	run.t.Logf("log: %d entries, %d not answered by an acknowledged write", head, len(unclaimed))
}

// replayRules are the rules of a state, by the policy package's
// translation.
func replayRules(ref crmaccess.Ref, user string, st crmaccess.AccessState) []crmaccess.Rule {
	switch ref.Kind {
	case crmaccess.KindOpportunity:
		return policy.OpportunityRules(&crmaccess.Opportunity{ID: ref.ID, IsPrivate: st.IsPrivate, AccessList: st.List,
			CreateBy: st.Creator, Responsible: st.Responsible})
	case crmaccess.KindContact:
		return policy.ContactRules(&crmaccess.Contact{ID: ref.ID, ShareType: st.ShareType, ManagerList: st.List})
	}
	var rules []crmaccess.Rule
	if st.Admin {
		rules = append(rules, policy.AdminRule(user))
	}
	if r, ok := policy.StatusRule(user, st.Status); ok {
		rules = append(rules, r)
	}
	return rules
}

// stateOf renders a replayed state as the writes' answers are rendered.
func stateOf(key string, st crmaccess.AccessState) string {
	switch {
	case strings.HasPrefix(key, "admin:"):
		return adminState(st.Admin)
	case strings.HasPrefix(key, string(crmaccess.KindOpportunity)+":"):
		return opportunityState(st.IsPrivate, st.List)
	}
	return contactState(st.ShareType, st.List)
}

func sameRuleSet(a, b []crmaccess.Rule) bool {
	return mapsEqual(ruleKeys(setOf(a)), ruleKeys(setOf(b)))
}

func setOf(rules []crmaccess.Rule) map[crmaccess.Rule]bool {
	out := map[crmaccess.Rule]bool{}
	for _, r := range rules {
		out[r] = true
	}
	return out
}

func ruleKeys(rules map[crmaccess.Rule]bool) map[string]bool {
	out := map[string]bool{}
	for r := range rules {
		out[r.Type+", "+r.From+", "+r.To] = true
	}
	return out
}

// stockEnforcer is a stock Casbin enforcer with crmaccess's model, loaded
// by gorm-adapter from the rule table of gdb: the independent audit.
func stockEnforcer(t *testing.T, gdb *gorm.DB, table string) *casbin.Enforcer {
	t.Helper()
	adapter, err := gormadapter.NewAdapterByDBUseTableName(gdb, "", table)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewModelFromString(policy.Model())
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m, adapter)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
