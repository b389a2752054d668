// Package storagetest is the conformance suite of crmaccess.Store: every
// backend (the storage package on SQLite and PostgreSQL, or a user's own
// store) passes it in one line:
//
//	func TestStore(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) crmaccess.Store { return newMyStore(t) })
//	}
//
// RunWithOptions tunes the suite: Options.LargeBatch sizes its large batches,
// for a store configured to write a few rows a statement.
package storagetest
