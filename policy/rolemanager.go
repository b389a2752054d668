package policy

import (
	"errors"
	"slices"

	"github.com/casbin/casbin/v2/log"
	"github.com/casbin/casbin/v2/rbac"
)

// roleManager lets Casbin's Enforce read one line type of the index. It is
// read-only: lines change through Engine.Apply, after a commit.
type roleManager struct {
	eng   *Engine
	ptype string
}

var _ rbac.RoleManager = (*roleManager)(nil)

var errReadOnly = errors.New("policy: lines change through Engine.Apply only")

func (rm *roleManager) linkType() uint8 {
	switch rm.ptype {
	case typeCreator:
		return linkCreator
	case typeResponsible:
		return linkResponsible
	}
	return linkList
}

// HasLink follows Casbin's default role manager: a name links to itself;
// otherwise the line must exist (the model's lines have no chains).
func (rm *roleManager) HasLink(name1, name2 string, _ ...string) (bool, error) {
	if name1 == name2 {
		return true, nil
	}
	return slices.Contains(rm.roles(name1), name2), nil
}

func (rm *roleManager) roles(name string) []string {
	switch rm.ptype {
	case typeAdmin:
		x := rm.eng.x.Load()
		if x.isAdmin(x.lookup(name)) {
			return []string{roleAdmin}
		}
		return nil
	case typeStatus:
		x := rm.eng.x.Load()
		switch uid := x.lookup(name); {
		case x.hasRole(uid, roleBitActive):
			return []string{statusActive}
		case x.hasRole(uid, roleBitInactive):
			return []string{statusInactive}
		}
		return nil
	}
	ref, ok := parseObject(name)
	if !ok {
		return nil
	}
	return rm.eng.x.Load().subjects(keyOf(ref), rm.linkType())
}

func (rm *roleManager) GetRoles(name string, _ ...string) ([]string, error) {
	return rm.roles(name), nil
}

func (rm *roleManager) GetImplicitRoles(name string, _ ...string) ([]string, error) {
	return rm.roles(name), nil
}

// Clear is a no-op: Casbin calls it when it wires role managers to the
// model (BuildRoleLinks); the index is not Casbin's to clear.
func (rm *roleManager) Clear() error { return nil }

// GetUsers answers only for the admin role; other questions would scan.
func (rm *roleManager) GetUsers(name string, _ ...string) ([]string, error) {
	if rm.ptype != typeAdmin || name != roleAdmin {
		return nil, errors.New("policy: GetUsers answers only for crm:admin")
	}
	x := rm.eng.x.Load()
	var out []string
	for u, r := range *x.roles.Load() {
		if r&roleBitAdmin != 0 {
			out = append(out, x.name(u))
		}
	}
	slices.Sort(out)
	return out, nil
}

func (rm *roleManager) GetImplicitUsers(name string, domain ...string) ([]string, error) {
	return rm.GetUsers(name, domain...)
}

func (rm *roleManager) AddLink(string, string, ...string) error           { return errReadOnly }
func (rm *roleManager) BuildRelationship(string, string, ...string) error { return errReadOnly }
func (rm *roleManager) DeleteLink(string, string, ...string) error        { return errReadOnly }
func (rm *roleManager) GetDomains(string) ([]string, error)               { return nil, nil }
func (rm *roleManager) GetAllDomains() ([]string, error)                  { return nil, nil }
func (rm *roleManager) PrintRoles() error                                 { return nil }
func (rm *roleManager) SetLogger(log.Logger)                              {}
func (rm *roleManager) Match(str, pattern string) bool                    { return str == pattern }
func (rm *roleManager) AddMatchingFunc(string, rbac.MatchingFunc)         {}
func (rm *roleManager) AddDomainMatchingFunc(string, rbac.MatchingFunc)   {}
func (rm *roleManager) DeleteDomain(string) error                         { return errReadOnly }
