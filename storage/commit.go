package storage

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
)

// Commit writes b as one log entry, in one transaction, or nothing at all:
// Update with a batch decided in advance. It fails as Update does.
func (s *Store) Commit(ctx context.Context, b *crmaccess.Batch) error {
	_, err := s.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
		return b, nil
	})
	return err
}

func emptyBatch(b *crmaccess.Batch) bool {
	return !b.RequireEmpty && len(b.Users) == 0 && len(b.UpdateUsers) == 0 && len(b.Stages) == 0 && len(b.Contacts) == 0 &&
		len(b.Opportunities) == 0 && len(b.OpportunityPrivacy) == 0 && len(b.ContactShares) == 0 &&
		len(b.UpdateContacts) == 0 && len(b.UpdateOpportunities) == 0 && len(b.UpdateStages) == 0 &&
		len(b.DeleteOpportunities) == 0 && len(b.DeleteContacts) == 0 && len(b.DeleteStages) == 0 &&
		len(b.RemoveRules) == 0 && len(b.AddRules) == 0 && len(b.Changes) == 0
}

// write runs the parts of b in order: emptiness check, records, privacy
// updates, removed rules, added rules, change records.
func (s *Store) write(ctx context.Context, tx *wtx, b *crmaccess.Batch, pos int64) error {
	steps := []func(context.Context, *wtx, *crmaccess.Batch) error{
		s.requireEmpty,
		s.insertUsers,
		s.insertStages,
		s.insertContacts,
		s.insertOpportunities,
		s.updateUsers,
		s.updateContacts,
		s.updateOpportunities,
		s.updateStages,
		s.updateOpportunityPrivacy,
		s.updateContactShares,
		s.deleteOpportunities,
		s.deleteContacts,
		s.deleteStages,
		s.removeRules,
		s.addRules,
	}
	for _, step := range steps {
		if err := step(ctx, tx, b); err != nil {
			return err
		}
	}
	if err := s.countRecords(ctx, tx, b); err != nil {
		return err
	}
	return s.appendLog(ctx, tx, b, pos)
}

func (s *Store) requireEmpty(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	if !b.RequireEmpty {
		return nil
	}
	checked := []string{s.t.users, s.t.stages, s.t.contacts, s.t.opportunities, s.t.rules}
	if s.d.postgres() {
		// Hold off other writers until this transaction ends, so that two
		// imports cannot both find the store empty.
		if _, err := tx.ExecContext(ctx, `LOCK TABLE `+strings.Join(checked, ", ")+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
	} else {
		// SQLite: take the write lock before reading, in case the caller's
		// database begins deferred transactions (Open's begin immediate).
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.t.migrations+` WHERE 1 = 0`); err != nil {
			return err
		}
	}
	query := `SELECT CASE WHEN`
	for i, t := range checked {
		if i > 0 {
			query += ` OR`
		}
		query += ` EXISTS (SELECT 1 FROM ` + t + `)`
	}
	query += ` THEN 1 ELSE 0 END`
	var held int
	if err := tx.QueryRowContext(ctx, query).Scan(&held); err != nil {
		return err
	}
	if held != 0 {
		return crmaccess.Errorf(crmaccess.ECONFLICT, "the store already holds data")
	}
	return nil
}

func (s *Store) insertUsers(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	m := multiRow{head: `INSERT INTO ` + s.t.users + ` (id, display_name, title, avatar_small, profile_url, status) VALUES `,
		row: "(?, ?, ?, ?, ?, ?)", rowVars: 6}
	return s.execChunks(ctx, tx, m, nil, len(b.Users), func(args []any, i int) []any {
		u := &b.Users[i]
		return append(args, u.ID, u.DisplayName, u.Title, u.AvatarSmall, u.ProfileURL, string(u.Status))
	}, nil)
}

func (s *Store) insertStages(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	m := multiRow{head: `INSERT INTO ` + s.t.stages +
		` (id, title, description, color, sort_order, success_probability, stage_type) VALUES `,
		row: "(?, ?, ?, ?, ?, ?, ?)", rowVars: 7}
	return s.execChunks(ctx, tx, m, nil, len(b.Stages), func(args []any, i int) []any {
		st := &b.Stages[i]
		return append(args, st.ID, st.Title, st.Description, st.Color, st.SortOrder, st.SuccessProbability, st.StageType)
	}, nil)
}

// tagRow is one row of a tag table: a record's tag at its position.
type tagRow struct {
	recordID int64
	pos      int
	tag      string
}

func (s *Store) insertContacts(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	m := multiRow{head: `INSERT INTO ` + s.t.contacts + ` (id, is_company, company_name, first_name, last_name, title,
		company_id, about, contact_stage, contact_type, created_sec, created_nsec, create_by, share_type) VALUES `,
		row: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rowVars: 14}
	var tags []tagRow
	err := s.execChunks(ctx, tx, m, nil, len(b.Contacts), func(args []any, i int) []any {
		c := &b.Contacts[i]
		for pos, tag := range c.Tags {
			tags = append(tags, tagRow{c.ID, pos, tag})
		}
		sec, nsec := unixParts(c.Created)
		return append(args, c.ID, c.IsCompany, c.CompanyName, c.FirstName, c.LastName, c.Title,
			c.CompanyID, c.About, c.ContactStage, c.ContactType, sec, nsec, c.CreateBy, int64(c.ShareType))
	}, nil)
	if err != nil {
		return err
	}
	return s.insertTags(ctx, tx, s.t.tags, "contact_id", tags)
}

// memberRow is one row of the member table.
type memberRow struct{ opportunityID, contactID int64 }

func (s *Store) insertOpportunities(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	m := multiRow{head: `INSERT INTO ` + s.t.opportunities + ` (id, title, description, create_by, responsible,
		contact_id, stage_id, success_probability, expected_close_sec, expected_close_nsec, created_sec, created_nsec,
		is_private) VALUES `,
		row: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rowVars: 13}
	var members []memberRow
	var tags []tagRow
	err := s.execChunks(ctx, tx, m, nil, len(b.Opportunities), func(args []any, i int) []any {
		o := &b.Opportunities[i]
		for pos, tag := range o.Tags {
			tags = append(tags, tagRow{o.ID, pos, tag})
		}
		members = append(members, memberRows(o)...)
		closeSec, closeNsec := unixParts(o.ExpectedCloseDate)
		sec, nsec := unixParts(o.Created)
		return append(args, o.ID, o.Title, o.Description, o.CreateBy, o.Responsible, o.ContactID, o.StageID,
			o.SuccessProbability, closeSec, closeNsec, sec, nsec, o.IsPrivate)
	}, nil)
	if err != nil {
		return err
	}
	if err := s.insertMembers(ctx, tx, members); err != nil {
		return err
	}
	return s.insertTags(ctx, tx, s.t.opportunityTags, "opportunity_id", tags)
}

func (s *Store) updateOpportunityPrivacy(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	values := make(map[int64]bool, len(b.OpportunityPrivacy))
	for _, p := range b.OpportunityPrivacy {
		values[p.ID] = p.IsPrivate // the last update of an id wins
	}
	return updateGrouped(ctx, s, tx, s.t.opportunities, "is_private", "opportunity", values)
}

func (s *Store) updateContactShares(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	values := make(map[int64]int64, len(b.ContactShares))
	for _, c := range b.ContactShares {
		values[c.ID] = int64(c.ShareType) // the last update of an id wins
	}
	return updateGrouped(ctx, s, tx, s.t.contacts, "share_type", "contact", values)
}

// updateGrouped sets column to values[id] for every id: one UPDATE … WHERE
// id IN (…) per value and chunk of ids. An id that matches no row is
// ECONFLICT (SQLite and PostgreSQL count matched rows, changed or not).
func updateGrouped[V comparable](ctx context.Context, s *Store, tx *wtx, table, column, kind string, values map[int64]V) error {
	// Ascending ids, grouped in order of their first id: concurrent
	// writers lock rows in the same order.
	all := make([]int64, 0, len(values))
	for id := range values {
		all = append(all, id)
	}
	slices.Sort(all)
	groups := make(map[V][]int64)
	var order []V
	for _, id := range all {
		v := values[id]
		if _, ok := groups[v]; !ok {
			order = append(order, v)
		}
		groups[v] = append(groups[v], id)
	}
	m := multiRow{head: `UPDATE ` + table + ` SET ` + column + ` = ? WHERE id IN (`, row: "?", tail: ")",
		fixed: 1, rowVars: 1}
	for _, v := range order {
		ids := groups[v]
		if s.bulkArrays(tx, m, len(ids)) {
			if err := updateArrays(ctx, s, tx, table, column, kind, v, ids); err != nil {
				return err
			}
			continue
		}
		err := s.execChunks(ctx, tx, m, []any{v}, len(ids), func(args []any, i int) []any {
			return append(args, ids[i])
		}, func(start, end int, count int64) error {
			if count == int64(end-start) {
				return nil
			}
			return s.missing(ctx, tx, table, kind, ids[start:end])
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// missing returns the ECONFLICT error that names the first of ids that
// table does not hold.
func (s *Store) missing(ctx context.Context, tx *wtx, table, kind string, ids []int64) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	found := make(map[int64]bool, len(ids))
	m := multiRow{head: `SELECT id FROM ` + table + ` WHERE id IN (`, row: "?", tail: ")", rowVars: 1}
	err := s.queryChunks(ctx, tx, m, nil, args, func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		found[id] = true
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !found[id] {
			return crmaccess.Errorf(crmaccess.ECONFLICT, "%s %d does not exist", kind, id)
		}
	}
	return crmaccess.Errorf(crmaccess.ECONFLICT, "a %s to update does not exist", kind)
}

// Rules are stored as gorm-adapter lines: (ptype, v0, v1, '', '', '', '').

func (s *Store) removeRules(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	// Row values against a VALUES list: SQLite (3.15+) needs a subquery on
	// the right of a row-value IN, and PostgreSQL takes the same form.
	m := multiRow{head: `DELETE FROM ` + s.t.rules + ` WHERE (ptype, v0, v1, v2, v3, v4, v5) IN (VALUES `,
		row: "(?, ?, ?, '', '', '', '')", tail: ")", rowVars: 3}
	var removed int64
	var err error
	if s.bulkArrays(tx, m, len(b.RemoveRules)) {
		removed, err = s.removeRulesArrays(ctx, tx, b.RemoveRules)
	} else {
		err = s.execChunks(ctx, tx, m, nil, len(b.RemoveRules), func(args []any, i int) []any {
			r := &b.RemoveRules[i]
			return append(args, r.Type, r.From, r.To)
		}, func(_, _ int, count int64) error {
			removed += count
			return nil
		})
	}
	if err != nil {
		return err
	}
	if removed != int64(len(b.RemoveRules)) {
		return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of %d rules to remove are not stored",
			int64(len(b.RemoveRules))-removed, len(b.RemoveRules))
	}
	return nil
}

func (s *Store) addRules(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	m := multiRow{head: `INSERT INTO ` + s.t.rules + ` (ptype, v0, v1, v2, v3, v4, v5) VALUES `,
		row: "(?, ?, ?, '', '', '', '')", rowVars: 3}
	if conn := s.copyConn(tx, m, len(b.AddRules)); conn != nil {
		return s.copyRules(ctx, conn, b.AddRules)
	}
	return s.execChunks(ctx, tx, m, nil, len(b.AddRules), func(args []any, i int) []any {
		r := &b.AddRules[i]
		return append(args, r.Type, r.From, r.To)
	}, nil)
}

// countRecords adds the batch's new records to the counts and takes its
// deleted ones away (a deletion of a missing id failed the batch before).
func (s *Store) countRecords(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	for kind, delta := range map[crmaccess.Kind]int{
		crmaccess.KindOpportunity: len(b.Opportunities) - len(distinctArgs(b.DeleteOpportunities)),
		crmaccess.KindContact:     len(b.Contacts) - len(distinctArgs(b.DeleteContacts)),
	} {
		if delta == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.d.bind(`UPDATE `+s.t.counts+` SET n = n + ? WHERE kind = ?`), delta, string(kind)); err != nil {
			return err
		}
	}
	return nil
}

// appendLog appends the batch's entry to the log at pos, and its change
// records tied to it.
func (s *Store) appendLog(ctx context.Context, tx *wtx, b *crmaccess.Batch, pos int64) error {
	at := b.At
	if at.IsZero() {
		at = time.Now()
	}
	sec, nsec := unixParts(at)
	if _, err := tx.ExecContext(ctx, s.d.bind(`INSERT INTO `+s.t.log+` (seq, at_sec, at_nsec, kind, changes) VALUES (?, ?, ?, ?, ?)`),
		pos, sec, nsec, string(b.Kind), len(b.Changes)); err != nil {
		return err
	}
	return s.insertChanges(ctx, tx, b.Changes, pos)
}

// insertChanges writes change records tied to the log entry at pos: by
// COPY when they are more than a statement takes on PostgreSQL (bulk.go),
// with their shared columns bound once on SQLite, else in chunks.
func (s *Store) insertChanges(ctx context.Context, tx *wtx, changes []crmaccess.Change, pos int64) error {
	m := changeRows(s)
	if conn := s.copyConn(tx, m, len(changes)); conn != nil {
		return s.copyChanges(ctx, conn, changes, pos)
	}
	if !s.d.postgres() && len(changes) > 1 {
		return s.insertChangesShared(ctx, tx, changes, pos)
	}
	return s.execChunks(ctx, tx, m, nil, len(changes), func(args []any, i int) []any {
		return changeArgs(args, &changes[i], pos)
	}, nil)
}

// changeRows is the multi-row INSERT of change records; changeArgs appends
// the variables of one.
func changeRows(s *Store) multiRow {
	return multiRow{head: `INSERT INTO ` + s.t.changes + ` (log_seq, at_sec, at_nsec, actor, entity_kind, entity_id, user_id,
		before_private, before_share, before_list, before_admin, before_creator, before_responsible,
		after_private, after_share, after_list, after_admin, after_creator, after_responsible,
		before_status, after_status) VALUES `,
		row: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rowVars: 21}
}

func changeArgs(args []any, c *crmaccess.Change, pos int64) []any {
	sec, nsec := unixParts(c.At)
	return append(args, pos, sec, nsec, c.Actor, string(c.Entity.Kind), c.Entity.ID, c.User,
		c.Before.IsPrivate, int64(c.Before.ShareType), encodeList(c.Before.List), c.Before.Admin,
		c.Before.Creator, c.Before.Responsible,
		c.After.IsPrivate, int64(c.After.ShareType), encodeList(c.After.List), c.After.Admin,
		c.After.Creator, c.After.Responsible, string(c.Before.Status), string(c.After.Status))
}
