// Package storage keeps crmaccess records, access rules and change records
// in a SQL database through GORM: SQLite by default (Open), or any SQLite or
// PostgreSQL *gorm.DB the caller owns (New). *Store implements
// crmaccess.Store and passes the storagetest conformance suite.
//
// # Tables
//
// The store's tables share a prefix (Options.TablePrefix, default "crm_"):
// users, stages, contacts, contact_tags, opportunities, opportunity_members,
// changes, and schema_migrations, the versioned migrations that run when a
// store opens. The access rules live in gorm-adapter's table
// (Options.RuleTable, default "casbin_rule"), created by gorm-adapter
// itself, so a stock Casbin enforcer with gorm-adapter over the same
// database loads the same lines. A rule (ptype, v0, v1) is the line
// (ptype, v0, v1, "", "", "", "").
//
// On PostgreSQL the contacts table fills its pages half (fillfactor 50):
// a bulk change of share types then rewrites each row within its page
// and adds nothing to the table's indexes. The change records' index by
// user holds the changes of users only.
//
// Lists (accessList, managerList) are rules, not columns: records read back
// with empty lists. Times are stored as Unix seconds and nanoseconds, exact
// over Go's whole range, and read back in UTC; the zero time reads back as
// the zero time. A contact's tags keep their order and their text; they are
// matched on crmaccess.NormalizeTag, computed in Go.
//
// # Writes
//
// Commit writes a crmaccess.Batch in one transaction with multi-row
// statements sized to stay under SQLite's 32,766 bound variables, and
// translates errors once: a unique violation, a removed rule that is not
// stored or an update of a missing record is ECONFLICT; anything else,
// a cancelled context included, is EINTERNAL.
//
// On PostgreSQL a write begins with one call (schema v7's function
// <prefix>lock_head) that takes the writer lock and reads the head of the
// log; over pgx's database/sql driver it is sent in one message with the
// BEGIN of the write's transaction (see pgwrite.go). Over pgx, a group of
// small writes goes as one prepared statement of arrays, the same text
// for every size (pgarrays.go), and a part of a large write longer than one
// statement goes as COPY (rules added, change records) or as one
// statement over arrays (rules removed, privacy and share updates: see
// bulk.go). On SQLite, the change records of a filter call bind the
// columns they share once a statement (bulk_sqlite.go). A host whose pgx
// connections use the simple query protocol (no prepared statements, as
// behind a transaction pooler) goes the same ways: pgx then sends a
// pipeline as one query of several statements.
//
// UpdateGroup (crmaccess.GroupUpdater) writes several writes of one
// instance in one transaction, each its own log entry; over pgx their
// batches go as one statement when no two touch the same record or rule.
//
// UpdateAhead (crmaccess.AheadUpdater) writes a batch a Service decided
// before taking the writer lock, over pgx, in one round trip: the writer
// lock (the advisory lock itself) and the write's one statement, in one
// implicit transaction committed at the pipeline's Sync. The statement
// checks, on the state the lock grants, that the log's head is the one the
// write was decided at and that the records it took as present or absent
// are; if not, or if the server refuses anything, nothing is written and
// UpdateAhead answers crmaccess.ErrNotAsExpected (see pgexpect.go). The
// rows of the opportunities a write's answer shows are read between the
// lock and the write, in the same round trip. On SQLite, and on PostgreSQL
// through another driver, WritesAhead is false.
//
// # SQLite checkpoints
//
// The connections of a database Open opens do not checkpoint the
// write-ahead log when a COMMIT takes it past 1,000 pages (SQLite's
// auto-checkpoint, which made that COMMIT wait for the copy): the Store
// checkpoints from a goroutine of its own after writes, PASSIVE (never
// waiting for, nor blocking, a reader or a writer), at most once a second,
// until Close. Durability is unchanged: a committed write is in the log,
// which SQLite replays on the next open. A database passed to New keeps
// its own connections' settings.
package storage
