package crmaccess

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Fixture is a data set in the fixture file format: the demo portal of
// examples/server, and what tests load. Parse it with ParseFixture and load
// it into an empty store with Service.Import.
type Fixture struct {
	Users         []FixtureUser        `json:"users"`
	Stages        []FixtureStage       `json:"stages"`
	Contacts      []FixtureContact     `json:"contacts"`
	Opportunities []FixtureOpportunity `json:"opportunities"`
}

// FixtureUser is a user of a fixture; Admin grants the admin role, Token is
// for the host's authentication (the library does not keep it).
type FixtureUser struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Title       string `json:"title"`
	AvatarSmall string `json:"avatarSmall,omitempty"`
	ProfileURL  string `json:"profileUrl,omitempty"`
	Admin       bool   `json:"admin,omitempty"`
	Token       string `json:"token,omitempty"`
}

// FixtureStage is an opportunity stage of a fixture.
type FixtureStage struct {
	ID                 int64  `json:"id"`
	Title              string `json:"title"`
	Description        string `json:"description"`
	Color              string `json:"color"`
	SortOrder          int    `json:"sortOrder"`
	SuccessProbability int    `json:"successProbability"`
	StageType          int    `json:"stageType"`
}

// FixtureContact is a contact of a fixture. An absent shareType is 1
// (ReadWrite); absent stage and type are 0; absent lists are empty.
type FixtureContact struct {
	ID           int64       `json:"id"`
	IsCompany    bool        `json:"isCompany"`
	CompanyName  string      `json:"companyName"`
	FirstName    string      `json:"firstName"`
	LastName     string      `json:"lastName"`
	Title        string      `json:"title"`
	CompanyID    int64       `json:"companyId"`
	About        string      `json:"about"`
	Tags         []string    `json:"tags"`
	ContactStage int64       `json:"contactStage"`
	ContactType  int64       `json:"contactType"`
	Created      FixtureTime `json:"created"`
	CreateBy     string      `json:"createBy"`
	ShareType    *ShareType  `json:"shareType"`
	ManagerList  []string    `json:"managerList"`
}

// FixtureOpportunity is an opportunity of a fixture.
type FixtureOpportunity struct {
	ID                 int64       `json:"id"`
	Title              string      `json:"title"`
	Description        string      `json:"description"`
	CreateBy           string      `json:"createBy"`
	Responsible        string      `json:"responsible"`
	ContactID          int64       `json:"contactId"`
	Members            []int64     `json:"members"`
	Tags               []string    `json:"tags"`
	StageID            int64       `json:"stageId"`
	SuccessProbability int         `json:"successProbability"`
	ExpectedCloseDate  FixtureTime `json:"expectedCloseDate"`
	Created            FixtureTime `json:"created"`
	IsPrivate          bool        `json:"isPrivate"`
	AccessList         []string    `json:"accessList"`
}

// FixtureTime is an RFC 3339 time in a fixture; "" or null is the zero time.
type FixtureTime struct{ time.Time }

// UnmarshalJSON accepts an RFC 3339 string, "" or null.
func (t *FixtureTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time", *s)
	}
	t.Time = v
	return nil
}

// MarshalJSON writes RFC 3339 with nanoseconds, or "" for the zero time.
func (t FixtureTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(t.Format(time.RFC3339Nano))
}

// ParseFixture reads a fixture file (JSON, unknown fields refused) and
// checks it: ids positive and unique, user ids GUIDs, references to existing
// contacts and stages, share types 0 to 2, no access list on a public
// opportunity. It fails with EINVALID and a message naming the entry.
func ParseFixture(r io.Reader) (*Fixture, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, Errorf(EINVALID, "fixture: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Errorf(EINVALID, "fixture: data after the JSON object")
	}
	if err := f.normalize(); err != nil {
		return nil, err
	}
	return &f, nil
}

// normalize canonicalizes GUIDs and checks the references.
func (f *Fixture) normalize() error {
	users := map[string]bool{}
	for i := range f.Users {
		u := &f.Users[i]
		id, err := ParseGUID(u.ID)
		if err != nil {
			return Errorf(EINVALID, "fixture: users[%d]: id %q is not a GUID", i, u.ID)
		}
		if users[id] {
			return Errorf(EINVALID, "fixture: users[%d]: duplicate id %s", i, id)
		}
		users[id], u.ID = true, id
	}
	stages := map[int64]bool{}
	for i, s := range f.Stages {
		if s.ID <= 0 || stages[s.ID] {
			return Errorf(EINVALID, "fixture: stages[%d]: id %d is not positive or not unique", i, s.ID)
		}
		stages[s.ID] = true
	}
	contacts := map[int64]bool{}
	companies := map[int64]bool{}
	for i, c := range f.Contacts {
		if c.ID <= 0 || contacts[c.ID] {
			return Errorf(EINVALID, "fixture: contacts[%d]: id %d is not positive or not unique", i, c.ID)
		}
		contacts[c.ID] = true
		if c.IsCompany {
			companies[c.ID] = true
		}
	}
	guid := func(where, field, s string) (string, error) {
		id, err := ParseGUID(s)
		if err != nil {
			return "", Errorf(EINVALID, "fixture: %s: %s %q is not a GUID", where, field, s)
		}
		return id, nil
	}
	var err error
	for i := range f.Contacts {
		c := &f.Contacts[i]
		where := fmt.Sprintf("contacts[%d]", i)
		if c.CompanyID != 0 && (c.IsCompany || !companies[c.CompanyID]) {
			return Errorf(EINVALID, "fixture: %s: companyId %d is not a company of the fixture", where, c.CompanyID)
		}
		if c.ShareType != nil && !c.ShareType.Valid() {
			return Errorf(EINVALID, "fixture: %s: shareType %d is not 0, 1 or 2", where, int(*c.ShareType))
		}
		if c.CreateBy != "" {
			if c.CreateBy, err = guid(where, "createBy", c.CreateBy); err != nil {
				return err
			}
		}
		if c.ManagerList, err = ParseGUIDList(where+": managerList", c.ManagerList); err != nil {
			return Errorf(EINVALID, "fixture: %s", ErrorMessage(err))
		}
	}
	opps := map[int64]bool{}
	for i := range f.Opportunities {
		o := &f.Opportunities[i]
		where := fmt.Sprintf("opportunities[%d]", i)
		if o.ID <= 0 || opps[o.ID] {
			return Errorf(EINVALID, "fixture: %s: id %d is not positive or not unique", where, o.ID)
		}
		opps[o.ID] = true
		if o.ContactID != 0 && !contacts[o.ContactID] {
			return Errorf(EINVALID, "fixture: %s: contactId %d is not a contact of the fixture", where, o.ContactID)
		}
		for _, m := range o.Members {
			if !contacts[m] {
				return Errorf(EINVALID, "fixture: %s: member %d is not a contact of the fixture", where, m)
			}
		}
		if o.StageID != 0 && !stages[o.StageID] {
			return Errorf(EINVALID, "fixture: %s: stageId %d is not a stage of the fixture", where, o.StageID)
		}
		if o.CreateBy != "" {
			if o.CreateBy, err = guid(where, "createBy", o.CreateBy); err != nil {
				return err
			}
		}
		if o.Responsible != "" {
			if o.Responsible, err = guid(where, "responsible", o.Responsible); err != nil {
				return err
			}
		}
		if !o.IsPrivate && len(o.AccessList) > 0 {
			return Errorf(EINVALID, "fixture: %s: a public opportunity has no accessList", where)
		}
		if o.AccessList, err = ParseGUIDList(where+": accessList", o.AccessList); err != nil {
			return Errorf(EINVALID, "fixture: %s", ErrorMessage(err))
		}
	}
	return nil
}

// records converts the fixture into the records it holds.
func (f *Fixture) records() (users []User, stages []Stage, contacts []Contact, opps []Opportunity) {
	for _, u := range f.Users {
		users = append(users, User{ID: u.ID, DisplayName: u.DisplayName, Title: u.Title,
			AvatarSmall: u.AvatarSmall, ProfileURL: u.ProfileURL})
	}
	for _, s := range f.Stages {
		stages = append(stages, Stage(s))
	}
	for _, c := range f.Contacts {
		share := ShareReadWrite
		if c.ShareType != nil {
			share = *c.ShareType
		}
		contacts = append(contacts, Contact{
			ID: c.ID, IsCompany: c.IsCompany, CompanyName: c.CompanyName,
			FirstName: c.FirstName, LastName: c.LastName, Title: c.Title,
			CompanyID: c.CompanyID, About: c.About, Tags: c.Tags,
			ContactStage: c.ContactStage, ContactType: c.ContactType,
			Created: c.Created.Time, CreateBy: c.CreateBy,
			ShareType: share, ManagerList: c.ManagerList,
		})
	}
	for _, o := range f.Opportunities {
		opps = append(opps, Opportunity{
			ID: o.ID, Title: o.Title, Description: o.Description,
			CreateBy: o.CreateBy, Responsible: o.Responsible,
			ContactID: o.ContactID, Members: o.Members, Tags: o.Tags, StageID: o.StageID,
			SuccessProbability: o.SuccessProbability,
			ExpectedCloseDate:  o.ExpectedCloseDate.Time, Created: o.Created.Time,
			IsPrivate: o.IsPrivate, AccessList: o.AccessList,
		})
	}
	return users, stages, contacts, opps
}
