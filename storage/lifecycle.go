package storage

import (
	"context"
	"database/sql"
	"slices"

	"github.com/crmaccess/crmaccess"
)

// The record lifecycle steps of a commit: records replaced and deleted.
// Statements that name one record run once per record (a host edits a few
// records at a time); those over many ids run in chunks.

// updateUsers replaces existing users' fields and status; one that does
// not exist is ECONFLICT.
func (s *Store) updateUsers(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	for i := range b.UpdateUsers {
		u := &b.UpdateUsers[i]
		res, err := tx.ExecContext(ctx, s.d.bind(`UPDATE `+s.t.users+` SET display_name = ?, title = ?, avatar_small = ?,
			profile_url = ?, status = ? WHERE id = ?`), u.DisplayName, u.Title, u.AvatarSmall, u.ProfileURL, string(u.Status), u.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return crmaccess.Errorf(crmaccess.ECONFLICT, "user %s does not exist", u.ID)
		}
	}
	return nil
}

// updateContacts replaces the fields and tags of existing contacts; a
// contact that does not exist is ECONFLICT.
func (s *Store) updateContacts(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	if len(b.UpdateContacts) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, s.d.bind(`UPDATE `+s.t.contacts+` SET is_company = ?, company_name = ?,
		first_name = ?, last_name = ?, title = ?, company_id = ?, about = ?, contact_stage = ?, contact_type = ?
		WHERE id = ?`))
	if err != nil {
		return err
	}
	defer stmt.Close()
	var tags []tagRow
	ids := make([]any, 0, len(b.UpdateContacts))
	for i := range b.UpdateContacts {
		c := &b.UpdateContacts[i]
		res, err := stmt.ExecContext(ctx, c.IsCompany, c.CompanyName, c.FirstName, c.LastName, c.Title,
			c.CompanyID, c.About, c.ContactStage, c.ContactType, c.ID)
		if err := oneRow(res, err, "contact", c.ID); err != nil {
			return err
		}
		ids = append(ids, c.ID)
		for pos, tag := range c.Tags {
			tags = append(tags, tagRow{c.ID, pos, tag})
		}
	}
	if err := s.deleteByIDs(ctx, tx, s.t.tags, "contact_id", ids, nil); err != nil {
		return err
	}
	return s.insertTags(ctx, tx, s.t.tags, "contact_id", tags)
}

// updateOpportunities replaces the fields, members and tags of existing
// opportunities (not their creator, creation time or privacy); one that
// does not exist is ECONFLICT.
func (s *Store) updateOpportunities(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	if len(b.UpdateOpportunities) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, s.d.bind(`UPDATE `+s.t.opportunities+` SET title = ?, description = ?,
		responsible = ?, contact_id = ?, stage_id = ?, success_probability = ?, expected_close_sec = ?,
		expected_close_nsec = ? WHERE id = ?`))
	if err != nil {
		return err
	}
	defer stmt.Close()
	var tags []tagRow
	var members []memberRow
	ids := make([]any, 0, len(b.UpdateOpportunities))
	for i := range b.UpdateOpportunities {
		o := &b.UpdateOpportunities[i]
		sec, nsec := unixParts(o.ExpectedCloseDate)
		res, err := stmt.ExecContext(ctx, o.Title, o.Description, o.Responsible, o.ContactID, o.StageID,
			o.SuccessProbability, sec, nsec, o.ID)
		if err := oneRow(res, err, "opportunity", o.ID); err != nil {
			return err
		}
		ids = append(ids, o.ID)
		for pos, tag := range o.Tags {
			tags = append(tags, tagRow{o.ID, pos, tag})
		}
		members = append(members, memberRows(o)...)
	}
	if err := s.deleteByIDs(ctx, tx, s.t.opportunityTags, "opportunity_id", ids, nil); err != nil {
		return err
	}
	if err := s.deleteByIDs(ctx, tx, s.t.members, "opportunity_id", ids, nil); err != nil {
		return err
	}
	if err := s.insertMembers(ctx, tx, members); err != nil {
		return err
	}
	return s.insertTags(ctx, tx, s.t.opportunityTags, "opportunity_id", tags)
}

// updateStages replaces existing stages; one that does not exist is
// ECONFLICT.
func (s *Store) updateStages(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	for i := range b.UpdateStages {
		st := &b.UpdateStages[i]
		res, err := tx.ExecContext(ctx, s.d.bind(`UPDATE `+s.t.stages+` SET title = ?, description = ?, color = ?,
			sort_order = ?, success_probability = ?, stage_type = ? WHERE id = ?`),
			st.Title, st.Description, st.Color, st.SortOrder, st.SuccessProbability, st.StageType, st.ID)
		if err := oneRow(res, err, "stage", st.ID); err != nil {
			return err
		}
	}
	return nil
}

// deleteOpportunities deletes opportunities with their members and tags.
func (s *Store) deleteOpportunities(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	ids := distinctArgs(b.DeleteOpportunities)
	if len(ids) == 0 {
		return nil
	}
	if err := s.deleteByIDs(ctx, tx, s.t.members, "opportunity_id", ids, nil); err != nil {
		return err
	}
	if err := s.deleteByIDs(ctx, tx, s.t.opportunityTags, "opportunity_id", ids, nil); err != nil {
		return err
	}
	return s.deleteByIDs(ctx, tx, s.t.opportunities, "id", ids, func(n int64) error {
		return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of the opportunities to delete do not exist", n)
	})
}

// deleteContacts deletes contacts with their tags: their persons lose
// their company, and opportunities lose them as main contact and member.
func (s *Store) deleteContacts(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	ids := distinctArgs(b.DeleteContacts)
	if len(ids) == 0 {
		return nil
	}
	if err := s.setByIDs(ctx, tx, s.t.contacts, "company_id", ids); err != nil {
		return err
	}
	if err := s.setByIDs(ctx, tx, s.t.opportunities, "contact_id", ids); err != nil {
		return err
	}
	if err := s.deleteByIDs(ctx, tx, s.t.members, "contact_id", ids, nil); err != nil {
		return err
	}
	if err := s.deleteByIDs(ctx, tx, s.t.tags, "contact_id", ids, nil); err != nil {
		return err
	}
	return s.deleteByIDs(ctx, tx, s.t.contacts, "id", ids, func(n int64) error {
		return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of the contacts to delete do not exist", n)
	})
}

// deleteStages deletes stages; the Service refuses one in use first.
func (s *Store) deleteStages(ctx context.Context, tx *wtx, b *crmaccess.Batch) error {
	ids := distinctArgs(b.DeleteStages)
	if len(ids) == 0 {
		return nil
	}
	return s.deleteByIDs(ctx, tx, s.t.stages, "id", ids, func(n int64) error {
		return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of the stages to delete do not exist", n)
	})
}

// deleteByIDs deletes the rows of table whose column is one of ids; with
// missing set, fewer rows than ids is missing(how many fewer).
func (s *Store) deleteByIDs(ctx context.Context, tx *wtx, table, column string, ids []any, missing func(int64) error) error {
	m := multiRow{head: `DELETE FROM ` + table + ` WHERE ` + column + ` IN (`, row: "?", tail: ")", rowVars: 1}
	var deleted int64
	err := s.execChunks(ctx, tx, m, nil, len(ids), func(args []any, i int) []any {
		return append(args, ids[i])
	}, func(_, _ int, n int64) error {
		deleted += n
		return nil
	})
	if err == nil && missing != nil && deleted != int64(len(ids)) {
		return missing(int64(len(ids)) - deleted)
	}
	return err
}

// setByIDs sets column to 0 in the rows of table whose column is one of ids.
func (s *Store) setByIDs(ctx context.Context, tx *wtx, table, column string, ids []any) error {
	m := multiRow{head: `UPDATE ` + table + ` SET ` + column + ` = 0 WHERE ` + column + ` IN (`, row: "?", tail: ")", rowVars: 1}
	return s.execChunks(ctx, tx, m, nil, len(ids), func(args []any, i int) []any {
		return append(args, ids[i])
	}, nil)
}

// oneRow turns an UPDATE's result into ECONFLICT when it matched no row.
func oneRow(res sql.Result, err error, kind string, id int64) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return crmaccess.Errorf(crmaccess.ECONFLICT, "%s %d does not exist", kind, id)
	}
	return nil
}

// memberRows returns an opportunity's members as rows, each once.
func memberRows(o *crmaccess.Opportunity) []memberRow {
	ids := slices.Clone(o.Members)
	slices.Sort(ids)
	var out []memberRow
	for _, id := range slices.Compact(ids) {
		out = append(out, memberRow{o.ID, id})
	}
	return out
}

func (s *Store) insertMembers(ctx context.Context, tx *wtx, members []memberRow) error {
	m := multiRow{head: `INSERT INTO ` + s.t.members + ` (opportunity_id, contact_id) VALUES `, row: "(?, ?)", rowVars: 2}
	return s.execChunks(ctx, tx, m, nil, len(members), func(args []any, i int) []any {
		return append(args, members[i].opportunityID, members[i].contactID)
	}, nil)
}

// insertTags inserts tag rows into a tag table whose record column is
// column.
func (s *Store) insertTags(ctx context.Context, tx *wtx, table, column string, tags []tagRow) error {
	m := multiRow{head: `INSERT INTO ` + table + ` (` + column + `, pos, tag, tag_key) VALUES `, row: "(?, ?, ?, ?)", rowVars: 4}
	return s.execChunks(ctx, tx, m, nil, len(tags), func(args []any, i int) []any {
		t := &tags[i]
		return append(args, t.recordID, t.pos, t.tag, crmaccess.NormalizeTag(t.tag))
	}, nil)
}
