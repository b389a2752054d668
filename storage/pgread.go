package storage

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/crmaccess/crmaccess"
)

// Over pgx, opportunities are read with their members and tags in one
// statement (arrays of subqueries), a round trip where the portable reads
// take three: a write that reads the record it changes saves two.

// opportunitiesPgxSQL reads the opportunities of the ids $1 with their
// members and tags.
func (s *Store) opportunitiesPgxSQL() string {
	t := s.t
	return `SELECT ` + opportunityColumns + `,
		ARRAY(SELECT m.contact_id FROM ` + t.members + ` m WHERE m.opportunity_id = o.id ORDER BY m.contact_id),
		ARRAY(SELECT g.tag FROM ` + t.opportunityTags + ` g WHERE g.opportunity_id = o.id ORDER BY g.pos)
		FROM ` + t.opportunities + ` o WHERE o.id = ANY($1::bigint[]) ORDER BY o.id`
}

// opportunitiesPgx is reader.Opportunities over pgx.
func (r reader) opportunitiesPgx(ctx context.Context, ids []int64) ([]crmaccess.Opportunity, error) {
	if out, ok := aheadOf(r.q).opportunitiesOf(ids); ok {
		return out, nil // read with the writer lock (pgahead.go)
	}
	rows, err := r.q.QueryContext(ctx, r.s.opportunitiesPgxSQL(), distinct(ids))
	if err != nil {
		return nil, r.s.translate(ctx, err)
	}
	defer rows.Close()
	types := pgtype.NewMap()
	var out []crmaccess.Opportunity
	for rows.Next() {
		var o crmaccess.Opportunity
		var closeSec, closeNsec, createdSec, createdNsec int64
		if err := rows.Scan(&o.ID, &o.Title, &o.Description, &o.CreateBy, &o.Responsible, &o.ContactID,
			&o.StageID, &o.SuccessProbability, &closeSec, &closeNsec, &createdSec, &createdNsec, &o.IsPrivate,
			types.SQLScanner(&o.Members), types.SQLScanner(&o.Tags)); err != nil {
			return nil, r.s.translate(ctx, err)
		}
		finishOpportunityPgx(&o, closeSec, closeNsec, createdSec, createdNsec)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	return out, nil
}

// scanOpportunityPgx scans a row of opportunitiesPgxSQL from pgx's rows.
func scanOpportunityPgx(rows pgx.Rows) (crmaccess.Opportunity, error) {
	var o crmaccess.Opportunity
	var closeSec, closeNsec, createdSec, createdNsec int64
	err := rows.Scan(&o.ID, &o.Title, &o.Description, &o.CreateBy, &o.Responsible, &o.ContactID,
		&o.StageID, &o.SuccessProbability, &closeSec, &closeNsec, &createdSec, &createdNsec, &o.IsPrivate,
		&o.Members, &o.Tags)
	finishOpportunityPgx(&o, closeSec, closeNsec, createdSec, createdNsec)
	return o, err
}

// finishOpportunityPgx sets the fields of o a pgx read leaves as columns.
func finishOpportunityPgx(o *crmaccess.Opportunity, closeSec, closeNsec, createdSec, createdNsec int64) {
	if len(o.Members) == 0 {
		o.Members = nil // as the portable read leaves them
	}
	if len(o.Tags) == 0 {
		o.Tags = nil
	}
	o.ExpectedCloseDate = fromUnix(closeSec, closeNsec)
	o.Created = fromUnix(createdSec, createdNsec)
}

// contactsPgx is reader.Contacts over pgx: contacts with their tags in one
// statement.
func (r reader) contactsPgx(ctx context.Context, ids []int64) ([]crmaccess.Contact, error) {
	distinct := distinct(ids)
	rows, err := r.q.QueryContext(ctx, `SELECT `+contactColumns+`,
		ARRAY(SELECT g.tag FROM `+r.s.t.tags+` g WHERE g.contact_id = c.id ORDER BY g.pos)
		FROM `+r.s.t.contacts+` c WHERE c.id = ANY($1::bigint[]) ORDER BY c.id`, distinct)
	if err != nil {
		return nil, r.s.translate(ctx, err)
	}
	defer rows.Close()
	types := pgtype.NewMap()
	var out []crmaccess.Contact
	for rows.Next() {
		var c crmaccess.Contact
		var sec, nsec, share int64
		if err := rows.Scan(&c.ID, &c.IsCompany, &c.CompanyName, &c.FirstName, &c.LastName, &c.Title,
			&c.CompanyID, &c.About, &c.ContactStage, &c.ContactType, &sec, &nsec, &c.CreateBy, &share,
			types.SQLScanner(&c.Tags)); err != nil {
			return nil, r.s.translate(ctx, err)
		}
		if len(c.Tags) == 0 {
			c.Tags = nil // as the portable read leaves them
		}
		c.Created = fromUnix(sec, nsec)
		c.ShareType = crmaccess.ShareType(share)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.translate(ctx, err)
	}
	return out, nil
}
