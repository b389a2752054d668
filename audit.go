package crmaccess

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"time"
)

// Changes returns the change records of one record, oldest first: the
// audit trail of its access.
//
// Errors: EINVALID (an invalid ref), EINTERNAL.
func (s *Service) Changes(ctx context.Context, ref Ref) ([]Change, error) {
	if !ref.Valid() {
		return nil, Errorf(EINVALID, "no record %v: unknown kind or id not positive", ref)
	}
	ch, err := s.store.Changes(ctx, ChangeQuery{Entity: ref})
	return ch, Internal(err)
}

// AdminChanges returns the change records of user's admin role, oldest
// first.
//
// Errors: EINVALID (user is not a GUID), EINTERNAL.
func (s *Service) AdminChanges(ctx context.Context, user string) ([]Change, error) {
	id, err := ParseGUID(user)
	if err != nil {
		return nil, Errorf(EINVALID, "user %q is not a GUID", user)
	}
	ch, err := s.store.Changes(ctx, ChangeQuery{User: id})
	return ch, Internal(err)
}

// ChangePage is one page of change records.
type ChangePage struct {
	// Changes are the change records, by ascending Seq.
	Changes []Change
	// Next is the cursor of the next page (ChangeFilter.After): the Seq of
	// the last change record of a full page, 0 when the page was not full
	// (no change record follows).
	Next int64
}

// FindChanges returns one page of the change records f selects (by record,
// subject user, actor, time range, combined with AND), by ascending Seq
// after the cursor f.After: the audit trail, paged by a cursor that stays
// valid while the log grows (the log is append-only). Change records of an
// import or a baseline have no actor.
//
// Errors: EINVALID (an invalid ref, a user or actor that is not a GUID,
// From after To, a negative cursor, a limit above MaxChangeLimit or
// negative), EINTERNAL.
func (s *Service) FindChanges(ctx context.Context, f ChangeFilter) (*ChangePage, error) {
	if err := normalizeChangeFilter(&f); err != nil {
		return nil, err
	}
	ch, err := s.base.FindChanges(ctx, f)
	if err != nil {
		return nil, Internal(err)
	}
	p := &ChangePage{Changes: ch}
	if len(ch) == f.Limit {
		p.Next = ch[len(ch)-1].Seq
	}
	return p, nil
}

func normalizeChangeFilter(f *ChangeFilter) error {
	if f.Entity != (Ref{}) && !f.Entity.Valid() {
		return Errorf(EINVALID, "no record %v: unknown kind or id not positive", f.Entity)
	}
	for _, u := range []*string{&f.User, &f.Actor} {
		if *u == "" {
			continue
		}
		id, err := ParseGUID(*u)
		if err != nil {
			return Errorf(EINVALID, "%q is not a GUID", *u)
		}
		*u = id
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return Errorf(EINVALID, "from (%s) is after to (%s)", f.From.Format(time.RFC3339Nano), f.To.Format(time.RFC3339Nano))
	}
	if f.After < 0 {
		return Errorf(EINVALID, "cursor %d is negative", f.After)
	}
	switch {
	case f.Limit < 0 || f.Limit > MaxChangeLimit:
		return Errorf(EINVALID, "limit %d is not between 0 and %d", f.Limit, MaxChangeLimit)
	case f.Limit == 0:
		f.Limit = DefaultChangeLimit
	}
	return nil
}

// ExportChanges writes every change record f selects after the cursor
// f.After (f.Limit is the size of the pages it reads, not a cap) to w as
// JSON lines, one object a change record, by ascending seq, and returns
// how many it wrote. The fields of a line:
//
//	seq       the change record's Seq (a cursor: ChangeFilter.After)
//	position  the log position of the write that made it
//	at        its time, RFC 3339 with nanoseconds, UTC
//	actor     the acting user; "" for an import or a baseline
//	kind      "opportunity" or "contact" for a record's access; "user"
//	          for a user's admin role and status
//	id        the record's id (kind opportunity or contact)
//	user      the user (kind user)
//	before    the access before the write, after: the access after it:
//	          isPrivate, list, creator, responsible for an opportunity;
//	          shareType (0 none, 1 read-write, 2 read), isPrivate, list
//	          for a contact; admin, status ("active", "inactive", "" for
//	          unknown) for a user. list is always an array.
//
// Errors: those of FindChanges, and EINTERNAL for a failed write to w
// (the lines before it were written).
func (s *Service) ExportChanges(ctx context.Context, f ChangeFilter, w io.Writer) (int, error) {
	if err := normalizeChangeFilter(&f); err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	for {
		ch, err := s.base.FindChanges(ctx, f)
		if err != nil {
			return n, Internal(err)
		}
		for i := range ch {
			if err := enc.Encode(changeLine(&ch[i])); err != nil {
				return n, Internal(err)
			}
			n++
		}
		if err := bw.Flush(); err != nil {
			return n, Internal(err)
		}
		if len(ch) < f.Limit {
			return n, nil
		}
		f.After = ch[len(ch)-1].Seq
	}
}

// jsonChange is one line of ExportChanges.
type jsonChange struct {
	Seq      int64      `json:"seq"`
	Position int64      `json:"position"`
	At       string     `json:"at"`
	Actor    string     `json:"actor"`
	Kind     string     `json:"kind"`
	ID       int64      `json:"id,omitempty"`
	User     string     `json:"user,omitempty"`
	Before   *jsonState `json:"before"`
	After    *jsonState `json:"after"`
}

type jsonState struct {
	IsPrivate   *bool      `json:"isPrivate,omitempty"`
	ShareType   *ShareType `json:"shareType,omitempty"`
	List        *[]string  `json:"list,omitempty"`
	Creator     *string    `json:"creator,omitempty"`
	Responsible *string    `json:"responsible,omitempty"`
	Admin       *bool      `json:"admin,omitempty"`
	Status      *string    `json:"status,omitempty"`
}

func changeLine(c *Change) jsonChange {
	l := jsonChange{Seq: c.Seq, Position: c.Position, At: c.At.UTC().Format(time.RFC3339Nano), Actor: c.Actor,
		Kind: string(c.Entity.Kind), ID: c.Entity.ID, User: c.User}
	if c.Entity == (Ref{}) {
		l.Kind = "user"
	}
	l.Before, l.After = jsonStateOf(c.Entity.Kind, c.Before), jsonStateOf(c.Entity.Kind, c.After)
	return l
}

func jsonStateOf(kind Kind, st AccessState) *jsonState {
	list := st.List
	if list == nil {
		list = []string{}
	}
	switch kind {
	case KindOpportunity:
		return &jsonState{IsPrivate: &st.IsPrivate, List: &list, Creator: &st.Creator, Responsible: &st.Responsible}
	case KindContact:
		return &jsonState{ShareType: &st.ShareType, IsPrivate: &st.IsPrivate, List: &list}
	}
	status := string(st.Status)
	return &jsonState{Admin: &st.Admin, Status: &status}
}
