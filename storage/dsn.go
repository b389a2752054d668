package storage

import "net/url"

// sqliteParams are the connection parameters of every SQLite connection
// crmaccess opens (go-sqlite3 names): WAL lets readers run beside the
// writer; the busy timeout makes a writer wait for another instead of
// failing; immediate transactions take the write lock at BEGIN, so a
// transaction never fails upgrading from read to write; foreign keys are
// enforced; synchronous NORMAL is durable in WAL mode except for the last
// commits before a power loss. The page cache may grow to 64 MiB a
// connection (SQLite's default is 2 MiB), enough for the index pages a
// large write (the removal of a user from 10,000 lists) touches; SQLite
// takes the memory only as pages are read, and a connection empties its
// cache whenever another one has written.
const sqliteParams = "_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=on&_synchronous=NORMAL&_cache_size=-65536"

// SQLiteDSN is the go-sqlite3 connection string Open uses for the database
// file at path: a "file:" URI with the path escaped and the parameters
// above. Open a *gorm.DB of your own with it (sqlite.Open(SQLiteDSN(path)))
// to share the file with a Store on the same settings. The string ends with
// its query parameters, so more can be appended after "&".
func SQLiteDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + sqliteParams
}
