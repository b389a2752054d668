package storage

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
)

// tables holds the names of the store's tables.
type tables struct {
	migrations      string
	users           string
	stages          string
	contacts        string
	tags            string
	opportunities   string
	members         string
	opportunityTags string
	changes         string
	log             string
	counts          string
	rules           string // gorm-adapter's table, not prefixed
	lockHead        string // PostgreSQL: the function of schema v7
}

func newTables(prefix, rules string) tables {
	return tables{
		migrations:      prefix + "schema_migrations",
		users:           prefix + "users",
		stages:          prefix + "stages",
		contacts:        prefix + "contacts",
		tags:            prefix + "contact_tags",
		opportunities:   prefix + "opportunities",
		members:         prefix + "opportunity_members",
		opportunityTags: prefix + "opportunity_tags",
		changes:         prefix + "changes",
		log:             prefix + "log",
		counts:          prefix + "record_counts",
		rules:           rules,
		lockHead:        prefix + "lock_head",
	}
}

// A migration is one version of the schema. Migrations are never edited
// once released: a change of schema is a new migration appended to the list.
type migration struct {
	version int64
	name    string
	sql     func(t tables, d dialect, prefix string) []string
	// then, when set, runs after sql in the same transaction: a step SQL
	// alone cannot take.
	then func(ctx context.Context, s *Store, tx *gorm.DB) error
}

var migrations = []migration{
	{version: 1, name: "records and changes", sql: schemaV1},
	{version: 2, name: "the change log", sql: schemaV2},
	{version: 3, name: "opportunity tags", sql: schemaV3},
	{version: 4, name: "user status", sql: schemaV4},
	{version: 5, name: "record counts", sql: schemaV5},
	{version: 6, name: "history indexes and baseline", sql: schemaV6, then: baseline},
	{version: 7, name: "writer lock and head in one call", sql: schemaV7},
	{version: 8, name: "cheaper bulk writes", sql: schemaV8},
}

// schemaV1 creates the record tables and the change table. Lists
// (accessList, managerList) are rules, not columns. Times are Unix seconds
// and nanoseconds (see unixParts).
func schemaV1(t tables, d dialect, p string) []string {
	return []string{
		`CREATE TABLE ` + t.users + ` (
			id           VARCHAR(64) PRIMARY KEY,
			display_name TEXT NOT NULL,
			title        TEXT NOT NULL,
			avatar_small TEXT NOT NULL,
			profile_url  TEXT NOT NULL
		)`,
		`CREATE TABLE ` + t.stages + ` (
			id                  BIGINT PRIMARY KEY,
			title               TEXT NOT NULL,
			description         TEXT NOT NULL,
			color               TEXT NOT NULL,
			sort_order          BIGINT NOT NULL,
			success_probability BIGINT NOT NULL,
			stage_type          BIGINT NOT NULL
		)`,
		`CREATE TABLE ` + t.contacts + ` (
			id            BIGINT PRIMARY KEY,
			is_company    BOOLEAN NOT NULL,
			company_name  TEXT NOT NULL,
			first_name    TEXT NOT NULL,
			last_name     TEXT NOT NULL,
			title         TEXT NOT NULL,
			company_id    BIGINT NOT NULL,
			about         TEXT NOT NULL,
			contact_stage BIGINT NOT NULL,
			contact_type  BIGINT NOT NULL,
			created_sec   BIGINT NOT NULL,
			created_nsec  BIGINT NOT NULL,
			create_by     TEXT NOT NULL,
			share_type    BIGINT NOT NULL
		)`,
		`CREATE INDEX ` + p + `contacts_stage_idx ON ` + t.contacts + ` (contact_stage)`,
		`CREATE INDEX ` + p + `contacts_type_idx ON ` + t.contacts + ` (contact_type)`,
		`CREATE INDEX ` + p + `contacts_created_idx ON ` + t.contacts + ` (created_sec, created_nsec)`,
		// A contact's tags in their order; tag_key is crmaccess.NormalizeTag
		// computed in Go (SQL lower() is ASCII-only in SQLite).
		`CREATE TABLE ` + t.tags + ` (
			contact_id BIGINT NOT NULL REFERENCES ` + t.contacts + ` (id),
			pos        BIGINT NOT NULL,
			tag        TEXT NOT NULL,
			tag_key    TEXT NOT NULL,
			PRIMARY KEY (contact_id, pos)
		)`,
		`CREATE INDEX ` + p + `contact_tags_key_idx ON ` + t.tags + ` (tag_key, contact_id)`,
		`CREATE TABLE ` + t.opportunities + ` (
			id                  BIGINT PRIMARY KEY,
			title               TEXT NOT NULL,
			description         TEXT NOT NULL,
			create_by           TEXT NOT NULL,
			responsible         TEXT NOT NULL,
			contact_id          BIGINT NOT NULL,
			stage_id            BIGINT NOT NULL,
			success_probability BIGINT NOT NULL,
			expected_close_sec  BIGINT NOT NULL,
			expected_close_nsec BIGINT NOT NULL,
			created_sec         BIGINT NOT NULL,
			created_nsec        BIGINT NOT NULL,
			is_private          BOOLEAN NOT NULL
		)`,
		`CREATE INDEX ` + p + `opportunities_contact_idx ON ` + t.opportunities + ` (contact_id)`,
		`CREATE TABLE ` + t.members + ` (
			opportunity_id BIGINT NOT NULL REFERENCES ` + t.opportunities + ` (id),
			contact_id     BIGINT NOT NULL,
			PRIMARY KEY (opportunity_id, contact_id)
		)`,
		`CREATE INDEX ` + p + `opportunity_members_contact_idx ON ` + t.members + ` (contact_id)`,
		// The change log: append-only, seq increasing. entity_kind is '' for
		// a change of a user's admin role; lists are JSON arrays.
		`CREATE TABLE ` + t.changes + ` (
			seq            ` + d.serial() + `,
			at_sec         BIGINT NOT NULL,
			at_nsec        BIGINT NOT NULL,
			actor          TEXT NOT NULL,
			entity_kind    VARCHAR(32) NOT NULL,
			entity_id      BIGINT NOT NULL,
			user_id        VARCHAR(64) NOT NULL,
			before_private BOOLEAN NOT NULL,
			before_share   BIGINT NOT NULL,
			before_list    TEXT NOT NULL,
			before_admin   BOOLEAN NOT NULL,
			after_private  BOOLEAN NOT NULL,
			after_share    BIGINT NOT NULL,
			after_list     TEXT NOT NULL,
			after_admin    BOOLEAN NOT NULL
		)`,
		`CREATE INDEX ` + p + `changes_entity_idx ON ` + t.changes + ` (entity_kind, entity_id, seq)`,
		`CREATE INDEX ` + p + `changes_user_idx ON ` + t.changes + ` (user_id, seq)`,
	}
}

// schemaV2 makes the change records a log every instance follows: one row
// of the log table per committed write, at consecutive positions handed out
// under the writer lock (so they become visible in commit order), and each
// change record tied to its write's position. An opportunity's state also
// names its creator and responsible user, so that the log replays to the
// rules. A store written before has position 0: its rules are the baseline.
func schemaV2(t tables, _ dialect, p string) []string {
	return []string{
		`CREATE TABLE ` + t.log + ` (
			seq     BIGINT PRIMARY KEY,
			at_sec  BIGINT NOT NULL,
			at_nsec BIGINT NOT NULL,
			kind    VARCHAR(16) NOT NULL,
			changes BIGINT NOT NULL
		)`,
		`ALTER TABLE ` + t.changes + ` ADD COLUMN log_seq BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE ` + t.changes + ` ADD COLUMN before_creator TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE ` + t.changes + ` ADD COLUMN before_responsible TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE ` + t.changes + ` ADD COLUMN after_creator TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE ` + t.changes + ` ADD COLUMN after_responsible TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX ` + p + `changes_log_idx ON ` + t.changes + ` (log_seq, seq)`,
	}
}

// schemaV3 gives opportunities tags, kept as a contact's are.
func schemaV3(t tables, _ dialect, p string) []string {
	return []string{
		`CREATE TABLE ` + t.opportunityTags + ` (
			opportunity_id BIGINT NOT NULL REFERENCES ` + t.opportunities + ` (id),
			pos            BIGINT NOT NULL,
			tag            TEXT NOT NULL,
			tag_key        TEXT NOT NULL,
			PRIMARY KEY (opportunity_id, pos)
		)`,
		`CREATE INDEX ` + p + `opportunity_tags_key_idx ON ` + t.opportunityTags + ` (tag_key, opportunity_id)`,
		`CREATE INDEX ` + p + `opportunities_responsible_idx ON ` + t.opportunities + ` (responsible)`,
		`CREATE INDEX ` + p + `opportunities_stage_idx ON ` + t.opportunities + ` (stage_id)`,
	}
}

// schemaV4 gives users a status: only active users may act, and list
// entries must be known users. A user's status is also a rule (g5, user,
// crm:active or crm:inactive) so that the policy alone decides; the users
// of a store written before are active.
func schemaV4(t tables, _ dialect, _ string) []string {
	return []string{
		`ALTER TABLE ` + t.users + ` ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'active'`,
		`ALTER TABLE ` + t.changes + ` ADD COLUMN before_status VARCHAR(16) NOT NULL DEFAULT ''`,
		`ALTER TABLE ` + t.changes + ` ADD COLUMN after_status VARCHAR(16) NOT NULL DEFAULT ''`,
		`INSERT INTO ` + t.rules + ` (ptype, v0, v1, v2, v3, v4, v5)
			SELECT 'g5', id, 'crm:active', '', '', '', '' FROM ` + t.users,
	}
}

// schemaV5 keeps the count of each kind of record, changed by every write
// that adds or deletes records, so that an admin's total of readable
// records is one row, not a scan.
func schemaV5(t tables, _ dialect, _ string) []string {
	return []string{
		`CREATE TABLE ` + t.counts + ` (
			kind VARCHAR(32) PRIMARY KEY,
			n    BIGINT NOT NULL
		)`,
		`INSERT INTO ` + t.counts + ` (kind, n) SELECT 'opportunity', COUNT(*) FROM ` + t.opportunities,
		`INSERT INTO ` + t.counts + ` (kind, n) SELECT 'contact', COUNT(*) FROM ` + t.contacts,
	}
}

// schemaV6 indexes the change log for history: the log by time (where a
// time falls in it) and by kind (the baseline entry), the change records by
// actor and by time (change queries), and the grants of the admin role (a
// partial index: who was an admin at a position). Its then step writes the
// baseline entry of a store whose log does not explain its rules (see
// baseline).
func schemaV6(t tables, _ dialect, p string) []string {
	return []string{
		`CREATE INDEX ` + p + `log_at_idx ON ` + t.log + ` (at_sec, at_nsec, seq)`,
		`CREATE INDEX ` + p + `log_kind_idx ON ` + t.log + ` (kind, seq)`,
		`CREATE INDEX ` + p + `changes_actor_idx ON ` + t.changes + ` (actor, seq)`,
		`CREATE INDEX ` + p + `changes_at_idx ON ` + t.changes + ` (at_sec, at_nsec)`,
		`CREATE INDEX ` + p + `changes_admin_idx ON ` + t.changes + ` (user_id) WHERE entity_kind = '' AND after_admin`,
	}
}

// schemaV7 (PostgreSQL; nothing on SQLite) adds the function a write
// begins with: it takes the writer lock (the transaction-scoped advisory
// lock of key k) and returns the head of the log, in one round trip where
// they were two. The head must be read after the lock is granted: a plain
// statement doing both would read the log on the snapshot taken when it
// started, before a writer it waited for had committed. A VOLATILE
// function takes a new snapshot for each statement it runs (READ
// COMMITTED), so its head is read after the lock. Its second argument,
// of the log table's row type and never passed, makes the function depend
// on the table: dropping the table with CASCADE drops the function too.
func schemaV7(t tables, d dialect, _ string) []string {
	if !d.postgres() {
		return nil
	}
	return []string{
		`CREATE OR REPLACE FUNCTION ` + t.lockHead + `(k BIGINT, unused ` + t.log + ` DEFAULT NULL) RETURNS BIGINT VOLATILE LANGUAGE plpgsql AS $fn$
		DECLARE
			head BIGINT;
		BEGIN
			PERFORM pg_advisory_xact_lock(k);
			SELECT COALESCE(MAX(seq), 0) INTO head FROM ` + t.log + `;
			RETURN head;
		END
		$fn$`,
	}
}

// schemaV8 makes bulk writes cheaper. The index of the change records by
// user holds the changes of users only, those of an empty entity_kind:
// every query by user asks for an empty entity_kind too, and a write of
// 100k records' access no longer adds 100k entries of an empty user to
// it. On PostgreSQL the contacts table keeps free space in each page
// (fillfactor) for the new versions of the rows an update writes: a
// contact's share type is not indexed, so the new version goes to the
// same page (a HOT update) and no index gets an entry, where with full
// pages every index of the table got one. Pages written from then on keep
// that space; a table filled before keeps its pages until it is rewritten
// (VACUUM FULL).
func schemaV8(t tables, d dialect, p string) []string {
	out := []string{
		`DROP INDEX IF EXISTS ` + p + `changes_user_idx`,
		`CREATE INDEX ` + p + `changes_user_idx ON ` + t.changes + ` (user_id, seq) WHERE entity_kind = ''`,
	}
	if d.postgres() {
		out = append(out, `ALTER TABLE `+t.contacts+` SET (fillfactor = `+strconv.Itoa(contactsFillFactor)+`)`)
	}
	return out
}

// contactsFillFactor is the percentage of each page of the contacts table
// PostgreSQL fills on insert (schemaV8). BenchmarkFilterCall/PostgreSQL
// (100k contacts made private, then shared, alternately), alternated runs
// of 6 calls each: 100 (PostgreSQL's default) 4.32 / 4.27 s a call, 70
// 3.89 / 3.82 s, 50 3.60 / 3.74 s.
const contactsFillFactor = 50

// migrate brings the schema up to date in one transaction: the versions not
// yet recorded in the migrations table run in order, then the rule table is
// created by gorm-adapter itself (AutoMigrate and its unique index), exactly
// as a stock adapter over this database would create it. Concurrent openers
// wait for each other (SQLite: the write lock; PostgreSQL: an advisory lock).
func (s *Store) migrate(ctx context.Context, prefix string) error {
	return s.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.d.postgres() {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockKey(s.t.migrations)).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec(`CREATE TABLE IF NOT EXISTS ` + s.t.migrations + ` (
			version     BIGINT PRIMARY KEY,
			name        TEXT NOT NULL,
			applied_sec BIGINT NOT NULL
		)`).Error; err != nil {
			return err
		}
		if !s.d.postgres() {
			// SQLite: take the write lock before reading, in case the
			// caller's database begins deferred transactions.
			if err := tx.Exec(`DELETE FROM ` + s.t.migrations + ` WHERE 1 = 0`).Error; err != nil {
				return err
			}
		}
		var applied []int64
		if err := tx.Raw(`SELECT version FROM ` + s.t.migrations + ` ORDER BY version`).Scan(&applied).Error; err != nil {
			return err
		}
		done := make(map[int64]bool, len(applied))
		for _, v := range applied {
			done[v] = true
		}
		if n := len(applied); n > 0 && applied[n-1] > migrations[len(migrations)-1].version {
			return crmaccess.Errorf(crmaccess.EINVALID,
				"storage: the database has schema version %d, newer than this library's %d",
				applied[n-1], migrations[len(migrations)-1].version)
		}
		// The rule table's name is not prefixed: it is the adapter's own,
		// created first, since migrations may write rules.
		if _, err := gormadapter.NewAdapterByDBUseTableName(tx, "", s.t.rules); err != nil {
			return fmt.Errorf("rule table %s: %w", s.t.rules, err)
		}
		for _, m := range migrations {
			if done[m.version] {
				continue
			}
			for _, stmt := range m.sql(s.t, s.d, prefix) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			if m.then != nil {
				if err := m.then(ctx, s, tx); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			if err := tx.Exec(`INSERT INTO `+s.t.migrations+` (version, name, applied_sec) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().Unix()).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// lockKey is the advisory lock that serializes the migrations of one set of
// tables on PostgreSQL.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("crmaccess:" + strings.ToLower(name)))
	return int64(h.Sum64())
}
