package storage

import (
	"context"
	"database/sql"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// The list pages of a user (GET …/filter): the records a filter matches
// that the user may read, a page at a time, access decided in the query by
// the scope's condition (allowed.go), so that a page reads its rows only.

// ReadableOpportunities returns a page of the opportunities f matches that
// user may read; see reader.ReadableOpportunities.
func (s *Store) ReadableOpportunities(ctx context.Context, f *crmaccess.OpportunityFilter, user string, offset, limit int) ([]crmaccess.Opportunity, int, error) {
	return reader{s, s.db}.ReadableOpportunities(ctx, f, user, offset, limit)
}

// ReadableContacts returns a page of the contacts f matches that user may
// read; see reader.ReadableContacts.
func (s *Store) ReadableContacts(ctx context.Context, f *crmaccess.ContactFilter, user string, offset, limit int) ([]crmaccess.Contact, int, error) {
	return reader{s, s.db}.ReadableContacts(ctx, f, user, offset, limit)
}

// ReadableOpportunities returns the opportunities f matches that user may
// read, by ascending id, skipping offset and at most limit (all when limit
// is 0), with Members and Tags, and how many match in all. Errors:
// EINVALID (a user that is not a canonical GUID), EINTERNAL.
func (r reader) ReadableOpportunities(ctx context.Context, f *crmaccess.OpportunityFilter, user string, offset, limit int) ([]crmaccess.Opportunity, int, error) {
	from, where, args, _, tagsInSQL := r.opportunitiesFrom(f) // page orders by the first column, o.id
	if !tagsInSQL {
		return nil, 0, crmaccess.Errorf(crmaccess.EINVALID, "tags: more than %d", maxTagVars)
	}
	scope, scopeArgs, err := r.s.allowedSQL(user, crmaccess.KindOpportunity, crmaccess.ActionRead, "o.id")
	if err != nil {
		return nil, 0, err
	}
	where, args = append(where, scope), append(args, scopeArgs...)
	from += ` WHERE ` + strings.Join(where, ` AND `)
	var out []crmaccess.Opportunity
	total, err := r.page(ctx, from, args, f.Search != "", offset, limit, func(rows *sql.Rows) (string, error) {
		o, err := scanOpportunity(rows)
		out = append(out, o)
		return o.Title, err
	}, opportunityColumns, f.MatchSearch, func() { out = out[:len(out)-1] })
	if err != nil {
		return nil, 0, r.s.translate(ctx, err)
	}
	if err := r.loadMembers(ctx, out); err != nil {
		return nil, 0, r.s.translate(ctx, err)
	}
	if err := r.loadOpportunityTags(ctx, out); err != nil {
		return nil, 0, r.s.translate(ctx, err)
	}
	return out, total, nil
}

// ReadableContacts returns the contacts f matches that user may read, by
// ascending id, skipping offset and at most limit (all when limit is 0),
// with Tags, and how many match in all. Errors: EINVALID (a user that is
// not a canonical GUID, more tags than one statement binds), EINTERNAL.
func (r reader) ReadableContacts(ctx context.Context, f *crmaccess.ContactFilter, user string, offset, limit int) ([]crmaccess.Contact, int, error) {
	if len(f.TagKeys()) > maxTagVars {
		return nil, 0, crmaccess.Errorf(crmaccess.EINVALID, "tags: more than %d", maxTagVars)
	}
	from, where, args, _ := r.contactsFrom(f, true) // page orders by the first column, c.id
	scope, scopeArgs, err := r.s.allowedSQL(user, crmaccess.KindContact, crmaccess.ActionRead, "c.id")
	if err != nil {
		return nil, 0, err
	}
	where, args = append(where, scope), append(args, scopeArgs...)
	from += ` WHERE ` + strings.Join(where, ` AND `)
	var out []crmaccess.Contact
	total, err := r.page(ctx, from, args, f.Search != "", offset, limit, func(rows *sql.Rows) (string, error) {
		c, err := scanContact(rows)
		out = append(out, c)
		return c.DisplayName(), err
	}, contactColumns, f.MatchSearch, func() { out = out[:len(out)-1] })
	if err != nil {
		return nil, 0, r.s.translate(ctx, err)
	}
	if err := r.loadTags(ctx, out); err != nil {
		return nil, 0, r.s.translate(ctx, err)
	}
	return out, total, nil
}

// page reads the rows of from (a FROM … WHERE clause) by ascending id.
// Without a search text, the database counts them and reads only the page.
// With one, which the database cannot match as Go does, every matching row
// is read and matched in Go: scan appends a row and returns its text,
// drop takes back the last row appended.
func (r reader) page(ctx context.Context, from string, args []any, search bool, offset, limit int,
	scan func(*sql.Rows) (string, error), columns string, match func(string) bool, drop func()) (int, error) {
	order := ` ORDER BY 1`
	if !search {
		var total int
		if err := r.q.QueryRowContext(ctx, r.s.d.bind(`SELECT COUNT(*)`+from), args...).Scan(&total); err != nil {
			return 0, err
		}
		q := `SELECT ` + columns + from + order
		pageArgs := args
		if limit > 0 {
			q += ` LIMIT ? OFFSET ?`
			pageArgs = append(append([]any{}, args...), limit, offset)
		} else if offset > 0 {
			q += ` LIMIT -1 OFFSET ?`
			if r.s.d.postgres() {
				q = `SELECT ` + columns + from + order + ` OFFSET ?`
			}
			pageArgs = append(append([]any{}, args...), offset)
		}
		err := queryEach(ctx, r.q, r.s.d.bind(q), pageArgs, func(rows *sql.Rows) error {
			_, err := scan(rows)
			return err
		})
		return total, err
	}
	total := 0
	err := queryEach(ctx, r.q, r.s.d.bind(`SELECT `+columns+from+order), args, func(rows *sql.Rows) error {
		text, err := scan(rows)
		if err != nil {
			return err
		}
		if !match(text) {
			drop()
			return nil
		}
		total++
		if total <= offset || (limit > 0 && total > offset+limit) {
			drop()
		}
		return nil
	})
	return total, err
}
