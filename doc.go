// Package crmaccess keeps record-level access control for CRM opportunities
// and contacts, as ONLYOFFICE CRM defines it.
//
// A record is public or private. A private opportunity is open to the users
// on its accessList, its creator, its responsible user and the admins; a
// contact's ShareType (None, ReadWrite, Read) and managerList decide who may
// read and edit it. The Service changes access (SetOpportunityAccess,
// SetContactsAccess), answers checks with a reason in CRM terms (Check),
// grants and revokes the admin role, loads data sets (Import, Upsert) and keeps an
// audit trail of every change (Changes, AdminChanges).
//
// This package is the vocabulary and the rules: entities, the contact
// filter, errors and the service. It depends on nothing but the standard
// library. What it needs comes through two interfaces, implemented by
// subpackages:
//
//   - Store, by storage: GORM persistence (SQLite by default, PostgreSQL
//     with the same code) of the records, the policy lines in gorm-adapter's
//     table, and the change records.
//   - Authorizer, by policy: the Casbin model, the translation of access into
//     policy lines and back, and the in-memory checks.
//
// httpadapter serves the two ONLYOFFICE endpoints on top of a Service.
//
// Every write commits the records, the policy lines and a change record in
// one transaction, and only then updates memory: a failed write leaves both
// as they were. Every error carries a code (EINVALID, EUNAUTHORIZED,
// EFORBIDDEN, ENOTFOUND, ECONFLICT, EINTERNAL): test it with ErrorCode.
package crmaccess
