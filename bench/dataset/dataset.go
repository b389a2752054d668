package dataset

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/policy"
)

// UserCount is how many users every data set has.
const UserCount = 1000

// UserID is the canonical GUID of user i (0 ≤ i < UserCount). The same
// string is returned every time, as a server holds its users' ids.
func UserID(i int) string { return userIDs[i] }

var userIDs = func() []string {
	ids := make([]string, UserCount)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", 0xbe4c0000+i, i)
	}
	return ids
}()

// created is the creation time of the generated records: a fixed day, so
// that two runs write the same rows.
var created = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

func users() []crmaccess.User {
	out := make([]crmaccess.User, UserCount)
	for i := range out {
		out[i] = crmaccess.User{ID: UserID(i), DisplayName: fmt.Sprintf("User %d", i), Title: "Sales manager"}
	}
	return out
}

func stages() []crmaccess.Stage {
	names := []string{"Initial contact", "Discussion", "Proposal", "Negotiation", "Won", "Lost"}
	out := make([]crmaccess.Stage, len(names))
	for i, n := range names {
		out[i] = crmaccess.Stage{ID: int64(i + 1), Title: n, Color: "#B9AFD3", SortOrder: i,
			SuccessProbability: 10 * (i + 1)}
	}
	return out
}

// distinctUsers draws k distinct users other than the excluded ones.
func distinctUsers(r *rand.Rand, k int, exclude ...int) []int {
	out := make([]int, 0, k)
	for len(out) < k {
		u := r.IntN(UserCount)
		ok := true
		for _, e := range append(exclude, out...) {
			if e == u {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, u)
		}
	}
	return out
}

// Grants returns a portal whose access rules number about n lines (never
// fewer): companies that are shared (one line each) and opportunities, one
// in ten private with an accessList of 2 to 5 users; every opportunity has
// a creator and a different responsible user, and the list names neither
// (so each rule is one distinct plain ACL line, see ACLLines). No user is
// an admin.
func Grants(n int) *crmaccess.DataSet {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	f := &crmaccess.DataSet{Users: users(), Stages: stages()}
	// About 3.25 lines an opportunity; one company for 50 opportunities.
	companies := max(1, n/163)
	for i := 1; i <= companies; i++ {
		f.Contacts = append(f.Contacts, crmaccess.Contact{ID: int64(i), IsCompany: true, ShareType: crmaccess.ShareReadWrite,
			CompanyName: fmt.Sprintf("Company %d", i), Tags: []string{"customer"}, Created: created,
			CreateBy: UserID(r.IntN(UserCount))})
	}
	lines := companies
	for id := int64(1); lines < n; id++ {
		o := opportunity(r, id, companies)
		lines += 2 + max(1, len(o.AccessList))
		f.Opportunities = append(f.Opportunities, o)
	}
	return f
}

// opportunity generates opportunity id of a grant data set whose companies
// are 1 to companies: a creator and a different responsible user, one in
// ten private with an accessList of 2 to 5 other users.
func opportunity(r *rand.Rand, id int64, companies int) crmaccess.Opportunity {
	people := distinctUsers(r, 2)
	o := crmaccess.Opportunity{
		ID: id, Title: fmt.Sprintf("Deal %d", id), Description: "Generated opportunity",
		CreateBy: UserID(people[0]), Responsible: UserID(people[1]),
		ContactID: int64(1 + r.IntN(companies)), StageID: int64(1 + r.IntN(6)), SuccessProbability: 50,
		ExpectedCloseDate: created.AddDate(0, 3, 0),
		Created:           created,
	}
	if r.IntN(10) == 0 {
		o.IsPrivate = true
		for _, u := range distinctUsers(r, 2+r.IntN(4), people...) {
			o.AccessList = append(o.AccessList, UserID(u))
		}
	}
	return o
}

// Adoption returns the data set a team adopting crmaccess on a running CRM
// would load into a store that holds grants (a Grants data set): the
// grants' users, stages and companies as they are, and n opportunities
// more, generated as Grants generates its own, with ids from first on.
// The same arguments give the same data set.
func Adoption(grants *crmaccess.DataSet, n int, first int64) *crmaccess.DataSet {
	r := rand.New(rand.NewPCG(3, uint64(first)))
	f := &crmaccess.DataSet{Users: users(), Stages: stages()}
	for _, c := range grants.Contacts {
		if c.IsCompany {
			f.Contacts = append(f.Contacts, c)
		}
	}
	f.Opportunities = make([]crmaccess.Opportunity, n)
	for i := range f.Opportunities {
		f.Opportunities[i] = opportunity(r, first+int64(i), len(f.Contacts))
	}
	return f
}

// Rules returns the grants crmaccess stores for f (the admin rules, the
// contacts' and the opportunities' rules), as Service.Import writes them;
// Import also writes one status line per user (g5, user, crm:active),
// which are not grants and are left out here.
func Rules(f *crmaccess.DataSet) []crmaccess.Rule {
	var out []crmaccess.Rule
	for _, a := range f.Admins {
		out = append(out, policy.AdminRule(a))
	}
	for _, c := range f.Contacts {
		out = append(out, policy.ContactRules(&c)...)
	}
	for _, o := range f.Opportunities {
		out = append(out, policy.OpportunityRules(&crmaccess.Opportunity{ID: o.ID, CreateBy: o.CreateBy,
			Responsible: o.Responsible, IsPrivate: o.IsPrivate, AccessList: o.AccessList})...)
	}
	return out
}

// Check is one read check: a user and a record.
type Check struct {
	User string
	Ref  crmaccess.Ref
}

// Checks returns count read checks of random users on random opportunities
// of f; the same seed gives the same checks.
func Checks(f *crmaccess.DataSet, count int, seed uint64) []Check {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]Check, count)
	for i := range out {
		o := &f.Opportunities[r.IntN(len(f.Opportunities))]
		out[i] = Check{User: UserID(r.IntN(UserCount)), Ref: crmaccess.OpportunityRef(o.ID)}
	}
	return out
}

// DistinctCheck returns the k-th of a sequence of distinct (user, record)
// pairs over opportunities 1 to records (as Grants numbers them): k and
// k' < UserCount × records give different pairs.
func DistinctCheck(records, k int) Check {
	// k / UserCount walks the records in a stride coprime with their count.
	stride := 7919
	for gcd(stride, records) != 1 {
		stride += 2
	}
	rec := (k / UserCount % records) * stride % records
	return Check{User: UserID(k % UserCount), Ref: crmaccess.OpportunityRef(int64(rec + 1))}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
