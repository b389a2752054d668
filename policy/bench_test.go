package policy_test

import (
	"fmt"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// grants builds about n lines spread as a CRM has them: 1,000 users, one
// record in ten private and open to three of them, every record with a
// creator and a responsible user. It returns the lines and the record count.
func grants(n int) ([]crmaccess.Rule, int) {
	records := n * 10 / 32 // 3 lines a public record, 6 a private one
	rules := make([]crmaccess.Rule, 0, n)
	for i := 1; i <= records; i++ {
		o := crmaccess.Opportunity{ID: int64(i), CreateBy: user(i % 1000), Responsible: user(i * 7 % 1000)}
		if i%10 == 0 {
			o.IsPrivate = true
			o.AccessList = []string{user(i % 997), user(i % 991), user(i % 983)}
		}
		rules = append(rules, policy.OpportunityRules(&o)...)
	}
	return rules, records
}

func loaded(b *testing.B, n int) (*policy.Engine, int) {
	b.Helper()
	rules, records := grants(n)
	eng := newEngine(b)
	if err := eng.Load(rules); err != nil {
		b.Fatal(err)
	}
	return eng, records
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		eng, records := loaded(b, n)
		users := make([]string, 1000)
		for i := range users {
			users[i] = user(i)
		}
		b.Run(fmt.Sprintf("grants=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := eng.Decide(users[i%1000], crmaccess.OpportunityRef(int64(i%records+1)), crmaccess.ActionRead); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("grants=%d/parallel", n), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := eng.Decide(users[i%1000], crmaccess.OpportunityRef(int64(i%records+1)), crmaccess.ActionRead); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkApplyOneRecord(b *testing.B) {
	eng, _ := loaded(b, 1_000_000)
	x := crmaccess.Opportunity{ID: 5, CreateBy: user(5), IsPrivate: true, AccessList: []string{user(1), user(2)}}
	y := crmaccess.Opportunity{ID: 5, CreateBy: user(5), IsPrivate: true, AccessList: []string{user(3), user(4)}}
	if err := eng.Apply(policy.OpportunityRules(&crmaccess.Opportunity{ID: 5, CreateBy: user(5), Responsible: user(35)}), policy.OpportunityRules(&x)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := eng.Apply(policy.OpportunityRules(&x), policy.OpportunityRules(&y)); err != nil {
			b.Fatal(err)
		}
		x, y = y, x
	}
}

func BenchmarkLoad(b *testing.B) {
	rules, _ := grants(1_000_000)
	for b.Loop() {
		eng := newEngine(b)
		if err := eng.Load(rules); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageBulk stages and applies what a filter call over 100k
// shared contacts writes, in parts of 8,000 (each contact's share line out,
// three managers' lines in), then the way back: memory's part of the call.
func BenchmarkStageBulk(b *testing.B) {
	const n = 100_000
	shared := make([]crmaccess.Contact, n)
	private := make([]crmaccess.Contact, n)
	for i := range shared {
		shared[i] = crmaccess.Contact{ID: int64(i + 1), ShareType: crmaccess.ShareReadWrite}
		private[i] = crmaccess.Contact{ID: int64(i + 1), ShareType: crmaccess.ShareNone, ManagerList: []string{user(1), user(2), user(3)}}
	}
	rulesOf := func(cs []crmaccess.Contact) []crmaccess.Rule {
		var out []crmaccess.Rule
		for i := range cs {
			out = append(out, policy.ContactRules(&cs[i])...)
		}
		return out
	}
	eng := newEngine(b)
	if err := eng.Load(rulesOf(shared)); err != nil {
		b.Fatal(err)
	}
	from, to := shared, private
	for b.Loop() {
		st := eng.StageParts()
		for i := 0; i < n; i += 8000 {
			end := min(i+8000, n)
			if err := st.Add(rulesOf(from[i:end]), rulesOf(to[i:end])); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Apply(); err != nil {
			b.Fatal(err)
		}
		from, to = to, from
	}
}
