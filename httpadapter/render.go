package httpadapter

import (
	"context"
	"slices"
	"time"

	"github.com/crmaccess/crmaccess"
)

// The wire shapes, with the field names and order of ONLYOFFICE's
// documented examples. encoding/json keeps the declaration order, and the
// XML form is converted from the JSON, so both keep it.

// userJSON is ONLYOFFICE's EmployeeWraper.
type userJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Title       string `json:"title"`
	AvatarSmall string `json:"avatarSmall"`
	ProfileURL  string `json:"profileUrl"`
}

type stageJSON struct {
	SuccessProbability int    `json:"successProbability"`
	StageType          int    `json:"stageType"`
	Title              string `json:"title"`
	Description        string `json:"description"`
	Color              string `json:"color"`
	SortOrder          int    `json:"sortOrder"`
	ID                 int64  `json:"id"`
}

// contactSummaryJSON is an opportunity's main contact.
type contactSummaryJSON struct {
	SmallFotoURL string  `json:"smallFotoUrl"`
	DisplayName  string  `json:"displayName"`
	IsCompany    bool    `json:"isCompany"`
	IsPrivate    bool    `json:"isPrivate"`
	IsShared     bool    `json:"isShared"`
	ShareType    int     `json:"shareType"`
	Currency     *string `json:"currency"`
	CanEdit      bool    `json:"canEdit"`
	CanDelete    bool    `json:"canDelete"`
	ID           int64   `json:"id"`
}

// companySummaryJSON is a person's company.
type companySummaryJSON struct {
	CompanyName   string  `json:"companyName"`
	About         string  `json:"about"`
	HaveLateTasks bool    `json:"haveLateTasks"`
	DisplayName   string  `json:"displayName"`
	IsCompany     bool    `json:"isCompany"`
	IsPrivate     bool    `json:"isPrivate"`
	IsShared      bool    `json:"isShared"`
	ShareType     int     `json:"shareType"`
	Currency      *string `json:"currency"`
	CanEdit       bool    `json:"canEdit"`
	CanDelete     bool    `json:"canDelete"`
	ID            int64   `json:"id"`
}

type opportunityJSON struct {
	CreateBy           *userJSON           `json:"createBy"`
	Created            *string             `json:"created"`
	Contact            *contactSummaryJSON `json:"contact"`
	Title              string              `json:"title"`
	Description        string              `json:"description"`
	Responsible        *userJSON           `json:"responsible"`
	Stage              *stageJSON          `json:"stage"`
	SuccessProbability int                 `json:"successProbability"`
	ExpectedCloseDate  *string             `json:"expectedCloseDate"`
	IsPrivate          bool                `json:"isPrivate"`
	AccessList         *[]userJSON         `json:"accessList,omitempty"` // only when private
	CanEdit            bool                `json:"canEdit"`
	ID                 int64               `json:"id"`
}

// contactTail is what persons and companies share, after their names.
type contactTail struct {
	CreateBy      *userJSON   `json:"createBy"`
	Created       *string     `json:"created"`
	About         string      `json:"about"`
	CommonData    []struct{}  `json:"commonData"`   // contact details: crmaccess keeps none
	CustomFields  []struct{}  `json:"customFields"` // likewise
	Tags          []string    `json:"tags"`
	HaveLateTasks bool        `json:"haveLateTasks"`
	DisplayName   string      `json:"displayName"`
	IsCompany     bool        `json:"isCompany"`
	IsPrivate     bool        `json:"isPrivate"`
	IsShared      bool        `json:"isShared"`
	ShareType     int         `json:"shareType"`
	AccessList    *[]userJSON `json:"accessList,omitempty"` // only when private
	Currency      *string     `json:"currency"`
	CanEdit       bool        `json:"canEdit"`
	CanDelete     bool        `json:"canDelete"`
	ID            int64       `json:"id"`
}

type personJSON struct {
	FirstName string              `json:"firstName"`
	LastName  string              `json:"lastName"`
	Company   *companySummaryJSON `json:"company"`
	Title     string              `json:"title"`
	contactTail
}

type companyJSON struct {
	CompanyName string `json:"companyName"`
	contactTail
}

// lookupBatch is how many ids one look-up asks for.
const lookupBatch = 500

// directory holds the users, stages and contacts an answer mentions,
// fetched in batches before anything is written.
type directory struct {
	users     map[string]*userJSON
	stages    map[int64]*stageJSON
	contacts  map[int64]*crmaccess.ContactResult // readable by the actor
	loc       *time.Location
	actor     string
	svc       *crmaccess.Service
	batchSize int
}

func (h *handler) newDirectory(actor string) *directory {
	return &directory{
		users:     map[string]*userJSON{},
		stages:    map[int64]*stageJSON{},
		contacts:  map[int64]*crmaccess.ContactResult{},
		loc:       h.loc,
		actor:     actor,
		svc:       h.svc,
		batchSize: lookupBatch,
	}
}

// batches calls fn on ids in slices of at most n.
func batches[T any](ids []T, n int, fn func([]T) error) error {
	for len(ids) > 0 {
		k := min(n, len(ids))
		if err := fn(ids[:k]); err != nil {
			return err
		}
		ids = ids[k:]
	}
	return nil
}

// fetchUsers looks up the users of ids not seen yet.
func (d *directory) fetchUsers(ctx context.Context, ids []string) error {
	var need []string
	for _, id := range ids {
		if _, ok := d.users[id]; !ok && id != "" {
			d.users[id] = nil
			need = append(need, id)
		}
	}
	return batches(need, d.batchSize, func(ids []string) error {
		users, err := d.svc.Users(ctx, ids)
		for _, u := range users {
			d.users[u.ID] = &userJSON{ID: u.ID, DisplayName: u.DisplayName, Title: u.Title,
				AvatarSmall: u.AvatarSmall, ProfileURL: u.ProfileURL}
		}
		return err
	})
}

// fetchContacts looks up the contacts of ids the actor may read.
func (d *directory) fetchContacts(ctx context.Context, ids []int64) error {
	var need []int64
	for _, id := range ids {
		if _, ok := d.contacts[id]; !ok && id > 0 {
			d.contacts[id] = nil
			need = append(need, id)
		}
	}
	slices.Sort(need)
	return batches(need, d.batchSize, func(ids []int64) error {
		found, err := d.svc.Contacts(ctx, d.actor, ids)
		for i := range found {
			d.contacts[found[i].ID] = &found[i]
		}
		return err
	})
}

func (d *directory) fetchStages(ctx context.Context, ids []int64) error {
	stages, err := d.svc.Stages(ctx, ids)
	for _, s := range stages {
		d.stages[s.ID] = &stageJSON{SuccessProbability: s.SuccessProbability, StageType: s.StageType,
			Title: s.Title, Description: s.Description, Color: s.Color, SortOrder: s.SortOrder, ID: s.ID}
	}
	return err
}

// fetchForOpportunities looks up what the answer about opportunities
// mentions: their creators, responsible users and access lists, main
// contacts and stages.
func (d *directory) fetchForOpportunities(ctx context.Context, opps []crmaccess.OpportunityResult) error {
	var (
		users    []string
		contacts []int64
		stages   []int64
	)
	for i := range opps {
		o := &opps[i]
		users = append(users, o.CreateBy, o.Responsible)
		users = append(users, o.AccessList...)
		if o.ContactID != 0 {
			contacts = append(contacts, o.ContactID)
		}
		if o.StageID != 0 {
			stages = append(stages, o.StageID)
		}
	}
	slices.Sort(stages)
	stages = slices.Compact(stages)
	err := d.fetchUsers(ctx, users)
	if err == nil {
		err = d.fetchContacts(ctx, contacts)
	}
	if err == nil && len(stages) > 0 {
		err = batches(stages, d.batchSize, func(ids []int64) error { return d.fetchStages(ctx, ids) })
	}
	return err
}

// fetchForContacts looks up what the answer about contacts mentions: their
// creators, the managers of the private ones and persons' companies.
func (d *directory) fetchForContacts(ctx context.Context, cs []crmaccess.ContactResult) error {
	var (
		users     []string
		companies []int64
	)
	for i := range cs {
		c := &cs[i]
		users = append(users, c.CreateBy)
		if c.IsPrivate() {
			users = append(users, c.ManagerList...)
		}
		if !c.IsCompany && c.CompanyID != 0 {
			companies = append(companies, c.CompanyID)
		}
	}
	err := d.fetchUsers(ctx, users)
	if err == nil {
		err = d.fetchContacts(ctx, companies)
	}
	return err
}

// user renders a user id: null for none, the id and empty strings for a
// user the store does not know.
func (d *directory) user(id string) *userJSON {
	if id == "" {
		return nil
	}
	if u := d.users[id]; u != nil {
		return u
	}
	return &userJSON{ID: id}
}

func (d *directory) userList(ids []string) *[]userJSON {
	out := make([]userJSON, 0, len(ids))
	for _, id := range ids {
		out = append(out, *d.user(id))
	}
	return &out
}

func (d *directory) date(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatDate(t, d.loc)
	return &s
}

// opportunity renders an opportunity; its main contact is null when there
// is none or the actor may not read it.
func (d *directory) opportunity(o *crmaccess.OpportunityResult) *opportunityJSON {
	out := &opportunityJSON{
		CreateBy:           d.user(o.CreateBy),
		Created:            d.date(o.Created),
		Title:              o.Title,
		Description:        o.Description,
		Responsible:        d.user(o.Responsible),
		SuccessProbability: o.SuccessProbability,
		ExpectedCloseDate:  d.date(o.ExpectedCloseDate),
		IsPrivate:          o.IsPrivate,
		CanEdit:            o.CanEdit,
		ID:                 o.ID,
	}
	if c := d.contacts[o.ContactID]; c != nil {
		out.Contact = &contactSummaryJSON{
			DisplayName: c.DisplayName(), IsCompany: c.IsCompany,
			IsPrivate: c.IsPrivate(), IsShared: c.IsShared(), ShareType: int(c.ShareType),
			CanEdit: c.CanEdit, CanDelete: c.CanDelete, ID: c.ID,
		}
	}
	if s := d.stages[o.StageID]; s != nil {
		out.Stage = s
	}
	if o.IsPrivate {
		out.AccessList = d.userList(o.AccessList)
	}
	return out
}

// contact renders a person or a company; a person's company is null when
// there is none or the actor may not read it.
func (d *directory) contact(c *crmaccess.ContactResult) any {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	tail := contactTail{
		CreateBy:     d.user(c.CreateBy),
		Created:      d.date(c.Created),
		About:        c.About,
		CommonData:   []struct{}{},
		CustomFields: []struct{}{},
		Tags:         tags,
		DisplayName:  c.DisplayName(),
		IsCompany:    c.IsCompany,
		IsPrivate:    c.IsPrivate(),
		IsShared:     c.IsShared(),
		ShareType:    int(c.ShareType),
		CanEdit:      c.CanEdit,
		CanDelete:    c.CanDelete,
		ID:           c.ID,
	}
	if c.IsPrivate() {
		tail.AccessList = d.userList(c.ManagerList)
	}
	if c.IsCompany {
		return &companyJSON{CompanyName: c.CompanyName, contactTail: tail}
	}
	p := &personJSON{FirstName: c.FirstName, LastName: c.LastName, Title: c.Title, contactTail: tail}
	if co := d.contacts[c.CompanyID]; c.CompanyID != 0 && co != nil {
		p.Company = &companySummaryJSON{
			CompanyName: co.CompanyName, About: co.About, DisplayName: co.DisplayName(),
			IsCompany: co.IsCompany, IsPrivate: co.IsPrivate(), IsShared: co.IsShared(),
			ShareType: int(co.ShareType), CanEdit: co.CanEdit, CanDelete: co.CanDelete, ID: co.ID,
		}
	}
	return p
}
