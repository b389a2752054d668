package storage

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crmaccess/crmaccess"
)

const (
	contactColumns = `c.id, c.is_company, c.company_name, c.first_name, c.last_name, c.title,
		c.company_id, c.about, c.contact_stage, c.contact_type, c.created_sec, c.created_nsec,
		c.create_by, c.share_type`
	opportunityColumns = `o.id, o.title, o.description, o.create_by, o.responsible, o.contact_id, o.stage_id,
		o.success_probability, o.expected_close_sec, o.expected_close_nsec, o.created_sec, o.created_nsec,
		o.is_private`
)

// reader reads committed state through q: the Store's pool, or the
// transaction of an Update.
type reader struct {
	s *Store
	q queryer
}

var _ crmaccess.Reader = reader{}

// Opportunity returns one opportunity with its Members (ascending) and an
// empty AccessList; see reader.Opportunity.
func (s *Store) Opportunity(ctx context.Context, id int64) (*crmaccess.Opportunity, error) {
	return reader{s, s.reads()}.Opportunity(ctx, id)
}

// Opportunities returns the opportunities of ids that exist; see
// reader.Opportunities.
func (s *Store) Opportunities(ctx context.Context, ids []int64) ([]crmaccess.Opportunity, error) {
	return reader{s, s.reads()}.Opportunities(ctx, ids)
}

// Contacts returns the contacts of ids that exist; see reader.Contacts.
func (s *Store) Contacts(ctx context.Context, ids []int64) ([]crmaccess.Contact, error) {
	return reader{s, s.reads()}.Contacts(ctx, ids)
}

// idsCarrying is the query of the ids (named id) of the records that carry
// every one of keys, as many distinct matching keys as asked for, in
// ascending order, and its arguments: tags is the table of the records'
// tags, idColumn its column of their ids.
func idsCarrying(tags, idColumn string, keys []string) (string, []any) {
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, k)
	}
	return `SELECT t.` + idColumn + ` AS id FROM ` + tags + ` t WHERE t.tag_key IN (` + placeholders(len(keys)) +
		`) GROUP BY t.` + idColumn + ` HAVING COUNT(DISTINCT t.tag_key) = ?`, append(args, len(keys))
}

// byKeyFrom is a FROM clause of the records of table whose ids the query
// carry returns, aliased alias, read by their key (on PostgreSQL, see
// contactsFrom); they come in the order of m.id.
func byKeyFrom(carry, table, alias string) string {
	return ` FROM (` + carry + `) m CROSS JOIN LATERAL (SELECT * FROM ` + table +
		` r0 WHERE r0.id = m.id OFFSET 0) ` + alias
}

// contactsFrom is the FROM clause of a query of the contacts f matches,
// aliased c, the conditions on them (see contactConditions) and the
// arguments of both, in order. On PostgreSQL, the contacts that carry
// tags are read by their key, one probe for each id that carries them,
// whatever the planner believes of the tables: joined to those ids, a
// contacts table not yet analyzed (a fresh import) made it expect a
// handful of contacts of the stage and type asked for and compare each of
// them with every id carrying the tags, 100k × 113k comparisons and
// minutes for one filter call. A lateral subquery that cannot be
// flattened (OFFSET 0) leaves it the primary key alone. order is the
// expression that orders the rows by id (the ids carrying the tags come
// ordered).
func (r reader) contactsFrom(f *crmaccess.ContactFilter, withTags bool) (from string, where []string, args []any, order string) {
	if keys := f.TagKeys(); withTags && len(keys) > 0 && r.s.d.postgres() {
		carry, carryArgs := idsCarrying(r.s.t.tags, "contact_id", keys)
		where, args = r.contactConditions(f, false)
		return byKeyFrom(carry, r.s.t.contacts, "c"), where, append(carryArgs, args...), `m.id`
	}
	where, args = r.contactConditions(f, withTags)
	return ` FROM ` + r.s.t.contacts + ` c`, where, args, `c.id`
}

// FindContacts returns every contact f matches; see reader.FindContacts.
func (s *Store) FindContacts(ctx context.Context, f *crmaccess.ContactFilter) ([]crmaccess.Contact, error) {
	return reader{s, s.reads()}.FindContacts(ctx, f)
}

// Opportunity returns one opportunity with its Members (ascending) and an
// empty AccessList. It fails with ENOTFOUND when there is none, EINTERNAL
// otherwise.
func (r reader) Opportunity(ctx context.Context, id int64) (*crmaccess.Opportunity, error) {
	found, err := r.Opportunities(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, crmaccess.Errorf(crmaccess.ENOTFOUND, "opportunity %d not found", id)
	}
	return &found[0], nil
}

// Opportunities returns the opportunities of ids that exist, each once, in
// ascending id order, with Members (ascending) and an empty AccessList.
// Errors are EINTERNAL.
func (r reader) Opportunities(ctx context.Context, ids []int64) ([]crmaccess.Opportunity, error) {
	if r.s.pgx {
		return r.opportunitiesPgx(ctx, ids)
	}
	args := distinctArgs(ids)
	var out []crmaccess.Opportunity
	m := multiRow{head: `SELECT ` + opportunityColumns + ` FROM ` + r.s.t.opportunities + ` o WHERE o.id IN (`, row: "?", tail: ")", rowVars: 1}
	err := r.s.queryChunks(ctx, r.q, m, nil, args, func(rows *sql.Rows) error {
		o, err := scanOpportunity(rows)
		out = append(out, o)
		return err
	})
	if err != nil {
		return nil, r.s.translate(ctx, err)
	}
	slices.SortFunc(out, func(a, b crmaccess.Opportunity) int { return cmp.Compare(a.ID, b.ID) })
	if err := r.loadMembers(ctx, out); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	if err := r.loadOpportunityTags(ctx, out); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	return out, nil
}

// loadOpportunityTags fills the Tags of opportunities (sorted by id), in
// their order.
func (r reader) loadOpportunityTags(ctx context.Context, opps []crmaccess.Opportunity) error {
	if len(opps) == 0 {
		return nil
	}
	ids := make([]any, len(opps))
	for i, o := range opps {
		ids[i] = o.ID
	}
	m := multiRow{head: `SELECT opportunity_id, tag FROM ` + r.s.t.opportunityTags + ` WHERE opportunity_id IN (`, row: "?",
		tail: ") ORDER BY opportunity_id, pos", rowVars: 1}
	i := 0
	return r.s.queryChunks(ctx, r.q, m, nil, ids, func(rows *sql.Rows) error {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return err
		}
		for i < len(opps) && opps[i].ID < id {
			i++
		}
		if i == len(opps) || opps[i].ID != id {
			return fmt.Errorf("tag of opportunity %d out of order", id)
		}
		opps[i].Tags = append(opps[i].Tags, tag)
		return nil
	})
}

func scanOpportunity(r *sql.Rows) (crmaccess.Opportunity, error) {
	var o crmaccess.Opportunity
	var closeSec, closeNsec, createdSec, createdNsec int64
	err := r.Scan(&o.ID, &o.Title, &o.Description, &o.CreateBy, &o.Responsible, &o.ContactID,
		&o.StageID, &o.SuccessProbability, &closeSec, &closeNsec, &createdSec, &createdNsec, &o.IsPrivate)
	o.ExpectedCloseDate = fromUnix(closeSec, closeNsec)
	o.Created = fromUnix(createdSec, createdNsec)
	return o, err
}

// loadMembers fills the Members of opportunities (sorted by id), a batch
// of opportunities per query.
func (r reader) loadMembers(ctx context.Context, opps []crmaccess.Opportunity) error {
	if len(opps) == 0 {
		return nil
	}
	ids := make([]any, len(opps))
	for i, o := range opps {
		ids[i] = o.ID
	}
	m := multiRow{head: `SELECT opportunity_id, contact_id FROM ` + r.s.t.members + ` WHERE opportunity_id IN (`, row: "?",
		tail: ") ORDER BY opportunity_id, contact_id", rowVars: 1}
	i := 0 // opportunities and rows both ascend by id: walk them together
	return r.s.queryChunks(ctx, r.q, m, nil, ids, func(rows *sql.Rows) error {
		var id, member int64
		if err := rows.Scan(&id, &member); err != nil {
			return err
		}
		for i < len(opps) && opps[i].ID < id {
			i++
		}
		if i == len(opps) || opps[i].ID != id {
			return fmt.Errorf("member of opportunity %d out of order", id)
		}
		opps[i].Members = append(opps[i].Members, member)
		return nil
	})
}

// Contacts returns the contacts of ids that exist, each once, in ascending
// id order, with Tags filled and ManagerList empty. Errors are EINTERNAL.
func (r reader) Contacts(ctx context.Context, ids []int64) ([]crmaccess.Contact, error) {
	if r.s.pgx {
		return r.contactsPgx(ctx, ids)
	}
	args := distinctArgs(ids)
	var out []crmaccess.Contact
	m := multiRow{head: `SELECT ` + contactColumns + ` FROM ` + r.s.t.contacts + ` c WHERE c.id IN (`, row: "?", tail: ")", rowVars: 1}
	err := r.s.queryChunks(ctx, r.q, m, nil, args, func(rows *sql.Rows) error {
		c, err := scanContact(rows)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, r.s.translate(ctx, err)
	}
	slices.SortFunc(out, func(a, b crmaccess.Contact) int { return cmp.Compare(a.ID, b.ID) })
	if err := r.loadTags(ctx, out); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	return out, nil
}

// contactConditions are the SQL conditions of f on contacts aliased c (the
// tags too, when withTags), and their arguments; the search text is left
// to Go.
func (r reader) contactConditions(f *crmaccess.ContactFilter, withTags bool) (where []string, args []any) {
	if keys := f.TagKeys(); withTags && len(keys) > 0 {
		carry, carryArgs := idsCarrying(r.s.t.tags, "contact_id", keys)
		where, args = append(where, `c.id IN (`+carry+`)`), append(args, carryArgs...)
	}
	if id, ok := f.StageID(); ok {
		where = append(where, `c.contact_stage = ?`)
		args = append(args, id)
	}
	if id, ok := f.TypeID(); ok {
		where = append(where, `c.contact_type = ?`)
		args = append(args, id)
	}
	switch f.ListView {
	case crmaccess.ListCompany, crmaccess.ListPerson:
		where = append(where, `c.is_company = ?`)
		args = append(args, f.ListView == crmaccess.ListCompany)
	case crmaccess.ListWithOpportunity:
		where = append(where, `(EXISTS (SELECT 1 FROM `+r.s.t.opportunities+` o WHERE o.contact_id = c.id)
			OR EXISTS (SELECT 1 FROM `+r.s.t.members+` m WHERE m.contact_id = c.id))`)
	}
	from, until := f.Range()
	if !from.IsZero() {
		sec, nsec := unixParts(from)
		where = append(where, `c.created_sec >= ? AND (c.created_sec > ? OR c.created_nsec >= ?)`)
		args = append(args, sec, sec, nsec)
	}
	if !until.IsZero() {
		sec, nsec := unixParts(until)
		where = append(where, `c.created_sec <= ? AND (c.created_sec < ? OR c.created_nsec < ?)`)
		args = append(args, sec, sec, nsec)
	}
	return where, args
}

// FindContacts returns every contact f matches, in ascending id order, with
// Tags filled and ManagerList empty. SQL selects by tags, stage, type, list
// view and creation range; the search text is matched in Go with
// f.MatchSearch, the reference semantics. Errors are EINTERNAL.
func (r reader) FindContacts(ctx context.Context, f *crmaccess.ContactFilter) ([]crmaccess.Contact, error) {
	if f == nil {
		f = &crmaccess.ContactFilter{}
	}
	var carrying map[int64]bool // set when the tags are matched apart, see below
	if keys := f.TagKeys(); len(keys) > maxTagVars {
		// More tags than one statement binds beside the other conditions:
		// find the contacts that carry them all, a chunk of tags at a time,
		// and keep only those rows of the main query.
		var err error
		if carrying, err = r.contactsCarrying(ctx, keys); err != nil {
			return nil, r.s.translate(ctx, err)
		}
		if len(carrying) == 0 {
			return nil, nil
		}
	}
	from, where, args, order := r.contactsFrom(f, carrying == nil)
	query := `SELECT ` + contactColumns + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY ` + order
	var out []crmaccess.Contact
	err := queryEach(ctx, r.q, r.s.d.bind(query), args, func(rows *sql.Rows) error {
		c, err := scanContact(rows)
		if err == nil && (carrying == nil || carrying[c.ID]) && f.MatchSearch(c.DisplayName()) {
			out = append(out, c)
		}
		return err
	})
	if err != nil {
		return nil, r.s.translate(ctx, err)
	}
	if err := r.loadTags(ctx, out); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	return out, nil
}

// maxTagVars is the most tags FindContacts binds in its one statement,
// leaving room for the variables of the other conditions.
const maxTagVars = maxVars - 16

// contactsCarrying returns the contacts that carry every one of keys
// (distinct), counting the matching tags of each contact chunk by chunk.
func (r reader) contactsCarrying(ctx context.Context, keys []string) (map[int64]bool, error) {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	counts := map[int64]int{}
	m := multiRow{head: `SELECT contact_id, COUNT(DISTINCT tag_key) FROM ` + r.s.t.tags + ` WHERE tag_key IN (`,
		row: "?", tail: ") GROUP BY contact_id", rowVars: 1}
	err := r.s.queryChunks(ctx, r.q, m, nil, args, func(rows *sql.Rows) error {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		counts[id] += n // the chunks share no key
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := map[int64]bool{}
	for id, n := range counts {
		if n == len(keys) {
			all[id] = true
		}
	}
	return all, nil
}

func scanContact(r *sql.Rows) (crmaccess.Contact, error) {
	var c crmaccess.Contact
	var sec, nsec, share int64
	err := r.Scan(&c.ID, &c.IsCompany, &c.CompanyName, &c.FirstName, &c.LastName, &c.Title,
		&c.CompanyID, &c.About, &c.ContactStage, &c.ContactType, &sec, &nsec, &c.CreateBy, &share)
	c.Created = fromUnix(sec, nsec)
	c.ShareType = crmaccess.ShareType(share)
	return c, err
}

// loadTags fills the Tags of contacts (sorted by id), a batch of contacts
// per query.
func (r reader) loadTags(ctx context.Context, contacts []crmaccess.Contact) error {
	if len(contacts) == 0 {
		return nil
	}
	ids := make([]any, len(contacts))
	for i, c := range contacts {
		ids[i] = c.ID
	}
	m := multiRow{head: `SELECT contact_id, tag FROM ` + r.s.t.tags + ` WHERE contact_id IN (`, row: "?",
		tail: ") ORDER BY contact_id, pos", rowVars: 1}
	i := 0 // contacts and rows both ascend by id: walk them together
	return r.s.queryChunks(ctx, r.q, m, nil, ids, func(rows *sql.Rows) error {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return err
		}
		for i < len(contacts) && contacts[i].ID < id {
			i++
		}
		if i == len(contacts) || contacts[i].ID != id {
			return fmt.Errorf("tag of contact %d out of order", id)
		}
		contacts[i].Tags = append(contacts[i].Tags, tag)
		return nil
	})
}

// Users returns the users of ids that exist; see reader.Users.
func (s *Store) Users(ctx context.Context, ids []string) ([]crmaccess.User, error) {
	return reader{s, s.reads()}.Users(ctx, ids)
}

// Users returns the users of ids that exist, each once, in ascending id
// order. Errors are EINTERNAL.
func (r reader) Users(ctx context.Context, ids []string) ([]crmaccess.User, error) {
	s := r.s
	args := distinctArgs(ids)
	var out []crmaccess.User
	m := multiRow{head: `SELECT id, display_name, title, avatar_small, profile_url, status FROM ` + s.t.users + ` WHERE id IN (`,
		row: "?", tail: ")", rowVars: 1}
	err := s.queryChunks(ctx, r.q, m, nil, args, func(r *sql.Rows) error {
		var u crmaccess.User
		var status string
		err := r.Scan(&u.ID, &u.DisplayName, &u.Title, &u.AvatarSmall, &u.ProfileURL, &status)
		u.Status = crmaccess.UserStatus(status)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, s.translate(ctx, err)
	}
	slices.SortFunc(out, func(a, b crmaccess.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Stages returns the stages of ids that exist; see reader.Stages.
func (s *Store) Stages(ctx context.Context, ids []int64) ([]crmaccess.Stage, error) {
	return reader{s, s.reads()}.Stages(ctx, ids)
}

// StageInUse reports whether an opportunity is at the stage; see
// reader.StageInUse.
func (s *Store) StageInUse(ctx context.Context, id int64) (bool, error) {
	return reader{s, s.reads()}.StageInUse(ctx, id)
}

// StageInUse reports whether an opportunity is at stage id. Errors are
// EINTERNAL.
func (r reader) StageInUse(ctx context.Context, id int64) (bool, error) {
	var used int
	err := r.q.QueryRowContext(ctx, r.s.d.bind(`SELECT CASE WHEN EXISTS (SELECT 1 FROM `+r.s.t.opportunities+
		` WHERE stage_id = ?) THEN 1 ELSE 0 END`), id).Scan(&used)
	if err != nil {
		return false, r.s.translate(ctx, err)
	}
	return used == 1, nil
}

// Stages returns the stages of ids that exist, each once, in ascending id
// order. Errors are EINTERNAL.
func (r reader) Stages(ctx context.Context, ids []int64) ([]crmaccess.Stage, error) {
	s := r.s
	args := distinctArgs(ids)
	var out []crmaccess.Stage
	m := multiRow{head: `SELECT id, title, description, color, sort_order, success_probability, stage_type FROM ` +
		s.t.stages + ` WHERE id IN (`, row: "?", tail: ")", rowVars: 1}
	err := s.queryChunks(ctx, r.q, m, nil, args, func(r *sql.Rows) error {
		var st crmaccess.Stage
		err := r.Scan(&st.ID, &st.Title, &st.Description, &st.Color, &st.SortOrder, &st.SuccessProbability, &st.StageType)
		out = append(out, st)
		return err
	})
	if err != nil {
		return nil, s.translate(ctx, err)
	}
	slices.SortFunc(out, func(a, b crmaccess.Stage) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// rules calls fn for every rule of the rule table, streaming the rows, and
// returns fn's first error as it is. A line with more than two values is
// not a crmaccess rule and fails the call.
//
// Each row comes back as one string, its values joined by the ASCII unit
// separator (and one more when a value past the second is set): a cold
// start reads millions of rows, and on SQLite every column of a row costs
// the driver three calls into C. A value holding the separator itself
// splits into too many parts and fails the call the same way. The rows
// are read on another goroutine, a batch at a time, while fn runs on this
// one: on a cold start the driver's work and the caller's overlap.
func (s *Store) rules(ctx context.Context, q queryer, fn func(crmaccess.Rule) error) error {
	sep := "char(31)"
	if s.d.postgres() {
		sep = "chr(31)"
	}
	rows, err := q.QueryContext(ctx, `SELECT COALESCE(ptype, '') || `+sep+` || COALESCE(v0, '') || `+sep+` || COALESCE(v1, '') ||
		CASE WHEN COALESCE(v2, '') || COALESCE(v3, '') || COALESCE(v4, '') || COALESCE(v5, '') = '' THEN '' ELSE `+sep+` END
		FROM `+s.t.rules)
	if err != nil {
		return err
	}
	defer rows.Close()
	batches := make(chan []crmaccess.Rule, 2)
	free := make(chan []crmaccess.Rule, 3)
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(batches)
		readErr = s.readRules(rows, batches, free, stop)
	}()
	var fnErr error
	for b := range batches {
		for _, r := range b {
			if fnErr != nil {
				break
			}
			if fnErr = fn(r); fnErr != nil {
				close(stop)
			}
		}
		select {
		case free <- b[:0]:
		default:
		}
	}
	if fnErr != nil {
		return fnErr
	}
	return readErr
}

// readRules scans rules' rows into batches sent on out, taking empty
// batches from free when there are some, until the rows end, a row fails,
// or stop is closed.
func (s *Store) readRules(rows *sql.Rows, out chan<- []crmaccess.Rule, free <-chan []crmaccess.Rule, stop <-chan struct{}) error {
	const size = 4096
	b := make([]crmaccess.Rule, 0, size)
	send := func() bool {
		select {
		case out <- b:
		case <-stop:
			return false
		}
		select {
		case b = <-free:
		default:
			b = make([]crmaccess.Rule, 0, size)
		}
		return true
	}
	var line string
	for rows.Next() {
		if err := rows.Scan(&line); err != nil {
			return err
		}
		var r crmaccess.Rule
		var rest string
		var ok bool
		r.Type, rest, _ = strings.Cut(line, ruleSeparator)
		r.From, r.To, ok = strings.Cut(rest, ruleSeparator)
		if !ok || strings.Contains(r.To, ruleSeparator) {
			return crmaccess.Internal(fmt.Errorf("rule table %s holds a line with more than two values (%q, %q)",
				s.t.rules, r.Type, rest))
		}
		if b = append(b, r); len(b) == size && !send() {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(b) > 0 {
		send()
	}
	return nil
}

// ruleSeparator joins a rule row's values in rules' query: char(31).
const ruleSeparator = "\x1f"

// Changes returns the change records of q.Entity or, with a zero Entity, of
// q.User's admin role, oldest first. A zero query selects nothing. Errors
// are EINTERNAL.
func (s *Store) Changes(ctx context.Context, q crmaccess.ChangeQuery) ([]crmaccess.Change, error) {
	query := `SELECT ` + changeColumns + ` FROM ` + s.t.changes
	var args []any
	switch {
	case q.Entity != (crmaccess.Ref{}):
		query += ` WHERE entity_kind = ? AND entity_id = ?`
		args = []any{string(q.Entity.Kind), q.Entity.ID}
	case q.User != "":
		query += ` WHERE user_id = ? AND entity_kind = ''`
		args = []any{q.User}
	default:
		return nil, nil
	}
	query += ` ORDER BY seq`
	var out []crmaccess.Change
	err := queryEach(ctx, s.db, s.d.bind(query), args, func(r *sql.Rows) error {
		c, err := scanChange(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, s.translate(ctx, err)
	}
	return out, nil
}

// changeColumns are the columns scanChange reads.
const changeColumns = `seq, log_seq, at_sec, at_nsec, actor, entity_kind, entity_id, user_id,
	before_private, before_share, before_list, before_admin, before_creator, before_responsible,
	after_private, after_share, after_list, after_admin, after_creator, after_responsible,
	before_status, after_status`

func scanChange(r *sql.Rows) (crmaccess.Change, error) {
	var c crmaccess.Change
	var sec, nsec, beforeShare, afterShare int64
	var kind, beforeList, afterList, beforeStatus, afterStatus string
	if err := r.Scan(&c.Seq, &c.Position, &sec, &nsec, &c.Actor, &kind, &c.Entity.ID, &c.User,
		&c.Before.IsPrivate, &beforeShare, &beforeList, &c.Before.Admin, &c.Before.Creator, &c.Before.Responsible,
		&c.After.IsPrivate, &afterShare, &afterList, &c.After.Admin, &c.After.Creator, &c.After.Responsible,
		&beforeStatus, &afterStatus); err != nil {
		return c, err
	}
	c.Before.Status, c.After.Status = crmaccess.UserStatus(beforeStatus), crmaccess.UserStatus(afterStatus)
	c.At = fromUnix(sec, nsec)
	c.Entity.Kind = crmaccess.Kind(kind)
	c.Before.ShareType = crmaccess.ShareType(beforeShare)
	c.After.ShareType = crmaccess.ShareType(afterShare)
	var err error
	if c.Before.List, err = decodeList(beforeList); err != nil {
		return c, err
	}
	c.After.List, err = decodeList(afterList)
	return c, err
}

// encodeList and decodeList keep a list as a JSON array; an empty list
// reads back as nil.
func encodeList(list []string) string {
	if len(list) == 0 {
		return "[]"
	}
	// Lists are of GUIDs: written by hand when no entry needs escaping
	// (the bytes json.Marshal writes), by encoding/json otherwise.
	n := 1
	for _, s := range list {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				b, _ := json.Marshal(list) // a []string always marshals
				return string(b)
			}
		}
		n += len(s) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

func decodeList(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// distinctArgs returns the distinct ids as query arguments.
func distinctArgs[T int64 | string](ids []T) []any {
	d := distinct(ids)
	out := make([]any, len(d))
	for i, id := range d {
		out[i] = id
	}
	return out
}

// distinct is ids each once, in the order of their first place.
func distinct[T comparable](ids []T) []T {
	seen := make(map[T]bool, len(ids))
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// ExistingIDs returns which of the ids are stored, each list ascending and
// each id once: opportunities, contacts and stages, looked up together in
// one query (a write checks its references with it without reading the
// rows). Errors are EINTERNAL.
func (r reader) ExistingIDs(ctx context.Context, opportunities, contacts, stages []int64) (opps, cons, stgs []int64, err error) {
	if opps, cons, stgs, ok := aheadOf(r.q).existing(opportunities, contacts, stages); ok {
		return opps, cons, stgs, nil // read with the writer lock
	}
	lists := [3][]any{distinctArgs(opportunities), distinctArgs(contacts), distinctArgs(stages)}
	tables := [3]string{r.s.t.opportunities, r.s.t.contacts, r.s.t.stages}
	var found [3][]int64
	scan := func(rows *sql.Rows) error {
		var which int
		var id int64
		if err := rows.Scan(&which, &id); err != nil {
			return err
		}
		if which < 0 || which > 2 {
			return fmt.Errorf("storage: existence query answered table %d", which)
		}
		found[which] = append(found[which], id)
		return nil
	}
	if n := len(lists[0]) + len(lists[1]) + len(lists[2]); n <= statementRows {
		// One query: SELECT 0, id … UNION ALL SELECT 1, id … .
		var parts []string
		var args []any
		for i, ids := range lists {
			if len(ids) == 0 {
				continue
			}
			parts = append(parts, `SELECT `+strconv.Itoa(i)+`, id FROM `+tables[i]+` WHERE id IN (`+placeholders(len(ids))+`)`)
			args = append(args, ids...)
		}
		if len(parts) > 0 {
			err = queryEach(ctx, r.q, r.s.d.bind(strings.Join(parts, ` UNION ALL `)), args, scan)
		}
	} else {
		for i, ids := range lists {
			m := multiRow{head: `SELECT ` + strconv.Itoa(i) + `, id FROM ` + tables[i] + ` WHERE id IN (`, row: "?", tail: ")", rowVars: 1}
			if err = r.s.queryChunks(ctx, r.q, m, nil, ids, scan); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, nil, nil, r.s.translate(ctx, err)
	}
	for i := range found {
		slices.Sort(found[i])
	}
	return found[0], found[1], found[2], nil
}
