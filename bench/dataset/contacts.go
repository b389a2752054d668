package dataset

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/crmaccess/crmaccess"
)

// ContactsAdmin is the admin user of Contacts, the actor of the filter
// calls (an admin may edit every contact, so none is skipped).
const ContactsAdmin = 0

// Contact filter of Contacts: the matching contacts carry FilterTag and
// have stage FilterStage and type FilterType.
const (
	FilterTag   = "VIP"
	FilterStage = 3
	FilterType  = 2
)

var tagPool = []string{"customer", "partner", "lead", "supplier", "press", "investor", "event-2024",
	"newsletter", "europe", "asia", "americas", "enterprise", "smb", "churn-risk", "renewal"}

// Filter is the filter that selects the matching contacts of Contacts.
func Filter() crmaccess.ContactFilter {
	stage, typ := int64(FilterStage), int64(FilterType)
	return crmaccess.ContactFilter{Tags: []string{FilterTag}, Stage: &stage, Type: &typ}
}

// Managers are the three managers a filter call makes the matching
// contacts private with.
func Managers() []string { return []string{UserID(11), UserID(22), UserID(33)} }

// Contacts returns a portal of contacts for the filter rows: matching
// contacts that Filter selects, every one shared (ReadWrite) so that making
// them private with Managers writes three rule lines each, and a fifth as
// many others that miss the filter by one field (the tag, the stage or the
// type), a tenth of them private with two managers. One contact in five
// is a company; three persons in four work for one of the companies. User
// ContactsAdmin is an admin.
func Contacts(matching int) *crmaccess.DataSet {
	r := rand.New(rand.NewPCG(2, uint64(matching)))
	f := &crmaccess.DataSet{Users: users(), Admins: []string{UserID(ContactsAdmin)}, Stages: stages()}
	total := matching + matching/5
	// Which contacts match: a random matching-sized subset.
	match := make([]bool, total)
	for _, i := range r.Perm(total)[:matching] {
		match[i] = true
	}
	var companies []int64
	private := crmaccess.ShareNone
	for i := range total {
		id := int64(i + 1)
		c := crmaccess.Contact{ID: id, ShareType: crmaccess.ShareReadWrite, Created: created.Add(time.Duration(i) * time.Minute),
			CreateBy: UserID(r.IntN(UserCount)), About: "Generated contact",
			ContactStage: int64(1 + r.IntN(6)), ContactType: int64(1 + r.IntN(4))}
		if i%5 == 0 {
			c.IsCompany = true
			c.CompanyName = fmt.Sprintf("Company %d", id)
			companies = append(companies, id)
		} else {
			c.FirstName, c.LastName = firstNames[r.IntN(len(firstNames))], fmt.Sprintf("Person%d", id)
			c.Title = "Buyer"
			if len(companies) > 0 && r.IntN(4) != 0 {
				c.CompanyID = companies[r.IntN(len(companies))]
			}
		}
		for _, t := range r.Perm(len(tagPool))[:1+r.IntN(3)] {
			c.Tags = append(c.Tags, tagPool[t])
		}
		if match[i] {
			c.Tags = append(c.Tags, FilterTag)
			c.ContactStage, c.ContactType = FilterStage, FilterType
		} else {
			switch r.IntN(3) {
			case 0: // the tag missing
				c.ContactStage, c.ContactType = FilterStage, FilterType
			case 1: // another stage
				c.Tags = append(c.Tags, FilterTag)
				c.ContactStage, c.ContactType = FilterStage+1, FilterType
			default: // another type
				c.Tags = append(c.Tags, FilterTag)
				c.ContactStage, c.ContactType = FilterStage, FilterType+1
			}
			if r.IntN(10) == 0 {
				c.ShareType = private
				for _, u := range distinctUsers(r, 2) {
					c.ManagerList = append(c.ManagerList, UserID(u))
				}
			}
		}
		f.Contacts = append(f.Contacts, c)
	}
	return f
}

var firstNames = []string{"Anna", "Boris", "Chen", "Dana", "Emil", "Fatima", "Greta", "Hugo", "Ines", "Jonas"}
