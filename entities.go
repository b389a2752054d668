package crmaccess

import (
	"fmt"
	"strings"
	"time"
)

// User is a portal user. Its ID is a GUID in canonical form (see ParseGUID).
// Whether a user is an admin is not a field: it is a role held in the policy
// store, granted and revoked with Service.GrantAdmin and Service.RevokeAdmin.
type User struct {
	ID          string
	DisplayName string
	Title       string
	AvatarSmall string
	ProfileURL  string
	// Status says whether the user may act: only active users may. A
	// removed user keeps its row (records still name it) with UserUnknown.
	Status UserStatus
}

// UserStatus is whether a user is a known user of the store, and active.
type UserStatus string

const (
	UserUnknown  UserStatus = ""         // never added, or removed
	UserActive   UserStatus = "active"   // may act
	UserInactive UserStatus = "inactive" // known (may stay on lists), may not act
)

// Stage is an opportunity stage (a step of the sales pipeline).
type Stage struct {
	ID                 int64
	Title              string
	Description        string
	Color              string
	SortOrder          int
	SuccessProbability int
	StageType          int
}

// ShareType is a contact's sharing: who besides its managers and the admins
// may use it. The numbers are ONLYOFFICE's.
type ShareType int

const (
	ShareNone      ShareType = 0 // private: managers and admins only
	ShareReadWrite ShareType = 1 // everyone may read and edit
	ShareRead      ShareType = 2 // everyone may read; managers and admins edit
)

// Valid reports whether t is one of the three share types.
func (t ShareType) Valid() bool { return t >= ShareNone && t <= ShareRead }

func (t ShareType) String() string {
	switch t {
	case ShareNone:
		return "None"
	case ShareReadWrite:
		return "ReadWrite"
	case ShareRead:
		return "Read"
	}
	return fmt.Sprintf("ShareType(%d)", int(t))
}

// Contact is a person or a company. Its access is its ShareType and its
// ManagerList; the wire fields isPrivate and isShared derive from ShareType.
type Contact struct {
	ID           int64
	IsCompany    bool
	CompanyName  string // a company's name
	FirstName    string // a person's names
	LastName     string
	Title        string
	CompanyID    int64 // a person's company, 0 for none
	About        string
	Tags         []string
	ContactStage int64 // 0 means no stage
	ContactType  int64 // 0 means no type
	Created      time.Time
	CreateBy     string
	ShareType    ShareType
	ManagerList  []string // canonical GUIDs, ascending
}

// DisplayName is a person's "First Last" or a company's name.
func (c *Contact) DisplayName() string {
	if c.IsCompany {
		return c.CompanyName
	}
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}

// IsPrivate reports whether the contact is private (ShareNone).
func (c *Contact) IsPrivate() bool { return c.ShareType == ShareNone }

// IsShared reports whether the contact is shared (not ShareNone).
func (c *Contact) IsShared() bool { return c.ShareType != ShareNone }

// Opportunity is a deal. Its access is IsPrivate and AccessList; its creator
// and responsible user always have access to it.
type Opportunity struct {
	ID                 int64
	Title              string
	Description        string
	CreateBy           string
	Responsible        string
	ContactID          int64   // the main contact, 0 for none
	Members            []int64 // other contacts taking part
	Tags               []string
	StageID            int64
	SuccessProbability int
	ExpectedCloseDate  time.Time
	Created            time.Time
	IsPrivate          bool
	AccessList         []string // canonical GUIDs, ascending; empty when public
}

// Kind names the kind of record a Ref points at.
type Kind string

const (
	KindOpportunity Kind = "opportunity"
	KindContact     Kind = "contact"
)

// Ref points at one opportunity or contact.
type Ref struct {
	Kind Kind
	ID   int64
}

// OpportunityRef returns the Ref of opportunity id.
func OpportunityRef(id int64) Ref { return Ref{Kind: KindOpportunity, ID: id} }

// ContactRef returns the Ref of contact id.
func ContactRef(id int64) Ref { return Ref{Kind: KindContact, ID: id} }

func (r Ref) String() string { return fmt.Sprintf("%s:%d", r.Kind, r.ID) }

// Valid reports whether r names a known kind and a positive id.
func (r Ref) Valid() bool {
	return (r.Kind == KindOpportunity || r.Kind == KindContact) && r.ID > 0
}
