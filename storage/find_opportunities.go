package storage

import (
	"context"
	"database/sql"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// FindOpportunities returns every opportunity f matches; see
// reader.FindOpportunities.
func (s *Store) FindOpportunities(ctx context.Context, f *crmaccess.OpportunityFilter) ([]crmaccess.Opportunity, error) {
	return reader{s, s.db}.FindOpportunities(ctx, f)
}

// FindOpportunities returns every opportunity f matches, in ascending id
// order, with Members and Tags filled and AccessList empty. SQL selects by
// responsible user, stage, stage type, tags, contact and expected close
// date; the search text is matched in Go with f.MatchSearch, the reference
// semantics. Errors are EINTERNAL.
func (r reader) FindOpportunities(ctx context.Context, f *crmaccess.OpportunityFilter) ([]crmaccess.Opportunity, error) {
	if f == nil {
		f = &crmaccess.OpportunityFilter{}
	}
	from, where, args, order, tagsInSQL := r.opportunitiesFrom(f)
	query := `SELECT ` + opportunityColumns + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY ` + order
	var out []crmaccess.Opportunity
	err := queryEach(ctx, r.q, r.s.d.bind(query), args, func(rows *sql.Rows) error {
		o, err := scanOpportunity(rows)
		if err == nil && f.MatchSearch(o.Title) {
			out = append(out, o)
		}
		return err
	})
	if err != nil {
		return nil, r.s.translate(ctx, err)
	}
	if err := r.loadMembers(ctx, out); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	if err := r.loadOpportunityTags(ctx, out); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	if !tagsInSQL {
		// More tags than one statement binds: match them here.
		tagsOnly := crmaccess.OpportunityFilter{Tags: f.Tags}
		kept := out[:0]
		for i := range out {
			if tagsOnly.Match(&out[i], nil) {
				kept = append(kept, out[i])
			}
		}
		out = kept
	}
	return out, nil
}

// opportunitiesFrom is the FROM clause of a query of the opportunities f
// matches, aliased o, the conditions on them (see opportunityConditions),
// the arguments of both in order, and the expression that orders the rows
// by id. On PostgreSQL the opportunities that carry tags are read by their
// key, as contactsFrom reads contacts, whatever the planner believes of
// the tables.
func (r reader) opportunitiesFrom(f *crmaccess.OpportunityFilter) (from string, where []string, args []any, order string, tagsInSQL bool) {
	keys := f.TagKeys()
	if len(keys) > 0 && len(keys) <= maxTagVars && r.s.d.postgres() {
		carry, carryArgs := idsCarrying(r.s.t.opportunityTags, "opportunity_id", keys)
		where, args, _ = r.opportunityConditions(f, false)
		return byKeyFrom(carry, r.s.t.opportunities, "o"), where, append(carryArgs, args...), `m.id`, true
	}
	where, args, tagsInSQL = r.opportunityConditions(f, true)
	return ` FROM ` + r.s.t.opportunities + ` o`, where, args, `o.id`, tagsInSQL
}

// opportunityConditions are the SQL conditions of f on opportunities
// aliased o (the tags' condition only when withTags), and their
// arguments; the search text, and tags beyond what one statement binds
// (tagsInSQL false), are left to Go.
func (r reader) opportunityConditions(f *crmaccess.OpportunityFilter, withTags bool) (where []string, args []any, tagsInSQL bool) {
	if id, ok := f.ResponsibleID(); ok {
		where = append(where, `o.responsible = ?`)
		args = append(args, id)
	}
	if id, ok := f.StageID(); ok {
		where = append(where, `o.stage_id = ?`)
		args = append(args, id)
	}
	if f.StageType != nil {
		where = append(where, `o.stage_id IN (SELECT st.id FROM `+r.s.t.stages+` st WHERE st.stage_type = ?)`)
		args = append(args, int64(*f.StageType))
	}
	keys := f.TagKeys()
	tagsInSQL = len(keys) <= maxTagVars
	if len(keys) > 0 && tagsInSQL && withTags {
		carry, carryArgs := idsCarrying(r.s.t.opportunityTags, "opportunity_id", keys)
		where, args = append(where, `o.id IN (`+carry+`)`), append(args, carryArgs...)
	}
	if id, ok := f.ContactID(); ok {
		if f.ContactAlsoIsParticipant {
			where = append(where, `(o.contact_id = ? OR EXISTS (SELECT 1 FROM `+r.s.t.members+
				` m WHERE m.opportunity_id = o.id AND m.contact_id = ?))`)
			args = append(args, id, id)
		} else {
			where = append(where, `o.contact_id = ?`)
			args = append(args, id)
		}
	}
	from, until := f.Range()
	if !from.IsZero() {
		sec, nsec := unixParts(from)
		where = append(where, `o.expected_close_sec >= ? AND (o.expected_close_sec > ? OR o.expected_close_nsec >= ?)`)
		args = append(args, sec, sec, nsec)
	}
	if !until.IsZero() {
		sec, nsec := unixParts(until)
		where = append(where, `o.expected_close_sec <= ? AND (o.expected_close_sec < ? OR o.expected_close_nsec < ?)`)
		args = append(args, sec, sec, nsec)
	}
	return where, args, tagsInSQL
}
