package crmaccess

import (
	"strconv"
	"strings"
	"time"
)

// StageType is the kind of an opportunity stage (ONLYOFFICE's
// DealMilestoneStatus): open, or closed won or lost.
type StageType int

const (
	StageOpen          StageType = 0
	StageClosedAndWon  StageType = 1
	StageClosedAndLost StageType = 2
)

var stageTypeNames = [...]string{"open", "closedandwon", "closedandlost"}

// Valid reports whether t is one of the three stage types.
func (t StageType) Valid() bool { return t >= StageOpen && t <= StageClosedAndLost }

func (t StageType) String() string {
	switch t {
	case StageOpen:
		return "Open"
	case StageClosedAndWon:
		return "ClosedAndWon"
	case StageClosedAndLost:
		return "ClosedAndLost"
	}
	return "StageType(" + strconv.Itoa(int(t)) + ")"
}

// ParseStageType accepts a stage type by name, in any letter case ("Open",
// "ClosedAndWon", "ClosedAndLost"), or by number ("0" to "2"). It fails with
// EINVALID.
func ParseStageType(s string) (StageType, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for i, name := range stageTypeNames {
		if t == name || t == strconv.Itoa(i) {
			return StageType(i), nil
		}
	}
	return 0, Errorf(EINVALID, "stageType: %q is not one of Open, ClosedAndWon, ClosedAndLost", s)
}

// OpportunityFilter selects opportunities, as ONLYOFFICE's opportunity
// filter does. Every field is optional and the fields combine with AND; the
// zero value matches every opportunity.
type OpportunityFilter struct {
	// Responsible is the responsible user's id; "" is any.
	Responsible string
	// Stage is a stage id; nil or negative is any.
	Stage *int64
	// StageType narrows to the stages of one type; nil is any.
	StageType *StageType
	// Tags the opportunity must all carry; compared as a contact's are.
	Tags []string
	// Contact is a contact id; nil or not positive is any. The opportunity's
	// main contact must be it, or, with ContactAlsoIsParticipant, the
	// contact may also be one of its members.
	Contact                  *int64
	ContactAlsoIsParticipant bool
	// FromDate and ToDate bound the expected close date, both inclusive;
	// ToDate covers its whole calendar day, in its own location. The zero
	// time is no bound.
	FromDate time.Time
	ToDate   time.Time
	// Search: each word must be a prefix of a word of the title,
	// case-insensitive.
	Search string
}

// Validate checks the filter; it fails with EINVALID and a message that
// names the field.
func (f *OpportunityFilter) Validate() error {
	if f.Responsible != "" {
		if _, err := ParseGUID(f.Responsible); err != nil {
			return Errorf(EINVALID, "responsibleid: %q is not a GUID", f.Responsible)
		}
	}
	for _, t := range f.Tags {
		if strings.TrimSpace(t) == "" {
			return Errorf(EINVALID, "tags: a tag is empty")
		}
	}
	if f.StageType != nil && !f.StageType.Valid() {
		return Errorf(EINVALID, "stageType: %d is not one of 0, 1, 2", int(*f.StageType))
	}
	from, until := dayRange(f.FromDate, f.ToDate)
	if !from.IsZero() && !until.IsZero() && !from.Before(until) {
		return Errorf(EINVALID, "fromDate %s is after the end of toDate's day", f.FromDate.Format(time.RFC3339))
	}
	return nil
}

// ResponsibleID returns the canonical id of the responsible user to match,
// and whether one is set. The filter is valid.
func (f *OpportunityFilter) ResponsibleID() (string, bool) {
	if f.Responsible == "" {
		return "", false
	}
	id, _ := ParseGUID(f.Responsible)
	return id, true
}

// StageID returns the stage to match and whether one is set.
func (f *OpportunityFilter) StageID() (int64, bool) { return idBound(f.Stage) }

// ContactID returns the contact to match and whether one is set.
func (f *OpportunityFilter) ContactID() (int64, bool) {
	if f.Contact == nil || *f.Contact <= 0 {
		return 0, false
	}
	return *f.Contact, true
}

// TagKeys returns the filter's tags normalized and without duplicates.
func (f *OpportunityFilter) TagKeys() []string { return tagKeys(f.Tags) }

// Range returns the bounds of the expected close date: from inclusive,
// until exclusive; a zero time is no bound.
func (f *OpportunityFilter) Range() (from, until time.Time) { return dayRange(f.FromDate, f.ToDate) }

// MatchSearch reports whether every search word is a prefix of some word of
// the title (case-insensitive).
func (f *OpportunityFilter) MatchSearch(title string) bool { return matchWords(f.Search, title) }

// Match reports whether opportunity o passes the filter; stageType tells
// the type of o's stage (false for a stage that does not exist). It is the
// reference semantics that stores implement in their queries.
func (f *OpportunityFilter) Match(o *Opportunity, stageType func(stageID int64) (StageType, bool)) bool {
	if id, ok := f.ResponsibleID(); ok && o.Responsible != id {
		return false
	}
	if id, ok := f.StageID(); ok && o.StageID != id {
		return false
	}
	if f.StageType != nil {
		if t, ok := stageType(o.StageID); !ok || t != *f.StageType {
			return false
		}
	}
	if !hasTags(o.Tags, f.TagKeys()) {
		return false
	}
	if id, ok := f.ContactID(); ok && o.ContactID != id {
		member := false
		for _, m := range o.Members {
			member = member || m == id
		}
		if !f.ContactAlsoIsParticipant || !member {
			return false
		}
	}
	from, until := f.Range()
	if !from.IsZero() && o.ExpectedCloseDate.Before(from) {
		return false
	}
	if !until.IsZero() && !o.ExpectedCloseDate.Before(until) {
		return false
	}
	return f.MatchSearch(o.Title)
}
