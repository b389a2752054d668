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
package storage
