// Package dbdump reads every row of every table of a SQLite file, for tests
// that compare two states of a database exactly: the records, the rules,
// the change records, the AUTOINCREMENT counters and the schema itself.
package dbdump
