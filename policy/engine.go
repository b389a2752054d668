package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
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
		x.publishRoles()
		return nil
	})
	if err != nil {
		return err
	}
	x.tallyAll()
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
			release(x, out)
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Apply removes then adds rules, as a commit changed them. A rule this model
// does not know fails the whole call with EINVALID before anything changes.
func (g *Engine) Apply(remove, add []crmaccess.Rule) error {
	return g.ApplyParts(len(remove), len(add), func(apply func(remove, add []crmaccess.Rule) error) error {
		return apply(remove, add)
	})
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

// StatusRule implements crmaccess.Authorizer.
func (*Engine) StatusRule(user string, status crmaccess.UserStatus) (crmaccess.Rule, bool) {
	return StatusRule(user, status)
}

// UserStatus reports whether user is a known user, active or not.
func (g *Engine) UserStatus(user string) crmaccess.UserStatus {
	x := g.x.Load()
	switch uid := x.lookup(user); {
	case x.hasRole(uid, roleBitActive):
		return crmaccess.UserActive
	case x.hasRole(uid, roleBitInactive):
		return crmaccess.UserInactive
	}
	return crmaccess.UserUnknown
}

// ListedOn returns the records whose list (accessList, managerList) holds
// user, ascending by kind then id, from a per-user index of the lists.
func (g *Engine) ListedOn(user string) []crmaccess.Ref {
	x := g.x.Load()
	uid := x.lookup(user)
	if uid < firstUserID {
		return nil
	}
	refs := x.listedOn(uid)
	slices.SortFunc(refs, func(a, b crmaccess.Ref) int {
		if a.Kind != b.Kind {
			return strings.Compare(string(a.Kind), string(b.Kind))
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return refs
}

// IsAdmin reports whether user holds the admin role.
func (g *Engine) IsAdmin(user string) bool {
	x := g.x.Load()
	return x.isAdmin(x.lookup(user))
}
