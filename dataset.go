package crmaccess

import (
	"fmt"
	"slices"
)

// DataSet is a set of users and records to load at once: what
// Service.Import puts into an empty store and Service.Upsert into one that
// holds data. The fixture package reads one from a file; a host builds one
// from its own tables.
type DataSet struct {
	// Users are added active; their Status is not read.
	Users []User
	// Admins are the ids of the users of Users who hold the admin role.
	Admins        []string
	Stages        []Stage
	Contacts      []Contact
	Opportunities []Opportunity
}

// InvalidEntry is the first entry of a data set that Import and Upsert
// refuse: the list it is in, its index there, the field at fault (named
// as the fixture format and SPEC name it: "id", "managerList", ...) and why.
type InvalidEntry struct {
	List   string // "users", "admins", "stages", "contacts" or "opportunities"
	Index  int
	Field  string
	Reason string
}

func (e *InvalidEntry) String() string { return fmt.Sprintf("%s[%d]: %s", e.List, e.Index, e.Reason) }

// Canonical checks d as Import and Upsert do and returns a copy of it with
// every user id in canonical form and every list sorted without
// duplicates, or the first entry that fails. The rules:
//   - users' ids are GUIDs and unique; admins are users of the data set;
//   - stages', contacts' and opportunities' ids are positive and unique;
//   - a person's companyId names a company of the data set; an
//     opportunity's contactId and members name contacts of the data set,
//     its stageId a stage of the data set;
//   - share types are 0 to 2; creators, responsible users and list entries
//     are GUIDs;
//   - a public opportunity has no accessList, and a contact shared
//     read-write has no managerList (the list would grant nothing).
//
// d itself is not changed.
func (d *DataSet) Canonical() (*DataSet, *InvalidEntry) {
	out := &DataSet{
		Users:         slices.Clone(d.Users),
		Admins:        make([]string, 0, len(d.Admins)),
		Stages:        slices.Clone(d.Stages),
		Contacts:      slices.Clone(d.Contacts),
		Opportunities: slices.Clone(d.Opportunities),
	}
	invalid := func(list string, i int, field, format string, args ...any) *InvalidEntry {
		return &InvalidEntry{List: list, Index: i, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	// guid canonicalizes one id field; guids one list field.
	guid := func(list string, i int, field string, s *string) *InvalidEntry {
		id, err := ParseGUID(*s)
		if err != nil {
			return invalid(list, i, field, "%s %q is not a GUID", field, *s)
		}
		*s = id
		return nil
	}
	guids := func(list string, i int, field string, l *[]string) *InvalidEntry {
		ids, err := ParseGUIDList(field, *l)
		if err != nil {
			return invalid(list, i, field, "%s", ErrorMessage(err))
		}
		*l = ids
		return nil
	}

	users := make(map[string]bool, len(out.Users))
	for i := range out.Users {
		u := &out.Users[i]
		if p := guid("users", i, "id", &u.ID); p != nil {
			return nil, p
		}
		if users[u.ID] {
			return nil, invalid("users", i, "id", "duplicate id %s", u.ID)
		}
		users[u.ID] = true
	}
	admins := make(map[string]bool, len(d.Admins))
	for i, a := range d.Admins {
		id, err := ParseGUID(a)
		if err != nil || !users[id] {
			return nil, invalid("admins", i, "admin", "admin %q is not a user of the data set", a)
		}
		if !admins[id] {
			admins[id] = true
			out.Admins = append(out.Admins, id)
		}
	}

	stages := make(map[int64]bool, len(out.Stages))
	for i, s := range out.Stages {
		if s.ID <= 0 || stages[s.ID] {
			return nil, invalid("stages", i, "id", "id %d is not positive or not unique", s.ID)
		}
		stages[s.ID] = true
	}

	contacts := make(map[int64]bool, len(out.Contacts))
	companies := map[int64]bool{}
	for i, c := range out.Contacts {
		if c.ID <= 0 || contacts[c.ID] {
			return nil, invalid("contacts", i, "id", "id %d is not positive or not unique", c.ID)
		}
		contacts[c.ID] = true
		if c.IsCompany {
			companies[c.ID] = true
		}
	}
	for i := range out.Contacts {
		const list = "contacts"
		c := &out.Contacts[i]
		if c.CompanyID != 0 && (c.IsCompany || !companies[c.CompanyID]) {
			return nil, invalid(list, i, "companyId", "companyId %d is not a company of the data set", c.CompanyID)
		}
		if !c.ShareType.Valid() {
			return nil, invalid(list, i, "shareType", "shareType %d is not 0, 1 or 2", int(c.ShareType))
		}
		if c.CreateBy != "" {
			if p := guid(list, i, "createBy", &c.CreateBy); p != nil {
				return nil, p
			}
		}
		if p := guids(list, i, "managerList", &c.ManagerList); p != nil {
			return nil, p
		}
		if c.ShareType == ShareReadWrite && len(c.ManagerList) > 0 {
			return nil, invalid(list, i, "managerList", "a contact shared read-write has no managerList")
		}
	}

	opps := make(map[int64]bool, len(out.Opportunities))
	for i := range out.Opportunities {
		const list = "opportunities"
		o := &out.Opportunities[i]
		if o.ID <= 0 || opps[o.ID] {
			return nil, invalid(list, i, "id", "id %d is not positive or not unique", o.ID)
		}
		opps[o.ID] = true
		if o.ContactID != 0 && !contacts[o.ContactID] {
			return nil, invalid(list, i, "contactId", "contactId %d is not a contact of the data set", o.ContactID)
		}
		for _, m := range o.Members {
			if !contacts[m] {
				return nil, invalid(list, i, "members", "member %d is not a contact of the data set", m)
			}
		}
		if o.StageID != 0 && !stages[o.StageID] {
			return nil, invalid(list, i, "stageId", "stageId %d is not a stage of the data set", o.StageID)
		}
		if o.CreateBy != "" {
			if p := guid(list, i, "createBy", &o.CreateBy); p != nil {
				return nil, p
			}
		}
		if o.Responsible != "" {
			if p := guid(list, i, "responsible", &o.Responsible); p != nil {
				return nil, p
			}
		}
		if !o.IsPrivate && len(o.AccessList) > 0 {
			return nil, invalid(list, i, "accessList", "a public opportunity has no accessList")
		}
		if p := guids(list, i, "accessList", &o.AccessList); p != nil {
			return nil, p
		}
	}
	return out, nil
}

// canonical is Canonical as Import and Upsert report it: EINVALID naming
// the entry.
func (d *DataSet) canonical() (*DataSet, error) {
	if d == nil {
		return &DataSet{}, nil
	}
	out, bad := d.Canonical()
	if bad != nil {
		return nil, Errorf(EINVALID, "data set: %s", bad)
	}
	return out, nil
}
