package policy

// Decide: the model's matcher run natively over the index.

import "github.com/crmaccess/crmaccess"

// Decide answers whether user may do action on the record, and names the
// first line that grants it, in the order admin, public, list, creator,
// responsible. Only an active user (a g5 crm:active line) may do anything.
// It is the model's matcher (model.conf) run natively.
func (g *Engine) Decide(user string, ref crmaccess.Ref, action crmaccess.Action) (crmaccess.Decision, error) {
	if !ref.Valid() || !action.Valid() {
		return crmaccess.Decision{}, crmaccess.Errorf(crmaccess.EINVALID, "cannot check %q on %v", action, ref)
	}
	if id, err := crmaccess.ParseGUID(user); err != nil || id != user {
		// Only canonical user ids: never a marker such as crm:admin.
		return crmaccess.Decision{}, crmaccess.Errorf(crmaccess.EINVALID, "user %q is not a canonical GUID", user)
	}
	x := g.x.Load()
	uid := x.lookup(user) // 0 when the user is on no line
	if !x.isActive(uid) {
		return crmaccess.Decision{Reason: crmaccess.ReasonDenied}, nil
	}
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
