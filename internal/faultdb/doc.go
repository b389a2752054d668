// Package faultdb is a database/sql driver for tests: it wraps go-sqlite3
// and fails the k-th database call (BEGIN, PREPARE, an Exec, a Query, or
// COMMIT) with an injected error, so that a test can run a write path once
// for every call it makes and check that each failure leaves no trace.
//
// Each Injector registers its own driver name; open a *gorm.DB on it with
// gorm's SQLite dialector:
//
//	in := faultdb.New()
//	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: in.DriverName(), DSN: dsn}), cfg)
//	…
//	in.Count()             // count the calls of a clean run
//	n := in.Stop().Calls
//	in.FailAt(k)           // then fail the k-th call of the next run
//
// Calls are counted only between Count or FailAt and Stop, on every
// connection of the driver. An injected COMMIT failure rolls the transaction
// back first, as SQLite does when COMMIT fails with an I/O error, so the
// connection goes back to the pool clean.
package faultdb
