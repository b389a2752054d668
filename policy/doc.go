// Package policy keeps crmaccess's access rules as Casbin policies: the
// embedded model (model.conf), the translation of a record's privacy, lists,
// creator and responsible user and of the admin role into grouping lines and
// back, and an in-memory Engine that answers checks from them.
//
// Every grant is a grouping line with the record first ("g, opportunity:7,
// USER"), and p stays empty, so a check follows one record's few links
// instead of scanning every line. The lines are stored in gorm-adapter's
// table by the storage package; a stock Casbin enforcer loading that table
// with Model() gives the same decisions as the Engine.
//
// No Casbin type crosses this package's API: rules are crmaccess.Rule.
package policy
