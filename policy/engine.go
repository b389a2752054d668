package policy

import (
	"fmt"
	"slices"
	"sync"

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
	x *index

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
	eng := &Engine{x: newIndex(), casbin: e}
	for _, t := range ruleTypes {
		e.SetNamedRoleManager(t, &roleManager{x: eng.x, ptype: t})
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

// Apply removes then adds rules, as a commit changed them. A rule this model
// does not know fails the whole call with EINVALID before anything changes.
func (g *Engine) Apply(remove, add []crmaccess.Rule) error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	parse := func(rules []crmaccess.Rule) ([]entry, error) {
		out := make([]entry, 0, len(rules))
		for _, r := range rules {
			e, err := g.x.parse(r)
			if err != nil {
				return out, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	rm, err := parse(remove)
	if err != nil {
		g.x.release(rm) // nothing changed: forget what parsing interned
		return err
	}
	ad, err := parse(add)
	if err != nil {
		g.x.release(rm)
		g.x.release(ad)
		return err
	}
	g.x.lockAll()
	for _, e := range rm {
		g.x.remove(e)
	}
	for _, e := range ad {
		g.x.add(e)
	}
	g.x.unlockAll()
	// Parsing interned every user named; forget those no line names now.
	g.x.release(rm)
	g.x.release(ad)

	// Casbin memoizes g answers in its cached matcher: drop them.
	g.casbinMu.Lock()
	for _, t := range ruleTypes {
		g.casbin.SetNamedRoleManager(t, g.casbin.GetNamedRoleManager(t))
	}
	g.casbinMu.Unlock()
	return nil
}

// Access translates a record's rules back into its access state.
func (g *Engine) Access(ref crmaccess.Ref) crmaccess.AccessState {
	var st crmaccess.AccessState
	marker := ""
	for _, name := range g.x.subjects(keyOf(ref), linkList) {
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
	return g.x.isAdmin(g.x.lookup(user))
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
	uid := g.x.lookup(user) // 0 when the user is on no line: only markers can match
	if g.x.isAdmin(uid) {
		return crmaccess.Decision{Allowed: true, Reason: crmaccess.ReasonAdmin}, nil
	}
	if ref.Kind == crmaccess.KindContact && action == crmaccess.ActionChangeAccess {
		action = crmaccess.ActionEdit
	}
	m := g.x.match(keyOf(ref), uid)
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
