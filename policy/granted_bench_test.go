package policy_test

import (
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// BenchmarkGrantedPrivate pages through 300,000 records that are all
// private, a user the creator, the responsible user or on the list of about
// 3 in 1,000: the walk from the cursor is longest when few records are
// granted (a page of 100 takes about 33,000 steps here). A per-user index
// of granted records would make it short; the walk keeps writes cheap.
func BenchmarkGrantedPrivate(b *testing.B) {
	const records = 300_000
	eng := newEngine(b)
	rules := make([]crmaccess.Rule, 0, 3*records)
	for i := 1; i <= records; i++ {
		o := crmaccess.Opportunity{ID: int64(i), IsPrivate: true, CreateBy: user(i % 1000), Responsible: user(i * 7 % 1000),
			AccessList: []string{user(i % 997)}}
		rules = append(rules, policy.OpportunityRules(&o)...)
	}
	if err := eng.Load(rules); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		ids, total, err := eng.Granted(user(i%990), crmaccess.KindOpportunity, crmaccess.ActionRead, int64(i*7919%(records/2)), 100)
		if err != nil || total == 0 || len(ids) == 0 {
			b.Fatal(ids, total, err)
		}
	}
}
