package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
)

// Over pgx, a group of small writes of the common shapes (oneStatementVars,
// several entries: UpdateGroup) goes as one statement whose text never
// changes: every part takes its rows as arrays (unnest), so that one
// prepared statement, planned once a connection, serves a group of any
// size. The statement of VALUES lists (onestatement.go) has a text of its
// own for every shape and count of rows, which PostgreSQL parses and plans
// anew: milliseconds for a group of 16 writes. A write alone keeps the
// VALUES statement: its few shapes are prepared once each, and it measured
// faster than the arrays' twelve parts (a create and a delete 1.37 ms
// against 1.53 ms, a change of access 0.75 against 0.80 ms, medians of 3
// alternated runs of the go test benchmarks at 100k grants).
//
// The parts are those of the VALUES statement: opportunities created with
// their members and tags, privacy updated (counted), opportunities deleted
// with their members and tags (counted), rules removed (counted) and
// added, the count of opportunities, the log entries and their change
// records (in order: the change records' seq follows the order of the
// arrays), and the notification of the last entry. Empty arrays make a
// part write nothing.

// arrayWriteSQL is the statement, for the Store's tables; checked, the
// one that checks its counts itself (oneStatementSQL) and answers only the
// notifications.
func (s *Store) arrayWriteSQL(checked bool) string {
	s.arrayOnce.Do(func() {
		t := s.t
		parts := []string{
			`ins_o AS (INSERT INTO ` + t.opportunities + ` (id, title, description, create_by, responsible,
		contact_id, stage_id, success_probability, expected_close_sec, expected_close_nsec, created_sec, created_nsec,
		is_private) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
		$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bool[]))`,
			`ins_m AS (INSERT INTO ` + t.members + ` (opportunity_id, contact_id)
		SELECT * FROM unnest($14::bigint[], $15::bigint[]))`,
			`ins_t AS (INSERT INTO ` + t.opportunityTags + ` (opportunity_id, pos, tag, tag_key)
		SELECT * FROM unnest($16::bigint[], $17::bigint[], $18::text[], $19::text[]))`,
			`upd_p AS (UPDATE ` + t.opportunities + ` o SET is_private = u.v
		FROM unnest($20::bigint[], $21::bool[]) AS u(id, v) WHERE o.id = u.id RETURNING 1)`,
			`del_m AS (DELETE FROM ` + t.members + ` WHERE opportunity_id = ANY($22::bigint[]))`,
			`del_t AS (DELETE FROM ` + t.opportunityTags + ` WHERE opportunity_id = ANY($22::bigint[]))`,
			`del_o AS (DELETE FROM ` + t.opportunities + ` WHERE id = ANY($22::bigint[]) RETURNING 1)`,
			`del_r AS (DELETE FROM ` + t.rules + ` c USING unnest($23::text[], $24::text[], $25::text[]) AS d(pt, f, o)
		WHERE c.ptype = d.pt AND c.v0 = d.f AND c.v1 = d.o AND c.v2 = '' AND c.v3 = '' AND c.v4 = '' AND c.v5 = ''
		RETURNING 1)`,
			`ins_r AS (INSERT INTO ` + t.rules + ` (ptype, v0, v1, v2, v3, v4, v5)
		SELECT pt, f, o, '', '', '', '' FROM unnest($26::text[], $27::text[], $28::text[]) AS x(pt, f, o))`,
			`cnt AS (UPDATE ` + t.counts + ` SET n = n + $29::bigint WHERE kind = $30::text AND $29::bigint <> 0)`,
			`ins_l AS (INSERT INTO ` + t.log + ` (seq, at_sec, at_nsec, kind, changes)
		SELECT * FROM unnest($31::bigint[], $32::bigint[], $33::bigint[], $34::text[], $35::bigint[]))`,
			`ins_c AS (INSERT INTO ` + t.changes + ` (log_seq, at_sec, at_nsec, actor, entity_kind, entity_id, user_id,
		before_private, before_share, before_list, before_admin, before_creator, before_responsible,
		after_private, after_share, after_list, after_admin, after_creator, after_responsible,
		before_status, after_status)
		SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21
		FROM unnest($36::bigint[], $37::bigint[], $38::bigint[], $39::text[], $40::text[], $41::bigint[], $42::text[],
			$43::bool[], $44::bigint[], $45::text[], $46::bool[], $47::text[], $48::text[],
			$49::bool[], $50::bigint[], $51::text[], $52::bool[], $53::text[], $54::text[],
			$55::text[], $56::text[]) WITH ORDINALITY
			AS x(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21, ord)
		ORDER BY ord)`,
		}
		s.arraySQL = `WITH ` + strings.Join(parts, ",\n") + `
	SELECT (SELECT count(*) FROM upd_p), (SELECT count(*) FROM del_o), (SELECT count(*) FROM del_r),
		(SELECT count(*) FROM (SELECT pg_notify($57, $58)) n)`
		s.arrayCheckedSQL = `WITH ` + strings.Join(parts, ",\n") + `
	SELECT CASE WHEN k.c0 = $59 AND k.c1 = $60 AND k.c2 = $61 THEN k.n
		ELSE ('` + countsMarker + `' || ' ' || k.c0 || ' ' || k.c1 || ' ' || k.c2)::bigint END
	FROM (SELECT (SELECT count(*) FROM upd_p) AS c0, (SELECT count(*) FROM del_o) AS c1, (SELECT count(*) FROM del_r) AS c2,
		(SELECT count(*) FROM (SELECT pg_notify($57, $58)) n) AS n) k`
	})
	if checked {
		return s.arrayCheckedSQL
	}
	return s.arraySQL
}

// arrayWrite is the arguments of the statement: a column of values each.
type arrayWrite struct {
	// Opportunities created.
	oID                                           []int64
	oTitle, oDescription, oCreateBy, oResponsible []string
	oContact, oStage, oProbability                []int64
	oCloseSec, oCloseNsec, oSec, oNsec            []int64
	oPrivate                                      []bool
	// Members and tags.
	mOpportunity, mContact []int64
	tOpportunity, tPos     []int64
	tTag, tKey             []string
	// Privacy.
	pID      []int64
	pPrivate []bool
	// Deleted opportunities.
	deleted []int64
	// Rules.
	rmType, rmFrom, rmTo    []string
	addType, addFrom, addTo []string
	// The count of opportunities.
	delta int64
	// Log entries.
	lSeq, lSec, lNsec []int64
	lKind             []string
	lChanges          []int64
	// Change records.
	cLog, cSec, cNsec                            []int64
	cActor, cKind                                []string
	cEntity                                      []int64
	cUser                                        []string
	cBPrivate                                    []bool
	cBShare                                      []int64
	cBList                                       []string
	cBAdmin                                      []bool
	cBCreator, cBResponsible                     []string
	cAPrivate                                    []bool
	cAShare                                      []int64
	cAList                                       []string
	cAAdmin                                      []bool
	cACreator, cAResponsible, cBStatus, cAStatus []string
	// The checks of the counted parts.
	privacy []int64 // the distinct ids of the privacy updates
}

// add adds batch b, written at pos.
func (w *arrayWrite) add(b *crmaccess.Batch, pos int64) {
	for i := range b.Opportunities {
		o := &b.Opportunities[i]
		closeSec, closeNsec := unixParts(o.ExpectedCloseDate)
		sec, nsec := unixParts(o.Created)
		w.oID = append(w.oID, o.ID)
		w.oTitle = append(w.oTitle, o.Title)
		w.oDescription = append(w.oDescription, o.Description)
		w.oCreateBy = append(w.oCreateBy, o.CreateBy)
		w.oResponsible = append(w.oResponsible, o.Responsible)
		w.oContact = append(w.oContact, o.ContactID)
		w.oStage = append(w.oStage, o.StageID)
		w.oProbability = append(w.oProbability, int64(o.SuccessProbability))
		w.oCloseSec, w.oCloseNsec = append(w.oCloseSec, closeSec), append(w.oCloseNsec, closeNsec)
		w.oSec, w.oNsec = append(w.oSec, sec), append(w.oNsec, nsec)
		w.oPrivate = append(w.oPrivate, o.IsPrivate)
		for _, m := range memberRows(o) {
			w.mOpportunity, w.mContact = append(w.mOpportunity, m.opportunityID), append(w.mContact, m.contactID)
		}
		for p, tag := range o.Tags {
			w.tOpportunity, w.tPos = append(w.tOpportunity, o.ID), append(w.tPos, int64(p))
			w.tTag, w.tKey = append(w.tTag, tag), append(w.tKey, crmaccess.NormalizeTag(tag))
		}
	}
	// Privacy: the last update of an id wins.
	privacy := make(map[int64]bool, len(b.OpportunityPrivacy))
	var ids []int64
	for _, p := range b.OpportunityPrivacy {
		if _, ok := privacy[p.ID]; !ok {
			ids = append(ids, p.ID)
		}
		privacy[p.ID] = p.IsPrivate
	}
	slices.Sort(ids)
	for _, id := range ids {
		w.pID, w.pPrivate = append(w.pID, id), append(w.pPrivate, privacy[id])
	}
	w.privacy = append(w.privacy, ids...)
	deleted := distinct(b.DeleteOpportunities)
	w.deleted = append(w.deleted, deleted...)
	w.delta += int64(len(b.Opportunities) - len(deleted))
	for _, r := range b.RemoveRules {
		w.rmType, w.rmFrom, w.rmTo = append(w.rmType, r.Type), append(w.rmFrom, r.From), append(w.rmTo, r.To)
	}
	for _, r := range b.AddRules {
		w.addType, w.addFrom, w.addTo = append(w.addType, r.Type), append(w.addFrom, r.From), append(w.addTo, r.To)
	}
	at := b.At
	if at.IsZero() {
		at = time.Now()
	}
	sec, nsec := unixParts(at)
	w.lSeq, w.lSec, w.lNsec = append(w.lSeq, pos), append(w.lSec, sec), append(w.lNsec, nsec)
	w.lKind, w.lChanges = append(w.lKind, string(b.Kind)), append(w.lChanges, int64(len(b.Changes)))
	for i := range b.Changes {
		c := &b.Changes[i]
		sec, nsec := unixParts(c.At)
		w.cLog, w.cSec, w.cNsec = append(w.cLog, pos), append(w.cSec, sec), append(w.cNsec, nsec)
		w.cActor, w.cKind = append(w.cActor, c.Actor), append(w.cKind, string(c.Entity.Kind))
		w.cEntity, w.cUser = append(w.cEntity, c.Entity.ID), append(w.cUser, c.User)
		w.cBPrivate, w.cBShare = append(w.cBPrivate, c.Before.IsPrivate), append(w.cBShare, int64(c.Before.ShareType))
		w.cBList, w.cBAdmin = append(w.cBList, encodeList(c.Before.List)), append(w.cBAdmin, c.Before.Admin)
		w.cBCreator, w.cBResponsible = append(w.cBCreator, c.Before.Creator), append(w.cBResponsible, c.Before.Responsible)
		w.cAPrivate, w.cAShare = append(w.cAPrivate, c.After.IsPrivate), append(w.cAShare, int64(c.After.ShareType))
		w.cAList, w.cAAdmin = append(w.cAList, encodeList(c.After.List)), append(w.cAAdmin, c.After.Admin)
		w.cACreator, w.cAResponsible = append(w.cACreator, c.After.Creator), append(w.cAResponsible, c.After.Responsible)
		w.cBStatus, w.cAStatus = append(w.cBStatus, string(c.Before.Status)), append(w.cAStatus, string(c.After.Status))
	}
}

// nonNil makes an absent column an empty array, not NULL.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// writeArrays writes the batches (fitOneStatement) as the entries from pos
// on, with the notification of the last, in the one statement above.
func (s *Store) writeArrays(ctx context.Context, tx *wtx, bs []*crmaccess.Batch, pos int64) error {
	args, checks := s.arrayArgs(ctx, tx, bs, pos)
	var privacy, deleted, removed, notified int64
	if err := tx.QueryRowContext(ctx, s.arrayWriteSQL(false), args...).Scan(&privacy, &deleted, &removed, &notified); err != nil {
		return err
	}
	if notified != 1 {
		return fmt.Errorf("storage: the write's answer counts %d notifications", notified)
	}
	return check(checks, []int64{privacy, deleted, removed})
}

// arrayArgs returns the arguments of the statement writing the batches as
// the entries from pos on, and the checks of its three counted parts
// (privacy, deleted opportunities, rules removed); the checked statement
// takes the three counts they want after them.
func (s *Store) arrayArgs(ctx context.Context, tx *wtx, bs []*crmaccess.Batch, pos int64) ([]any, []countCheck) {
	var w arrayWrite
	for k, b := range bs {
		w.add(b, pos+int64(k))
	}
	last := pos + int64(len(bs)) - 1
	args := []any{
		nonNil(w.oID), nonNil(w.oTitle), nonNil(w.oDescription), nonNil(w.oCreateBy), nonNil(w.oResponsible),
		nonNil(w.oContact), nonNil(w.oStage), nonNil(w.oProbability), nonNil(w.oCloseSec), nonNil(w.oCloseNsec),
		nonNil(w.oSec), nonNil(w.oNsec), nonNil(w.oPrivate),
		nonNil(w.mOpportunity), nonNil(w.mContact),
		nonNil(w.tOpportunity), nonNil(w.tPos), nonNil(w.tTag), nonNil(w.tKey),
		nonNil(w.pID), nonNil(w.pPrivate),
		nonNil(w.deleted),
		nonNil(w.rmType), nonNil(w.rmFrom), nonNil(w.rmTo),
		nonNil(w.addType), nonNil(w.addFrom), nonNil(w.addTo),
		w.delta, string(crmaccess.KindOpportunity),
		nonNil(w.lSeq), nonNil(w.lSec), nonNil(w.lNsec), nonNil(w.lKind), nonNil(w.lChanges),
		nonNil(w.cLog), nonNil(w.cSec), nonNil(w.cNsec), nonNil(w.cActor), nonNil(w.cKind), nonNil(w.cEntity), nonNil(w.cUser),
		nonNil(w.cBPrivate), nonNil(w.cBShare), nonNil(w.cBList), nonNil(w.cBAdmin), nonNil(w.cBCreator), nonNil(w.cBResponsible),
		nonNil(w.cAPrivate), nonNil(w.cAShare), nonNil(w.cAList), nonNil(w.cAAdmin), nonNil(w.cACreator), nonNil(w.cAResponsible),
		nonNil(w.cBStatus), nonNil(w.cAStatus),
		s.t.log, strconv.FormatInt(last, 10),
	}
	checks := []countCheck{
		{int64(len(w.privacy)), func(int64) error {
			return s.missing(ctx, tx, s.t.opportunities, "opportunity", w.privacy)
		}},
		{int64(len(w.deleted)), func(deleted int64) error {
			return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of the opportunities to delete do not exist", int64(len(w.deleted))-deleted)
		}},
		{int64(len(w.rmType)), func(removed int64) error {
			return crmaccess.Errorf(crmaccess.ECONFLICT, "%d of %d rules to remove are not stored",
				int64(len(w.rmType))-removed, len(w.rmType))
		}},
	}
	return args, checks
}
