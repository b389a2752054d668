package crmaccess_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// BenchmarkCreateDeleteFloorPostgreSQL measures, beside
// BenchmarkCreateDeleteOpportunity, the least a create and a delete of an
// opportunity can cost on PostgreSQL over this schema: each one statement
// in one round trip, committed by itself, writing what the Store writes
// (the opportunity row, its three rule lines, its change record, the log
// entry, the count, the NOTIFY that wakes the other instances; a delete
// also its members and tags), with no writer lock, no look-up and no Go
// beyond the driver, and no instance listening. It reports the p50 of
// each, in µs.
func BenchmarkCreateDeleteFloorPostgreSQL(b *testing.B) {
	ctx := context.Background()
	fx := dataset.Grants(100_000)
	p := testportal.New(b, testportal.PostgreSQL, &testportal.Options{Data: fx})
	// No instance follows: the log entries below hold no real change, and
	// a follower's work would be measured with them.
	if err := p.Service.Close(); err != nil {
		b.Fatal(err)
	}
	sqlDB, err := p.Place.Gorm(b).DB()
	if err != nil {
		b.Fatal(err)
	}
	t := func(name string) string { return p.Place.Tables.TablePrefix + name }
	for _, table := range []string{p.Place.RuleTable(), t("opportunities"), t("changes"), t("log")} {
		if _, err := sqlDB.ExecContext(ctx, `ANALYZE `+table); err != nil {
			b.Fatal(err)
		}
	}
	var pos int64
	if err := sqlDB.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM ` + t("log")).Scan(&pos); err != nil {
		b.Fatal(err)
	}
	creator, responsible := dataset.UserID(37), dataset.UserID(38)
	change := func(before, after string) string {
		return `c AS (INSERT INTO ` + t("changes") + ` (log_seq, at_sec, at_nsec, actor, entity_kind, entity_id, user_id,
			before_private, before_share, before_list, before_admin, before_creator, before_responsible,
			after_private, after_share, after_list, after_admin, after_creator, after_responsible, before_status, after_status)
			VALUES ($2, 1, 2, $3, 'opportunity', $1, '', false, 0, '[]', false, ` + before + `, false, 0, '[]', false, ` + after + `, '', '')),
		l AS (INSERT INTO ` + t("log") + ` (seq, at_sec, at_nsec, kind, changes) VALUES ($2, 1, 2, 'record', 1)), `
	}
	create := `WITH o AS (INSERT INTO ` + t("opportunities") + ` (id, title, description, create_by, responsible, contact_id,
			stage_id, success_probability, expected_close_sec, expected_close_nsec, created_sec, created_nsec, is_private)
			VALUES ($1, 'New deal', '', $3, $4, 1, 2, 50, 0, 0, 1, 2, false)),
		r AS (INSERT INTO ` + p.Place.RuleTable() + ` (ptype, v0, v1, v2, v3, v4, v5) VALUES
			('g', 'opportunity:' || $1::bigint, 'crm:public', '', '', '', ''),
			('g2', 'opportunity:' || $1::bigint, $3, '', '', '', ''), ('g3', 'opportunity:' || $1::bigint, $4, '', '', '', '')), ` +
		change(`'', ''`, `$3, $4`) + `
		n AS (UPDATE ` + t("record_counts") + ` SET n = n + 1 WHERE kind = 'opportunity')
		SELECT pg_notify('` + t("log") + `', $2::text)`
	remove := `WITH o AS (DELETE FROM ` + t("opportunities") + ` WHERE id = $1),
		m AS (DELETE FROM ` + t("opportunity_members") + ` WHERE opportunity_id = $1),
		g AS (DELETE FROM ` + t("opportunity_tags") + ` WHERE opportunity_id = $1),
		r AS (DELETE FROM ` + p.Place.RuleTable() + ` WHERE ptype IN ('g', 'g2', 'g3') AND v0 = 'opportunity:' || $1::bigint
			AND v1 IN ('crm:public', $3, $4) AND v2 = '' AND v3 = '' AND v4 = '' AND v5 = ''), ` +
		change(`$3, $4`, `'', ''`) + `
		n AS (UPDATE ` + t("record_counts") + ` SET n = n - 1 WHERE kind = 'opportunity')
		SELECT pg_notify('` + t("log") + `', $2::text)`
	id := fx.Opportunities[len(fx.Opportunities)-1].ID + 1
	var creates, deletes []time.Duration
	for b.Loop() {
		for _, st := range []struct {
			q    string
			took *[]time.Duration
		}{{create, &creates}, {remove, &deletes}} {
			pos++
			start := time.Now()
			if _, err := sqlDB.ExecContext(ctx, st.q, id, pos, creator, responsible); err != nil {
				b.Fatalf("%.40s: %v", strings.TrimSpace(st.q), err)
			}
			*st.took = append(*st.took, time.Since(start))
		}
		id++
	}
	for _, d := range []struct {
		name string
		took []time.Duration
	}{{"create-p50-µs", creates}, {"delete-p50-µs", deletes}} {
		slices.Sort(d.took)
		b.ReportMetric(float64(d.took[len(d.took)/2].Microseconds()), d.name)
	}
}
