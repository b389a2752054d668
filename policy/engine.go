package policy

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/crmaccess/crmaccess"
)

// Engine holds the lines in memory and implements crmaccess.Authorizer.
//
// Checks run the model's matcher natively over a compact index of the lines
// (see index.go): a few hundred nanoseconds at any size, no memo that grows
// with distinct questions, and no lock shared by all cores. Enforce runs the
// same question through Casbin's own Enforce, with role managers that read
// the same index; the tests hold the two, and a stock Casbin enforcer loaded
// from the database, to the same answers.
//
// Checks may run concurrently with each other and with a write; a write
// (Load, Apply) becomes visible to checks all at once.
type Engine struct {
	// x is the current index; Replace swaps in a new one whole.
	x atomic.Pointer[index]

	writeMu sync.Mutex // one writer at a time

	casbinMu sync.RWMutex // Casbin's matcher cache is reset on every write
	casbin   *casbin.Enforcer
}

var _ crmaccess.Authorizer = (*Engine)(nil)

// New returns an empty engine.
func New() (*Engine, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("policy: model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("policy: enforcer: %w", err)
	}
	eng := &Engine{casbin: e}
	eng.x.Store(newIndex())
	for _, t := range ruleTypes {
		e.SetNamedRoleManager(t, &roleManager{eng: eng, ptype: t})
	}
	// Wires the role managers into the model's g functions (p is empty, so
	// no line is added through them).
	if err := e.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("policy: enforcer: %w", err)
	}
	return eng, nil
}

// OpportunityRules implements crmaccess.Authorizer.
func (*Engine) OpportunityRules(o *crmaccess.Opportunity) []crmaccess.Rule {
	return OpportunityRules(o)
}

// ContactRules implements crmaccess.Authorizer.
func (*Engine) ContactRules(c *crmaccess.Contact) []crmaccess.Rule { return ContactRules(c) }

// AdminRule implements crmaccess.Authorizer.
func (*Engine) AdminRule(user string) crmaccess.Rule { return AdminRule(user) }

// Load adds rules; a rule this model does not know fails the whole call
// with EINVALID before anything is added.
func (g *Engine) Load(rules []crmaccess.Rule) error {
	return g.Apply(nil, rules)
}

// Replace builds a new index from the rules load hands to add, then swaps
// it in: checks see the old rules until the new ones are all in. A rule
// this model does not know fails the call, and the old rules stay.
func (g *Engine) Replace(load func(add func([]crmaccess.Rule) error) error) error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	x := newIndex()
	err := load(func(rules []crmaccess.Rule) error {
		entries, err := parseAll(x, rules)
		if err != nil {
			return err
		}
		for _, e := range entries {
			x.add(e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.x.Store(x)
	g.resetCasbin()
	return nil
}

// parseAll parses rules into entries of x; on an error it forgets what it
// interned and returns the error.
func parseAll(x *index, rules []crmaccess.Rule) ([]entry, error) {
	out := make([]entry, 0, len(rules))
	for _, r := range rules {
		e, err := x.parse(r)
		if err != nil {
			x.release(out)
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Apply removes then adds rules, as a commit changed them. A rule this model
// does not know fails the whole call with EINVALID before anything changes.
func (g *Engine) Apply(remove, add []crmaccess.Rule) error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	x := g.x.Load()
	rm, err := parseAll(x, remove)
	if err != nil {
		return err
	}
	ad, err := parseAll(x, add)
	if err != nil {
		x.release(rm)
		return err
	}
	x.lockAll()
	for _, e := range rm {
		x.remove(e)
	}
	for _, e := range ad {
		x.add(e)
	}
	x.unlockAll()
	// Parsing interned every user named; forget those no line names now.
	x.release(rm)
	x.release(ad)
	g.resetCasbin()
	return nil
}

// resetCasbin drops the g answers Casbin memoizes in its cached matcher.
func (g *Engine) resetCasbin() {
	g.casbinMu.Lock()
	for _, t := range ruleTypes {
		g.casbin.SetNamedRoleManager(t, g.casbin.GetNamedRoleManager(t))
	}
	g.casbinMu.Unlock()
}

// Access translates a record's rules back into its access state.
func (g *Engine) Access(ref crmaccess.Ref) crmaccess.AccessState {
	x := g.x.Load()
	k := keyOf(ref)
	var st crmaccess.AccessState
	marker := ""
	for _, name := range x.subjects(k, linkList) {
		if name == subjectPublic || name == subjectPublicRead {
			marker = name
		} else {
			st.List = append(st.List, name)
		}
	}
	slices.Sort(st.List)
	switch {
	case ref.Kind == crmaccess.KindOpportunity:
		st.IsPrivate = marker == ""
		if !st.IsPrivate {
			st.List = nil
		}
		if names := x.subjects(k, linkCreator); len(names) > 0 {
			st.Creator = names[0]
		}
		if names := x.subjects(k, linkResponsible); len(names) > 0 {
			st.Responsible = names[0]
		}
	case marker == subjectPublic:
		st.ShareType = crmaccess.ShareReadWrite
	case marker == subjectPublicRead:
		st.ShareType = crmaccess.ShareRead
	default:
		st.ShareType, st.IsPrivate = crmaccess.ShareNone, true
	}
	return st
}

// IsAdmin reports whether user holds the admin role.
func (g *Engine) IsAdmin(user string) bool {
	x := g.x.Load()
	return x.isAdmin(x.lookup(user))
}

// Decide answers whether user may do action on the record, and names the
// first line that grants it, in the order admin, public, list, creator,
// responsible. It is the model's matcher (model.conf) run natively.
func (g *Engine) Decide(user string, ref crmaccess.Ref, action crmaccess.Action) (crmaccess.Decision, error) {
	if !ref.Valid() || !action.Valid() {
		return crmaccess.Decision{}, crmaccess.Errorf(crmaccess.EINVALID, "cannot check %q on %v", action, ref)
	}
	if id, err := crmaccess.ParseGUID(user); err != nil || id != user {
		// Only canonical user ids: never a marker such as crm:admin.
		return crmaccess.Decision{}, crmaccess.Errorf(crmaccess.EINVALID, "user %q is not a canonical GUID", user)
	}
	x := g.x.Load()
	uid := x.lookup(user) // 0 when the user is on no line: only markers can match
	if x.isAdmin(uid) {
		return crmaccess.Decision{Allowed: true, Reason: crmaccess.ReasonAdmin}, nil
	}
	if ref.Kind == crmaccess.KindContact && action == crmaccess.ActionChangeAccess {
		action = crmaccess.ActionEdit
	}
	m := x.match(keyOf(ref), uid)
	if r := m.reason(ref.Kind, action); r != "" {
		return crmaccess.Decision{Allowed: true, Reason: r}, nil
	}
	return crmaccess.Decision{Reason: crmaccess.ReasonDenied}, nil
}

// matched says which of a record's lines concern one user.
type matched struct {
	public, publicRead, list, creator, responsible bool
}

func matchLinks(links []link, uid uint32) matched {
	var m matched
	for _, l := range links {
		switch {
		case l.typ == linkList && l.user == subjectPublicID:
			m.public = true
		case l.typ == linkList && l.user == subjectPublicReadID:
			m.publicRead = true
		case uid == 0 || l.user != uid:
		case l.typ == linkList:
			m.list = true
		case l.typ == linkCreator:
			m.creator = true
		case l.typ == linkResponsible:
			m.responsible = true
		}
	}
	return m
}

// reason is the matcher of model.conf, less its admin term, with the name of
// the line that satisfies it; "" when none does.
func (m matched) reason(kind crmaccess.Kind, action crmaccess.Action) crmaccess.Reason {
	opportunity := kind == crmaccess.KindOpportunity
	if action == crmaccess.ActionChangeAccess {
		if m.creator {
			return crmaccess.ReasonCreator
		}
		return ""
	}
	switch {
	case m.public && opportunity:
		return crmaccess.ReasonPublic
	case m.public:
		return crmaccess.ReasonSharedReadWrite
	case m.list && opportunity:
		return crmaccess.ReasonInAccessList
	case m.list:
		return crmaccess.ReasonInManagerList
	case m.creator:
		return crmaccess.ReasonCreator
	case m.responsible:
		return crmaccess.ReasonResponsible
	case m.publicRead && action == crmaccess.ActionRead:
		return crmaccess.ReasonPublic
	}
	return ""
}

// Enforce asks Casbin's own Enforce, with the embedded model, over the same
// lines: sub is a user id, obj a record's policy name (see Object), act one
// of read, edit, delete, access. It is the audit path: slower than Decide,
// and Casbin memoizes its answers until the next write.
func (g *Engine) Enforce(sub, obj, act string) (bool, error) {
	g.casbinMu.RLock()
	defer g.casbinMu.RUnlock()
	return g.casbin.Enforce(sub, obj, act)
}
