package crmaccess

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
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
// opportunity. It fails with EINVALID and a message naming the line and
// column of the problem in the file and the entry it concerns.
func ParseFixture(r io.Reader) (*Fixture, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, Errorf(EINVALID, "fixture: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, decodeProblem(data, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Errorf(EINVALID, "fixture: %s: data after the JSON object", lineColumn(data, skipSeparators(data, end)))
	}
	if p := f.check(); p != nil {
		return nil, Errorf(EINVALID, "fixture: %s: %s", lineColumn(data, p.offset(data)), p)
	}
	return &f, nil
}

// normalize canonicalizes GUIDs and checks the references.
func (f *Fixture) normalize() error {
	if p := f.check(); p != nil {
		return Errorf(EINVALID, "fixture: %s", p)
	}
	return nil
}

// fixtureProblem is a failed check of one entry's field, kept apart so that
// ParseFixture can find it in the file.
type fixtureProblem struct {
	list  string // users, stages, contacts or opportunities
	index int
	field string // the field's JSON name
	msg   string
}

func (p *fixtureProblem) String() string { return fmt.Sprintf("%s[%d]: %s", p.list, p.index, p.msg) }

// check canonicalizes GUIDs and checks the references; it returns the first
// problem, or nil.
func (f *Fixture) check() *fixtureProblem {
	problem := func(list string, i int, field, format string, args ...any) *fixtureProblem {
		return &fixtureProblem{list: list, index: i, field: field, msg: fmt.Sprintf(format, args...)}
	}
	users := map[string]bool{}
	for i := range f.Users {
		u := &f.Users[i]
		id, err := ParseGUID(u.ID)
		if err != nil {
			return problem("users", i, "id", "id %q is not a GUID", u.ID)
		}
		if users[id] {
			return problem("users", i, "id", "duplicate id %s", id)
		}
		users[id], u.ID = true, id
	}
	stages := map[int64]bool{}
	for i, s := range f.Stages {
		if s.ID <= 0 || stages[s.ID] {
			return problem("stages", i, "id", "id %d is not positive or not unique", s.ID)
		}
		stages[s.ID] = true
	}
	contacts := map[int64]bool{}
	companies := map[int64]bool{}
	for i, c := range f.Contacts {
		if c.ID <= 0 || contacts[c.ID] {
			return problem("contacts", i, "id", "id %d is not positive or not unique", c.ID)
		}
		contacts[c.ID] = true
		if c.IsCompany {
			companies[c.ID] = true
		}
	}
	// guid canonicalizes one id field; guids one list field.
	guid := func(list string, i int, field string, s *string) *fixtureProblem {
		id, err := ParseGUID(*s)
		if err != nil {
			return problem(list, i, field, "%s %q is not a GUID", field, *s)
		}
		*s = id
		return nil
	}
	guids := func(list string, i int, field string, l *[]string) *fixtureProblem {
		ids, err := ParseGUIDList(field, *l)
		if err != nil {
			return problem(list, i, field, "%s", ErrorMessage(err))
		}
		*l = ids
		return nil
	}
	for i := range f.Contacts {
		c := &f.Contacts[i]
		if c.CompanyID != 0 && (c.IsCompany || !companies[c.CompanyID]) {
			return problem("contacts", i, "companyId", "companyId %d is not a company of the fixture", c.CompanyID)
		}
		if c.ShareType != nil && !c.ShareType.Valid() {
			return problem("contacts", i, "shareType", "shareType %d is not 0, 1 or 2", int(*c.ShareType))
		}
		if c.CreateBy != "" {
			if p := guid("contacts", i, "createBy", &c.CreateBy); p != nil {
				return p
			}
		}
		if p := guids("contacts", i, "managerList", &c.ManagerList); p != nil {
			return p
		}
		if (c.ShareType == nil || *c.ShareType == ShareReadWrite) && len(c.ManagerList) > 0 {
			return problem("contacts", i, "managerList", "a contact shared read-write has no managerList")
		}
	}
	opps := map[int64]bool{}
	for i := range f.Opportunities {
		o := &f.Opportunities[i]
		const list = "opportunities"
		if o.ID <= 0 || opps[o.ID] {
			return problem(list, i, "id", "id %d is not positive or not unique", o.ID)
		}
		opps[o.ID] = true
		if o.ContactID != 0 && !contacts[o.ContactID] {
			return problem(list, i, "contactId", "contactId %d is not a contact of the fixture", o.ContactID)
		}
		for _, m := range o.Members {
			if !contacts[m] {
				return problem(list, i, "members", "member %d is not a contact of the fixture", m)
			}
		}
		if o.StageID != 0 && !stages[o.StageID] {
			return problem(list, i, "stageId", "stageId %d is not a stage of the fixture", o.StageID)
		}
		if o.CreateBy != "" {
			if p := guid(list, i, "createBy", &o.CreateBy); p != nil {
				return p
			}
		}
		if o.Responsible != "" {
			if p := guid(list, i, "responsible", &o.Responsible); p != nil {
				return p
			}
		}
		if !o.IsPrivate && len(o.AccessList) > 0 {
			return problem(list, i, "accessList", "a public opportunity has no accessList")
		}
		if p := guids(list, i, "accessList", &o.AccessList); p != nil {
			return p
		}
	}
	return nil
}

// Where a problem is in the file. These run only once a fixture failed, so
// they may decode its members one by one.

// fixtureLists are the lists of a fixture and a new entry of each.
var fixtureLists = []struct {
	name     string
	newEntry func() any
}{
	{"users", func() any { return new(FixtureUser) }},
	{"stages", func() any { return new(FixtureStage) }},
	{"contacts", func() any { return new(FixtureContact) }},
	{"opportunities", func() any { return new(FixtureOpportunity) }},
}

// jsonMember is one member of a JSON object and where it is in the file.
type jsonMember struct {
	key            string
	keyAt, valueAt int64
	value          json.RawMessage
}

// skipSeparators returns the offset of the next token at or after off.
func skipSeparators(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return off
}

// jsonMembers returns the members of the (valid) JSON object at off, or
// false when the value there is not an object.
func jsonMembers(data []byte, off int64) ([]jsonMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(data[off:]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []jsonMember
	for dec.More() {
		m := jsonMember{keyAt: skipSeparators(data, off+dec.InputOffset())}
		tok, err := dec.Token()
		if err != nil {
			return out, true
		}
		m.key, _ = tok.(string)
		m.valueAt = skipSeparators(data, off+dec.InputOffset())
		if err := dec.Decode(&m.value); err != nil {
			return out, true
		}
		out = append(out, m)
	}
	return out, true
}

// jsonElements returns the elements of the (valid) JSON array at off, as
// members without a key, or false when the value there is not an array.
func jsonElements(data []byte, off int64) ([]jsonMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(data[off:]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, false
	}
	var out []jsonMember
	for dec.More() {
		e := jsonMember{valueAt: skipSeparators(data, off+dec.InputOffset())}
		if err := dec.Decode(&e.value); err != nil {
			break
		}
		out = append(out, e)
	}
	return out, true
}

// lastMember returns the last member named name (any case, as
// encoding/json matches), or false.
func lastMember(ms []jsonMember, name string) (jsonMember, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.EqualFold(ms[i].key, name) {
			return ms[i], true
		}
	}
	return jsonMember{}, false
}

// offset returns where in data the problem's field is: its value, or the
// entry when the field is absent.
func (p *fixtureProblem) offset(data []byte) int64 {
	top, _ := jsonMembers(data, skipSeparators(data, 0))
	list, ok := lastMember(top, p.list)
	if !ok {
		return 0
	}
	elems, _ := jsonElements(data, list.valueAt)
	if p.index >= len(elems) {
		return list.valueAt
	}
	fields, _ := jsonMembers(data, elems[p.index].valueAt)
	if m, ok := lastMember(fields, p.field); ok {
		return m.valueAt
	}
	return elems[p.index].valueAt
}

// decodeAlone decodes one member as the only member of an object into v;
// strict refuses unknown fields.
func decodeAlone(m jsonMember, v any, strict bool) error {
	key, _ := json.Marshal(m.key)
	obj := append(append(append(append([]byte{'{'}, key...), ':'), m.value...), '}')
	dec := json.NewDecoder(bytes.NewReader(obj))
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// decodeProblem turns a failed decode of data into an EINVALID error naming
// where it failed. A syntax error says where itself; for the others (a
// value of the wrong type, an unknown field, a bad time), the members are
// decoded one by one until one fails.
func decodeProblem(data []byte, err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return Errorf(EINVALID, "fixture: %s: %v", lineColumn(data, max(syntax.Offset-1, 0)), err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Errorf(EINVALID, "fixture: %s: unexpected end of the file", lineColumn(data, int64(len(data))))
	}
	at, path := locateDecodeProblem(data)
	if path != "" {
		path += ": "
	}
	return Errorf(EINVALID, "fixture: %s: %s%v", lineColumn(data, at), path, err)
}

// locateDecodeProblem returns where the first member that does not decode
// on its own is, and the entry it belongs to ("contacts[3]"), if any.
func locateDecodeProblem(data []byte) (int64, string) {
	start := skipSeparators(data, 0)
	top, ok := jsonMembers(data, start)
	if !ok {
		return start, "" // not an object
	}
	for _, m := range top {
		var list string
		var newEntry func() any
		for _, l := range fixtureLists {
			if strings.EqualFold(l.name, m.key) {
				list, newEntry = l.name, l.newEntry
			}
		}
		if newEntry == nil {
			return m.keyAt, "" // unknown member
		}
		if decodeAlone(m, new(Fixture), true) == nil {
			continue
		}
		elems, ok := jsonElements(data, m.valueAt)
		if !ok {
			return m.valueAt, ""
		}
		for i, e := range elems {
			entry := fmt.Sprintf("%s[%d]", list, i)
			fields, ok := jsonMembers(data, e.valueAt)
			if !ok {
				if json.Unmarshal(e.value, newEntry()) != nil {
					return e.valueAt, entry // not an object
				}
				continue
			}
			for _, f := range fields {
				if decodeAlone(f, newEntry(), true) == nil {
					continue
				}
				// An entry's fields hold no objects, so a field that
				// decodes when unknown fields are allowed is unknown.
				if decodeAlone(f, newEntry(), false) == nil {
					return f.keyAt, entry
				}
				return f.valueAt, entry
			}
		}
		return m.valueAt, ""
	}
	return start, ""
}

// lineColumn names a byte offset of data as "line L, column C", both from
// 1, the column counted in characters.
func lineColumn(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("line %d, column %d", line, col)
}

// records converts the fixture into the records it holds.
func (f *Fixture) records() (users []User, stages []Stage, contacts []Contact, opps []Opportunity) {
	for _, u := range f.Users {
		users = append(users, User{ID: u.ID, DisplayName: u.DisplayName, Title: u.Title,
			AvatarSmall: u.AvatarSmall, ProfileURL: u.ProfileURL, Status: UserActive})
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
