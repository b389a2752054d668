package crmaccess_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/httpadapter"
)

// multiSecondsEnv sets how long TestSeveralProcesses sends writes (default
// 2 s; 4 s in the long tier).
const multiSecondsEnv = "CRMACCESS_MULTI_SECONDS"

// The shape of the run: instances, writers and checkers.
const (
	multiChildren = 3
	multiWriters  = 4 // writer w alone grants and revokes the admin role of multiUsers[1+w]
	multiCheckers = 2
)

// The data set of TestSeveralProcesses: six users, twenty contacts, ten
// opportunities.
var (
	multiUsers = []string{
		"bbbbbbbb-0000-0000-0000-000000000001", // the root admin: the usual actor, never revoked
		"bbbbbbbb-0000-0000-0000-000000000002", // an admin at the start
		"bbbbbbbb-0000-0000-0000-000000000003",
		"bbbbbbbb-0000-0000-0000-000000000004",
		"bbbbbbbb-0000-0000-0000-000000000005",
		"bbbbbbbb-0000-0000-0000-000000000006", // never an admin
	}
	multiOutsider = "bbbbbbbb-0000-0000-0000-000000000099" // not a user of the store: 401
)

const (
	multiContacts      = 20
	multiOpportunities = 10
)

// multiFixture has contacts of every share type (private ones with and
// without managers; shared ones without), tagged t0 to t3 with stages and
// types to filter by, and opportunities public and private.
func multiFixture() *crmaccess.DataSet {
	fx := &crmaccess.DataSet{Stages: []crmaccess.Stage{{ID: 1, Title: "Talks", Color: "#B9AFD3"}}}
	for i, u := range multiUsers {
		fx.Users = append(fx.Users, crmaccess.User{ID: u, DisplayName: fmt.Sprint("User ", i)})
		if i <= 1 {
			fx.Admins = append(fx.Admins, u)
		}
	}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := int64(1); i <= multiContacts; i++ {
		share := crmaccess.ShareType([]int{0, 1, 2, 0}[i%4])
		c := crmaccess.Contact{
			ID: i, FirstName: fmt.Sprint("First", i), LastName: fmt.Sprint("Last", i),
			Tags:         []string{fmt.Sprint("t", i%4)},
			ContactStage: i % 3, ContactType: i % 2,
			Created:  created.Add(time.Duration(i) * time.Hour),
			CreateBy: multiUsers[1+i%5], ShareType: share,
		}
		if i%5 == 1 {
			c.IsCompany, c.CompanyName, c.FirstName, c.LastName = true, fmt.Sprint("Company ", i), "", ""
		}
		if i%4 == 0 {
			c.ManagerList = []string{multiUsers[1+i%5], multiUsers[1+(i+1)%5]}
		}
		fx.Contacts = append(fx.Contacts, c)
	}
	for i := int64(1); i <= multiOpportunities; i++ {
		o := crmaccess.Opportunity{
			ID: i, Title: fmt.Sprint("Deal ", i), CreateBy: multiUsers[1+i%5], Responsible: multiUsers[1+(i+2)%5],
			ContactID: i, StageID: 1, Created: created.Add(time.Duration(i) * time.Minute),
		}
		if i%2 == 0 {
			o.IsPrivate, o.AccessList = true, []string{multiUsers[1+(i+1)%5]}
		}
		fx.Opportunities = append(fx.Opportunities, o)
	}
	return fx
}

// multiRefs are every record of the data set and a missing one of each kind.
func multiRefs() []crmaccess.Ref {
	var refs []crmaccess.Ref
	for i := int64(1); i <= multiOpportunities; i++ {
		refs = append(refs, crmaccess.OpportunityRef(i))
	}
	for i := int64(1); i <= multiContacts; i++ {
		refs = append(refs, crmaccess.ContactRef(i))
	}
	for i := range int64(multiCreated) {
		refs = append(refs, crmaccess.OpportunityRef(multiOpportunities+1+i), crmaccess.ContactRef(multiContacts+1+i))
	}
	return append(refs, crmaccess.OpportunityRef(99), crmaccess.ContactRef(99))
}

// multiCreated is how many records of each kind beyond the data set the
// writers create and delete.
const multiCreated = 4

var multiActions = []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess}

// multiDecisions asks svc every (user, record, action) of the data set; the
// answers are keyed "user record action" and read "allowed reason".
func multiDecisions(ctx context.Context, svc *crmaccess.Service) (map[string]string, error) {
	out := map[string]string{}
	for _, u := range append(slices.Clone(multiUsers), multiOutsider) {
		for _, ref := range multiRefs() {
			for _, a := range multiActions {
				d, err := svc.Check(ctx, u, ref, a)
				if crmaccess.ErrorCode(err) == crmaccess.EUNAUTHORIZED {
					d, err = crmaccess.Decision{Reason: "unauthorized"}, nil // not a user of the store
				}
				if err != nil {
					return nil, err
				}
				out[u+" "+ref.String()+" "+string(a)] = fmt.Sprintf("%v %s", d.Allowed, d.Reason)
			}
		}
	}
	return out, nil
}

// TestSeveralProcesses runs three instances as separate processes over one
// database (a SQLite file; PostgreSQL) and sends them random concurrent
// writes (opportunity access, contact filters, admin grants and
// revocations) and checks, with and without consistency tokens, for a few
// seconds; one instance is killed with SIGKILL mid-run and started again
// (one more for every further 5 s of CRMACCESS_MULTI_SECONDS).
// Then: no request failed with 500; an admin change acknowledged by one
// instance is seen by another given its token; every acknowledged write's
// answer is the database's state at its token, and the last acknowledged
// write of each record is its final state unless an unacknowledged write
// came after; every instance follows the log to its head by itself, and
// given the last token decides every (user, record, action) exactly as a
// freshly started Service and a stock Casbin enforcer over the rule table;
// no record is self-contradictory; the log replays to the rule table (see
// auditSeveralProcesses).
func TestSeveralProcesses(t *testing.T) {
	t.Parallel() // a long test of its own: it overlaps the others of its kind on the second core
	if os.Getenv(multiChildEnv) != "" {
		t.Skip("in a child")
	}
	t.Run("sqlite", func(t *testing.T) {
		runSeveralProcesses(t, multiDB{engine: "sqlite", target: filepath.Join(t.TempDir(), "crm.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		opts := postgresTables(t, openPostgres(t, postgresDSN(t)))
		runSeveralProcesses(t, multiDB{engine: "postgres", target: opts.TablePrefix})
	})
}

func runSeveralProcesses(t *testing.T, db multiDB) {
	ctx := context.Background()
	duration := time.Duration(size(t, multiSecondsEnv, 2, 4)) * time.Second
	{
		svc := serviceOver(t, db.openStore(t))
		if _, err := svc.Import(ctx, multiFixture()); err != nil {
			t.Fatalf("Import: %v", err)
		}
		svc.Close()
	}

	run := &multiRun{t: t, db: db, client: &http.Client{Timeout: 30 * time.Second},
		children: make([]*multiChild, multiChildren), status: map[string]int{}}
	start := time.Now()
	for i := range run.children {
		c, err := startMultiChild(db)
		if err != nil {
			t.Fatal(err)
		}
		run.children[i] = c
		t.Cleanup(func() { run.children[i].stop(t) })
	}
	t.Logf("%d instances started in %v", multiChildren, time.Since(start).Round(time.Millisecond))

	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for w := range multiWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.writer(rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w))), multiUsers[1+w], deadline)
		}()
	}
	for c := range multiCheckers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.checker(rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(100+c))), deadline)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// One kill mid-run, and one more for every further 5 s of a
		// longer run.
		kills := max(1, int(duration/(5*time.Second)))
		for k := range kills {
			time.Sleep(time.Until(deadline.Add(-duration).Add(duration * time.Duration(5*k+2) / time.Duration(5*kills))))
			run.killAndRestart(rand.IntN(multiChildren))
		}
	}()
	wg.Wait()

	run.mu.Lock()
	t.Logf("%v of traffic: %d writes acknowledged, %d of unknown outcome; answers %v", duration, len(run.acks), run.unknown, run.status)
	for _, f := range run.failures {
		t.Error(f)
	}
	run.mu.Unlock()
	if t.Failed() {
		run.dumpChildren()
		return
	}
	auditSeveralProcesses(t, run)
	auditHistory(t, run)
	if t.Failed() {
		run.dumpChildren()
	}
}

// multiRun is the state of one run: the instances and what the parent saw.
type multiRun struct {
	t      *testing.T
	db     multiDB
	client *http.Client

	mu        sync.Mutex
	children  []*multiChild // nil while one is being restarted
	killed    *multiChild
	acks      []ackedWrite
	unknown   int            // writes answered by neither success nor a 4xx: their outcome is unknown
	status    map[string]int // "what status" → count
	failures  []string
	latestPos int64 // the newest acknowledged write's token and its position
	latestTok crmaccess.Token
}

// ackedWrite is a write an instance acknowledged: its token's position and
// the state of each record (or admin role) the answer showed.
type ackedWrite struct {
	pos    int64
	what   string
	states map[string]string // "opportunity:3", "contact:5", "admin:USER" → state
}

func opportunityState(private bool, list []string) string {
	return fmt.Sprintf("private=%v list=%s", private, strings.Join(slices.Sorted(slices.Values(list)), ","))
}

func contactState(share crmaccess.ShareType, list []string) string {
	return fmt.Sprintf("share=%d list=%s", share, strings.Join(slices.Sorted(slices.Values(list)), ","))
}

func adminState(admin bool) string { return fmt.Sprintf("admin=%v", admin) }

// tokenPosition reads the log position a token names. Tokens are opaque to
// clients; the test knows they are "p" and the position, to hold each
// write's answer to the log.
func tokenPosition(tok crmaccess.Token) (int64, error) {
	digits, ok := strings.CutPrefix(string(tok), "p")
	if !ok {
		return 0, fmt.Errorf("token %q is not a log position", tok)
	}
	return strconv.ParseInt(digits, 10, 64)
}

func (r *multiRun) failf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) < 20 {
		r.failures = append(r.failures, fmt.Sprintf(format, args...))
	}
}

// pick returns a running instance other than not (-1 for any).
func (r *multiRun) pick(rng *rand.Rand, not int) (int, *multiChild) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var live []int
	for i, c := range r.children {
		if c != nil && i != not {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return -1, nil
	}
	i := live[rng.IntN(len(live))]
	return i, r.children[i]
}

func (r *multiRun) latest() crmaccess.Token {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latestTok
}

// multiAnswer is an instance's answer.
type multiAnswer struct {
	status int
	token  crmaccess.Token
	body   []byte
}

// send sends one request to the instance at addr as user, with tok in
// X-Consistency-Token unless empty, and counts the answer under what. A 500
// fails the test.
func (r *multiRun) send(what string, child int, c *multiChild, method, path, user string, tok crmaccess.Token, body any) (*multiAnswer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+c.addr+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+user)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set(headerToken, string(tok))
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.mu.Lock()
		r.status[what+" no answer"]++
		r.mu.Unlock()
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.status[fmt.Sprint(what, " ", resp.StatusCode)]++
	r.mu.Unlock()
	if resp.StatusCode == http.StatusInternalServerError {
		r.failf("instance %d answered 500 to %s %s: %s", child, method, path, b)
	}
	return &multiAnswer{status: resp.StatusCode, token: crmaccess.Token(resp.Header.Get(headerToken)), body: b}, nil
}

// sendWrite is send for a write, counted while it is in hand.
func (r *multiRun) sendWrite(what string, child int, c *multiChild, method, path, user string, body any) (*multiAnswer, error) {
	c.writing.Add(1)
	defer c.writing.Add(-1)
	return r.send(what, child, c, method, path, user, "", body)
}

// settle records the outcome of a write: acknowledged (200, with the
// states its answer shows), refused (a 4xx: nothing written), or unknown
// (no answer, a 503: it may have committed).
func (r *multiRun) settle(what string, ans *multiAnswer, err error, states func(body []byte) (map[string]string, error)) (*ackedWrite, bool) {
	if err != nil || ans.status >= 500 {
		r.mu.Lock()
		r.unknown++
		r.mu.Unlock()
		return nil, false
	}
	if ans.status != http.StatusOK {
		return nil, false
	}
	pos, err := tokenPosition(ans.token)
	if err != nil {
		r.failf("%s: %v", what, err)
		return nil, false
	}
	st, err := states(ans.body)
	if err != nil {
		r.failf("%s: answer %s: %v", what, ans.body, err)
		return nil, false
	}
	a := ackedWrite{pos: pos, what: what, states: st}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acks = append(r.acks, a)
	if pos > r.latestPos {
		r.latestPos, r.latestTok = pos, ans.token
	}
	return &a, true
}

// userRefs reads the users of a rendered list.
func userRefs(list []struct {
	ID string `json:"id"`
}) []string {
	out := make([]string, 0, len(list))
	for _, u := range list {
		out = append(out, u.ID)
	}
	return out
}

// randomUsers returns up to max distinct users other than the root admin.
func randomUsers(rng *rand.Rand, max int) []string {
	n := rng.IntN(max + 1)
	perm := rng.Perm(len(multiUsers) - 1)
	out := make([]string, 0, n)
	for _, i := range perm[:n] {
		out = append(out, multiUsers[1+i])
	}
	return out
}

// writer sends random writes until the deadline: opportunity access,
// contact filters, and the admin role of owned (which only this writer
// changes, so that it knows what another instance must answer given the
// write's token).
func (r *multiRun) writer(rng *rand.Rand, owned string, deadline time.Time) {
	for time.Now().Before(deadline) {
		child, c := r.pick(rng, -1)
		if child < 0 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		switch n := rng.IntN(12); {
		case n < 5:
			r.writeOpportunity(rng, child, c)
		case n < 8:
			r.writeContacts(rng, child, c)
		case n < 10:
			r.writeLifecycle(rng, child, c)
		default:
			r.writeAdmin(rng, child, c, owned)
		}
	}
}

func (r *multiRun) writeOpportunity(rng *rand.Rand, child int, c *multiChild) {
	id := 1 + rng.Int64N(multiOpportunities)
	actor := multiUsers[0]
	switch rng.IntN(10) {
	case 0, 1:
		actor = multiUsers[1+id%5] // the creator
	case 2:
		actor = multiUsers[rng.IntN(len(multiUsers))]
	}
	private, list := rng.IntN(3) > 0, randomUsers(rng, 3)
	what := fmt.Sprintf("opportunity %d private=%v %v by %s", id, private, list, actor)
	ans, err := r.sendWrite("opportunity", child, c, http.MethodPut, fmt.Sprintf("%s/opportunity/%d/access", httpadapter.DefaultPrefix, id),
		actor, map[string]any{"isPrivate": private, "accessList": list})
	r.settle(what, ans, err, func(body []byte) (map[string]string, error) {
		var env struct {
			Response struct {
				ID         int64 `json:"id"`
				IsPrivate  bool  `json:"isPrivate"`
				AccessList []struct {
					ID string `json:"id"`
				} `json:"accessList"`
			} `json:"response"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, err
		}
		o := env.Response
		if o.ID != id {
			return nil, fmt.Errorf("answered opportunity %d", o.ID)
		}
		return map[string]string{crmaccess.OpportunityRef(id).String(): opportunityState(o.IsPrivate, userRefs(o.AccessList))}, nil
	})
	if err == nil && ans.status != http.StatusOK && ans.status != http.StatusForbidden &&
		ans.status != http.StatusNotFound && ans.status != http.StatusServiceUnavailable {
		r.failf("%s: answered %d: %s", what, ans.status, ans.body)
	}
}

// writeLifecycle creates, updates or deletes one of the records beyond the
// data set.
func (r *multiRun) writeLifecycle(rng *rand.Rand, child int, c *multiChild) {
	kind, id := crmaccess.KindOpportunity, multiOpportunities+1+rng.Int64N(multiCreated)
	if rng.IntN(2) == 0 {
		kind, id = crmaccess.KindContact, multiContacts+1+rng.Int64N(multiCreated)
	}
	ref := crmaccess.Ref{Kind: kind, ID: id}
	op := []string{"create", "update", "delete"}[rng.IntN(3)]
	actor := multiUsers[rng.IntN(len(multiUsers))]
	private, list := rng.IntN(2) == 0, randomUsers(rng, 2)
	responsible := multiUsers[rng.IntN(len(multiUsers))]
	what := fmt.Sprintf("%s %v private=%v %v responsible %s by %s", op, ref, private, list, responsible, actor)
	form := url.Values{"op": {op}, "kind": {string(kind)}, "id": {strconv.FormatInt(id, 10)},
		"private": {strconv.FormatBool(private)}, "list": list, "responsible": {responsible}}
	ans, err := r.sendWrite("lifecycle", child, c, http.MethodPost, "/test/lifecycle?"+form.Encode(), actor, nil)
	r.settle(what, ans, err, func(body []byte) (map[string]string, error) {
		var got struct {
			Deleted   bool                `json:"deleted"`
			IsPrivate bool                `json:"isPrivate"`
			ShareType crmaccess.ShareType `json:"shareType"`
			List      []string            `json:"list"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return nil, err
		}
		switch {
		case got.Deleted && kind == crmaccess.KindOpportunity:
			return map[string]string{ref.String(): opportunityState(true, nil)}, nil
		case got.Deleted:
			return map[string]string{ref.String(): contactState(crmaccess.ShareNone, nil)}, nil
		case kind == crmaccess.KindOpportunity:
			return map[string]string{ref.String(): opportunityState(got.IsPrivate, got.List)}, nil
		}
		return map[string]string{ref.String(): contactState(got.ShareType, got.List)}, nil
	})
	if err == nil && ans.status != http.StatusOK && ans.status != http.StatusConflict && ans.status != http.StatusForbidden &&
		ans.status != http.StatusNotFound && ans.status != http.StatusServiceUnavailable {
		r.failf("%s: answered %d: %s", what, ans.status, ans.body)
	}
}

func (r *multiRun) writeContacts(rng *rand.Rand, child int, c *multiChild) {
	actor := multiUsers[0]
	if rng.IntN(5) == 0 {
		actor = multiUsers[rng.IntN(len(multiUsers))]
	}
	private := rng.IntN(2) == 0
	body := map[string]any{"isPrivate": private, "managerList": randomUsers(rng, 2)}
	switch rng.IntN(3) {
	case 0:
		body["tags"] = []string{fmt.Sprint("t", rng.IntN(4))}
	case 1:
		body["contactStage"] = rng.IntN(3)
	default:
		body["contactType"] = rng.IntN(2)
	}
	what := fmt.Sprintf("contacts %v by %s", body, actor)
	ans, err := r.sendWrite("contacts", child, c, http.MethodPut, httpadapter.DefaultPrefix+"/contact/filter/access", actor, body)
	r.settle(what, ans, err, func(body []byte) (map[string]string, error) {
		var env struct {
			Response []struct {
				ID         int64 `json:"id"`
				ShareType  int   `json:"shareType"`
				AccessList []struct {
					ID string `json:"id"`
				} `json:"accessList"`
			} `json:"response"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, c := range env.Response {
			out[crmaccess.ContactRef(c.ID).String()] = contactState(crmaccess.ShareType(c.ShareType), userRefs(c.AccessList))
		}
		return out, nil
	})
	if err == nil && ans.status != http.StatusOK && ans.status != http.StatusServiceUnavailable {
		r.failf("%s: answered %d: %s", what, ans.status, ans.body)
	}
}

// writeAdmin grants or revokes the admin role of user through one
// instance, then asks another, with the write's token, for a decision of
// that user: an admin's reason is "admin", and only an admin's.
func (r *multiRun) writeAdmin(rng *rand.Rand, child int, c *multiChild, user string) {
	grant := rng.IntN(2) == 0
	what := fmt.Sprintf("admin %s=%v", user, grant)
	ans, err := r.sendWrite("admin", child, c, http.MethodPost,
		"/test/admin?"+url.Values{"user": {user}, "admin": {strconv.FormatBool(grant)}}.Encode(), multiUsers[0], nil)
	acked, ok := r.settle(what, ans, err, func([]byte) (map[string]string, error) {
		return map[string]string{"admin:" + user: adminState(grant)}, nil
	})
	if err == nil && ans.status != http.StatusOK && ans.status != http.StatusServiceUnavailable {
		r.failf("%s: answered %d: %s", what, ans.status, ans.body)
	}
	if !ok {
		return
	}
	other, otherChild := r.pick(rng, child)
	if other < 0 {
		return
	}
	ref := multiRefs()[rng.IntN(multiOpportunities+multiContacts)]
	q := url.Values{"user": {user}, "kind": {string(ref.Kind)}, "id": {strconv.FormatInt(ref.ID, 10)}, "action": {"read"}}
	check, err := r.send("check after admin", other, otherChild, http.MethodGet, "/test/check?"+q.Encode(), user, ans.token, nil)
	if err != nil || check.status == http.StatusServiceUnavailable {
		return // killed or restarting: nothing to learn
	}
	var d struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	if check.status != http.StatusOK || json.Unmarshal(check.body, &d) != nil {
		r.failf("check after %s: instance %d answered %d: %s", what, other, check.status, check.body)
		return
	}
	if (d.Reason == string(crmaccess.ReasonAdmin)) != grant {
		r.failf("instance %d acknowledged %s at position %d, but instance %d given that token decides %s %s: %+v",
			child, what, acked.pos, other, user, ref, d)
	}
}

// checker sends random checks until the deadline, half of them with the
// newest acknowledged token; an instance given a token answers with a
// state at least that fresh. A pause between checks leaves the two cores
// of CI to the writes.
func (r *multiRun) checker(rng *rand.Rand, deadline time.Time) {
	users := append(slices.Clone(multiUsers), multiOutsider)
	refs := multiRefs()
	for ; time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		child, c := r.pick(rng, -1)
		if child < 0 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		var tok crmaccess.Token
		if rng.IntN(2) == 0 {
			tok = r.latest()
		}
		ref := refs[rng.IntN(len(refs))]
		q := url.Values{"user": {users[rng.IntN(len(users))]}, "kind": {string(ref.Kind)},
			"id": {strconv.FormatInt(ref.ID, 10)}, "action": {string(multiActions[rng.IntN(len(multiActions))])}}
		ans, err := r.send("check", child, c, http.MethodGet, "/test/check?"+q.Encode(), multiUsers[0], tok, nil)
		outsider := q.Get("user") == multiOutsider
		switch {
		case err != nil, ans.status == http.StatusServiceUnavailable:
		case outsider && ans.status != http.StatusUnauthorized:
			r.failf("check %v: instance %d answered %d for a user of no store, want 401", q, child, ans.status)
		case outsider:
		case ans.status != http.StatusOK:
			r.failf("check %v: instance %d answered %d: %s", q, child, ans.status, ans.body)
		case tok != "":
			want, _ := tokenPosition(tok)
			if got, err := tokenPosition(ans.token); err != nil || got < want {
				r.failf("check %v given %s: instance %d answered at %q", q, tok, child, ans.token)
			}
		}
	}
}

// killAndRestart kills instance i with SIGKILL while it has a write in
// hand (waiting at most a second for one), and starts another in its place.
func (r *multiRun) killAndRestart(i int) {
	r.mu.Lock()
	c := r.children[i]
	r.mu.Unlock()
	for wait := time.Now().Add(time.Second); c.writing.Load() == 0 && time.Now().Before(wait); {
		time.Sleep(100 * time.Microsecond)
	}
	if err := c.kill(); err != nil {
		r.failf("kill instance %d: %v", i, err)
	}
	r.mu.Lock()
	r.children[i], r.killed = nil, c
	r.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	nc, err := startMultiChild(r.db)
	if err != nil {
		r.failf("restart instance %d: %v", i, err)
		return
	}
	r.mu.Lock()
	r.children[i] = nc
	r.mu.Unlock()
	r.t.Logf("instance %d killed and started again", i)
}

func (r *multiRun) dumpChildren() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.children {
		if c != nil {
			r.t.Logf("instance %d's output:\n%s", i, c.out.String())
		}
	}
	if r.killed != nil {
		r.t.Logf("the killed instance's output:\n%s", r.killed.out.String())
	}
}

// multiChild is one instance: a child process running TestMultiChild.
type multiChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	out   *childOutput
	done  chan struct{} // closed when the process has ended

	writing atomic.Int64 // writes sent and not yet answered
}

// childOutput keeps what a child prints and finds its address.
type childOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

func (o *childOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if !o.sent {
		text := o.buf.String()
		if i := strings.Index(text, markListening); i >= 0 {
			if line, _, ok := strings.Cut(text[i+len(markListening):], "\n"); ok {
				o.addr <- line
				o.sent = true
			}
		}
	}
	return len(p), nil
}

func (o *childOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// startMultiChild starts an instance over db and waits for its address.
func startMultiChild(db multiDB) (*multiChild, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestMultiChild$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), multiChildEnv+"="+db.engine, multiTargetEnv+"="+db.target)
	out := &childOutput{addr: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &multiChild{cmd: cmd, stdin: stdin, out: out, done: make(chan struct{})}
	go func() {
		cmd.Wait() //nolint:errcheck // the state is read from cmd.ProcessState
		close(c.done)
	}()
	select {
	case c.addr = <-out.addr:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("the instance ended before it listened:\n%s", out.String())
	case <-time.After(time.Minute):
		c.kill() //nolint:errcheck // reported below
		return nil, fmt.Errorf("the instance did not listen within a minute:\n%s", out.String())
	}
}

// kill sends SIGKILL and checks that the process died of it.
func (c *multiChild) kill() error {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-c.done
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("the instance did not die of SIGKILL (%v):\n%s", c.cmd.ProcessState, c.out.String())
	}
	return nil
}

// stop ends the instance by closing its input, and fails the test if it
// did not end cleanly.
func (c *multiChild) stop(t *testing.T) {
	t.Helper()
	if c == nil {
		return
	}
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.kill() //nolint:errcheck // reported below
		t.Errorf("an instance did not stop within 20 s:\n%s", c.out.String())
		return
	}
	if !c.cmd.ProcessState.Success() {
		t.Errorf("an instance ended with %v:\n%s", c.cmd.ProcessState, c.out.String())
	}
}

// decisionsOf asks instance i for multiDecisions, given tok.
func (r *multiRun) decisionsOf(i int, tok crmaccess.Token) (map[string]string, crmaccess.Token, error) {
	r.mu.Lock()
	c := r.children[i]
	r.mu.Unlock()
	ans, err := r.send("decisions", i, c, http.MethodGet, "/test/decisions", multiUsers[0], tok, nil)
	if err != nil {
		return nil, "", err
	}
	if ans.status != http.StatusOK {
		return nil, "", fmt.Errorf("answered %d: %s", ans.status, ans.body)
	}
	var out map[string]string
	if err := json.Unmarshal(ans.body, &out); err != nil {
		return nil, "", err
	}
	return out, ans.token, nil
}

// tokenOfInstance asks instance i which state its memory holds, without
// asking it to catch up.
func (r *multiRun) tokenOfInstance(i int) (crmaccess.Token, error) {
	r.mu.Lock()
	c := r.children[i]
	r.mu.Unlock()
	ans, err := r.send("token", i, c, http.MethodGet, "/test/token", multiUsers[0], "", nil)
	if err != nil {
		return "", err
	}
	return ans.token, nil
}

// freshDecisions starts a Service over the database and asks it
// multiDecisions.
func freshDecisions(t *testing.T, db multiDB) (map[string]string, crmaccess.Token) {
	t.Helper()
	svc := serviceWith(t, db.openStore(t), &crmaccess.Options{PollInterval: -1})
	tok := svc.Token()
	out, err := multiDecisions(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	return out, tok
}
