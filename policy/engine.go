package policy

import (
	"fmt"
	"slices"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/rbac"

	"github.com/crmaccess/crmaccess"
)

// Engine holds the rules in memory in a Casbin enforcer and implements
// crmaccess.Authorizer. Checks may run concurrently; Load and Apply take the
// engine exclusively. Rules live only in the enforcer's role managers (p is
// empty), and changes are applied link by link from the diff, never by a
// filtered removal or a reload.
type Engine struct {
	mu sync.RWMutex
	e  *casbin.Enforcer
	rm map[string]rbac.RoleManager
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
	eng := &Engine{e: e, rm: map[string]rbac.RoleManager{}}
	for _, t := range ruleTypes {
		rm := e.GetNamedRoleManager(t)
		if rm == nil {
			return nil, fmt.Errorf("policy: model has no role manager for %s", t)
		}
		eng.rm[t] = rm
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
	for _, r := range rules {
		if err := checkRule(r); err != nil {
			return err
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.apply(nil, rules)
}

// Apply removes then adds rules, as a commit changed them.
func (g *Engine) Apply(remove, add []crmaccess.Rule) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.apply(remove, add)
}

func (g *Engine) apply(remove, add []crmaccess.Rule) error {
	for _, batch := range []struct {
		op    model.PolicyOp
		rules []crmaccess.Rule
	}{{model.PolicyRemove, remove}, {model.PolicyAdd, add}} {
		if len(batch.rules) == 0 {
			continue
		}
		byType := map[string][][]string{}
		for _, r := range batch.rules {
			byType[r.PType] = append(byType[r.PType], line(r))
		}
		for t, lines := range byType {
			// Updates the role manager's links and drops Casbin's memo of
			// g answers; the model's policy list is not used.
			if err := g.e.BuildIncrementalRoleLinks(batch.op, t, lines); err != nil {
				return fmt.Errorf("policy: apply %s: %w", t, err)
			}
		}
	}
	return nil
}

// Access translates a record's rules back into its access state.
func (g *Engine) Access(ref crmaccess.Ref) crmaccess.AccessState {
	g.mu.RLock()
	links, _ := g.rm[typeList].GetRoles(Object(ref))
	g.mu.RUnlock()
	var st crmaccess.AccessState
	marker := ""
	for _, s := range links {
		switch s {
		case subjectPublic, subjectPublicRead:
			marker = s
		default:
			st.List = append(st.List, s)
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
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.has(typeAdmin, user, roleAdmin)
}

func (g *Engine) has(t, name1, name2 string) bool {
	ok, _ := g.rm[t].HasLink(name1, name2)
	return ok
}

// Decide answers through Casbin's Enforce with the model's matcher, then
// names the first rule that grants it, in the order admin, public, list,
// creator, responsible.
func (g *Engine) Decide(user string, ref crmaccess.Ref, action crmaccess.Action) (crmaccess.Decision, error) {
	if !ref.Valid() || !action.Valid() {
		return crmaccess.Decision{}, crmaccess.Errorf(crmaccess.EINVALID, "cannot check %q on %v", action, ref)
	}
	if id, err := crmaccess.ParseGUID(user); err != nil || id != user {
		// Only canonical user ids: never a marker such as crm:admin.
		return crmaccess.Decision{}, crmaccess.Errorf(crmaccess.EINVALID, "user %q is not a canonical GUID", user)
	}
	act := string(action)
	if ref.Kind == crmaccess.KindContact && action == crmaccess.ActionChangeAccess {
		act = string(crmaccess.ActionEdit)
	}
	obj := Object(ref)
	g.mu.RLock()
	defer g.mu.RUnlock()
	ok, err := g.e.Enforce(user, obj, act)
	if err != nil {
		return crmaccess.Decision{}, crmaccess.Internal(err)
	}
	if !ok {
		return crmaccess.Decision{Reason: crmaccess.ReasonDenied}, nil
	}
	reason := g.reason(user, ref, obj, act)
	if reason == "" {
		return crmaccess.Decision{}, crmaccess.Internal(fmt.Errorf("policy: %s may %s %s but no rule says why", user, act, obj))
	}
	return crmaccess.Decision{Allowed: true, Reason: reason}, nil
}

func (g *Engine) reason(user string, ref crmaccess.Ref, obj, act string) crmaccess.Reason {
	switch {
	case g.has(typeAdmin, user, roleAdmin):
		return crmaccess.ReasonAdmin
	case ref.Kind == crmaccess.KindOpportunity && act == string(crmaccess.ActionChangeAccess):
		if g.has(typeCreator, obj, user) {
			return crmaccess.ReasonCreator
		}
	case ref.Kind == crmaccess.KindOpportunity:
		switch {
		case g.has(typeList, obj, subjectPublic):
			return crmaccess.ReasonPublic
		case g.has(typeList, obj, user):
			return crmaccess.ReasonInAccessList
		case g.has(typeCreator, obj, user):
			return crmaccess.ReasonCreator
		case g.has(typeResponsible, obj, user):
			return crmaccess.ReasonResponsible
		}
	default:
		switch {
		case g.has(typeList, obj, subjectPublic):
			return crmaccess.ReasonSharedReadWrite
		case g.has(typeList, obj, user):
			return crmaccess.ReasonInManagerList
		case act == string(crmaccess.ActionRead) && g.has(typeList, obj, subjectPublicRead):
			return crmaccess.ReasonPublic
		}
	}
	return ""
}
