package crmaccess

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// ruleShapes is an Authorizer's translation of records into rules (the
// rest of the interface is not used here): a marker or the list, the
// creator and the responsible user.
type ruleShapes struct{ Authorizer }

func (ruleShapes) OpportunityRules(o *Opportunity) []Rule {
	obj := fmt.Sprint("opportunity:", o.ID)
	var rules []Rule
	if !o.IsPrivate {
		rules = append(rules, Rule{"g", obj, "public"})
	}
	for _, u := range o.AccessList {
		rules = append(rules, Rule{"g", obj, u})
	}
	if o.CreateBy != "" {
		rules = append(rules, Rule{"g2", obj, o.CreateBy})
	}
	if o.Responsible != "" {
		rules = append(rules, Rule{"g3", obj, o.Responsible})
	}
	return rules
}

func (ruleShapes) ContactRules(c *Contact) []Rule {
	obj := fmt.Sprint("contact:", c.ID)
	rules := []Rule{{"g", obj, fmt.Sprint("share", c.ShareType)}}
	for _, u := range c.ManagerList {
		rules = append(rules, Rule{"g", obj, u})
	}
	return rules
}

func (ruleShapes) AdminRule(user string) Rule { return Rule{"g4", user, "admin"} }

func (ruleShapes) StatusRule(user string, status UserStatus) (Rule, bool) {
	return Rule{"g5", user, string(status)}, status != UserUnknown
}

// ruleDiff's short way (every change about a subject of its own) gives what
// the composing way gives, in the same order; with a subject repeated it
// composes.
func TestRuleDiffOfDistinctSubjects(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	users := []string{"u1", "u2", "u3", "u4", "u5"}
	state := func() AccessState {
		var st AccessState
		st.IsPrivate = r.IntN(2) == 0
		for _, u := range users {
			if r.IntN(3) == 0 {
				st.List = append(st.List, u)
			}
		}
		st.ShareType = ShareType(r.IntN(3))
		st.Creator, st.Responsible = users[r.IntN(len(users))], users[r.IntN(len(users))]
		st.Admin = r.IntN(2) == 0
		st.Status = []UserStatus{UserUnknown, UserActive, UserInactive}[r.IntN(3)]
		return st
	}
	auth := ruleShapes{}
	for round := range 500 {
		var changes []Change
		for i := range 1 + r.IntN(8) {
			c := Change{Before: state(), After: state()}
			switch r.IntN(3) {
			case 0:
				c.Entity = OpportunityRef(int64(i + 1))
			case 1:
				c.Entity = ContactRef(int64(i + 1))
			default:
				c.User = fmt.Sprint("user", i)
			}
			changes = append(changes, c)
		}
		if round%2 == 1 {
			// A subject twice: the second change starts where the first
			// ended.
			c := changes[0]
			c.Before, c.After = c.After, state()
			changes = append(changes, c)
		}
		remove, add := ruleDiff(auth, changes)
		wantRemove, wantAdd := composedRuleDiff(auth, changes)
		if !slices.Equal(remove, wantRemove) || !slices.Equal(add, wantAdd) {
			t.Fatalf("round %d: ruleDiff = %v, %v; composed %v, %v", round, remove, add, wantRemove, wantAdd)
		}
		if distinctSubjects(changes) != (round%2 == 0) {
			t.Fatalf("round %d: distinctSubjects = %v", round, distinctSubjects(changes))
		}
	}
}
