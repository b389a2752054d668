package policy

import (
	_ "embed"
	"strconv"
	"strings"

	"github.com/crmaccess/crmaccess"
)

//go:embed model.conf
var modelText string

// Model returns the Casbin model text the rules are written for.
func Model() string { return modelText }

// The line types of the model, and the pseudo-subjects of the g lines.
const (
	typeList        = "g"  // record → user on its list, or a public marker
	typeCreator     = "g2" // opportunity → creator
	typeResponsible = "g3" // opportunity → responsible user
	typeAdmin       = "g4" // user → crm:admin
	typeStatus      = "g5" // user → crm:active or crm:inactive

	subjectPublic     = "crm:public"
	subjectPublicRead = "crm:public-read"
	roleAdmin         = "crm:admin"
	statusActive      = "crm:active"
	statusInactive    = "crm:inactive"
)

var ruleTypes = []string{typeList, typeCreator, typeResponsible, typeAdmin, typeStatus}

// Object returns the policy name of a record: "opportunity:7", "contact:3".
func Object(ref crmaccess.Ref) string {
	return string(ref.Kind) + ":" + strconv.FormatInt(ref.ID, 10)
}

// parseObject is Object's inverse.
func parseObject(s string) (crmaccess.Ref, bool) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		return crmaccess.Ref{}, false
	}
	// Canonical decimal only (no sign, no leading zero), so that an object
	// has one name.
	if id == "" || id[0] < '1' || id[0] > '9' {
		return crmaccess.Ref{}, false
	}
	n, err := strconv.ParseUint(id, 10, 63)
	ref := crmaccess.Ref{Kind: crmaccess.Kind(kind), ID: int64(n)}
	return ref, err == nil && ref.Valid()
}

// OpportunityRules translates an opportunity's access into rules: a public
// marker or its access list, its creator and its responsible user.
func OpportunityRules(o *crmaccess.Opportunity) []crmaccess.Rule {
	obj := Object(crmaccess.OpportunityRef(o.ID))
	rules := make([]crmaccess.Rule, 0, len(o.AccessList)+3)
	if o.IsPrivate {
		for _, u := range o.AccessList {
			rules = append(rules, crmaccess.Rule{Type: typeList, From: obj, To: u})
		}
	} else {
		rules = append(rules, crmaccess.Rule{Type: typeList, From: obj, To: subjectPublic})
	}
	if o.CreateBy != "" {
		rules = append(rules, crmaccess.Rule{Type: typeCreator, From: obj, To: o.CreateBy})
	}
	if o.Responsible != "" {
		rules = append(rules, crmaccess.Rule{Type: typeResponsible, From: obj, To: o.Responsible})
	}
	return rules
}

// ContactRules translates a contact's access into rules: a share marker for
// ReadWrite and Read, and its manager list.
func ContactRules(c *crmaccess.Contact) []crmaccess.Rule {
	obj := Object(crmaccess.ContactRef(c.ID))
	rules := make([]crmaccess.Rule, 0, len(c.ManagerList)+1)
	switch c.ShareType {
	case crmaccess.ShareReadWrite:
		rules = append(rules, crmaccess.Rule{Type: typeList, From: obj, To: subjectPublic})
	case crmaccess.ShareRead:
		rules = append(rules, crmaccess.Rule{Type: typeList, From: obj, To: subjectPublicRead})
	}
	for _, u := range c.ManagerList {
		rules = append(rules, crmaccess.Rule{Type: typeList, From: obj, To: u})
	}
	return rules
}

// AdminRule is the rule that makes user an admin.
func AdminRule(user string) crmaccess.Rule {
	return crmaccess.Rule{Type: typeAdmin, From: user, To: roleAdmin}
}

// StatusRule is the rule that makes user a known user of the store, active
// or not; a user with no status rule is unknown (never added, or removed).
func StatusRule(user string, status crmaccess.UserStatus) (crmaccess.Rule, bool) {
	switch status {
	case crmaccess.UserActive:
		return crmaccess.Rule{Type: typeStatus, From: user, To: statusActive}, true
	case crmaccess.UserInactive:
		return crmaccess.Rule{Type: typeStatus, From: user, To: statusInactive}, true
	}
	return crmaccess.Rule{}, false
}

// checkRule reports whether r is a rule of this model.
func checkRule(r crmaccess.Rule) error {
	bad := func() error {
		return crmaccess.Errorf(crmaccess.EINVALID, "policy: rule %s, %s, %s is not a crmaccess rule", r.Type, r.From, r.To)
	}
	if r.From == "" || r.To == "" {
		return bad()
	}
	if r.Type == typeAdmin {
		if r.To != roleAdmin {
			return bad()
		}
		return nil
	}
	if r.Type == typeStatus {
		if r.To != statusActive && r.To != statusInactive {
			return bad()
		}
		return nil
	}
	ref, ok := parseObject(r.From)
	if !ok {
		return bad()
	}
	switch r.Type {
	case typeList:
	case typeCreator, typeResponsible:
		if ref.Kind != crmaccess.KindOpportunity {
			return bad()
		}
	default:
		return bad()
	}
	return nil
}
