package dataset

import (
	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// ACLModel is the baseline: a plain Casbin ACL, one p line per grant
// (subject, object, action) and a matcher of == comparisons. A public
// record has one line for the subject Public, which the matcher lets any
// user match; without it a plain ACL would need a line per user and public
// record.
const ACLModel = `[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (r.sub == p.sub || p.sub == "` + Public + `") && r.obj == p.obj && r.act == p.act
`

// Public is the baseline's subject for "every user".
const Public = "public"

// ActionRead is the action of the baseline's lines.
const ActionRead = "read"

// ACLLines translates f into the baseline's p lines, one for each rule
// crmaccess stores for it (Grants makes them distinct): (user or Public,
// record, read) for a public marker, a list entry, the creator and the
// responsible user. Objects are named as in crmaccess (policy.Object).
// Admins have no line: Grants makes none.
func ACLLines(f *crmaccess.DataSet) [][]string {
	var out [][]string
	line := func(sub string, ref crmaccess.Ref) {
		out = append(out, []string{sub, policy.Object(ref), ActionRead})
	}
	for _, c := range f.Contacts {
		ref := crmaccess.ContactRef(c.ID)
		if c.ShareType != crmaccess.ShareNone {
			line(Public, ref)
		}
		for _, u := range c.ManagerList {
			line(u, ref)
		}
	}
	for _, o := range f.Opportunities {
		out = append(out, OpportunityACL(o.ID, o.CreateBy, o.Responsible, o.IsPrivate, o.AccessList)...)
	}
	return out
}

// OpportunityACL is the baseline's lines of one opportunity.
func OpportunityACL(id int64, createBy, responsible string, isPrivate bool, accessList []string) [][]string {
	obj := policy.Object(crmaccess.OpportunityRef(id))
	var out [][]string
	if isPrivate {
		for _, u := range accessList {
			out = append(out, []string{u, obj, ActionRead})
		}
	} else {
		out = append(out, []string{Public, obj, ActionRead})
	}
	out = append(out, []string{createBy, obj, ActionRead}, []string{responsible, obj, ActionRead})
	return out
}
