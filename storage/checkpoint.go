package storage

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// The checkpointer of a database Open opened. SQLite in WAL mode appends
// every commit to the write-ahead log, and by default the connection whose
// COMMIT takes the log past 1,000 pages copies the log back into the
// database file before COMMIT returns (the auto-checkpoint): a large write,
// such as the removal of a user on thousands of lists, paid for that copy
// and its fsync inside its own latency. Open's connections turn the
// auto-checkpoint off (PRAGMA wal_autocheckpoint=0, set on every
// connection as it is opened), and the Store checkpoints from a goroutine
// of its own after writes instead: PASSIVE, which copies what it can
// without waiting for readers or writers and never blocks one, at most
// once per checkpointInterval.
//
// Crash safety is the WAL's and does not change: a committed transaction is
// in the log, which SQLite replays when it next opens the database; the
// checkpoint only moves committed pages into the database file. The log is
// reset (written again from its start) by the first write after a
// checkpoint that copied all of it. Closing the Store stops the goroutine,
// and closing the database's last connection checkpoints whatever is left.
//
// A database the caller opened (New) keeps its own settings: the Store does
// not change its connections, so SQLite's auto-checkpoint still runs there.

// sqliteDriver is the go-sqlite3 driver Open uses: go-sqlite3's, with the
// auto-checkpoint turned off on each new connection.
const sqliteDriver = "crmaccess_sqlite3"

var registerDriver sync.Once

func registerSQLiteDriver() {
	registerDriver.Do(func() {
		sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil)
			return err
		}})
	})
}

// checkpointInterval is the shortest time between two checkpoints. A page
// written again and again (the last page of the log and change tables and
// of their indexes, a record changed often) is copied into the database
// once a checkpoint, whatever the number of commits that wrote it: under
// 16 concurrent HTTP writers, checkpoints every 50 ms took p99 latency to
// 9.5–12.6 ms (4 runs), every second to 8.8–9.1 ms (2 runs). The log then
// holds up to a second of writes.
const checkpointInterval = time.Second

// checkpointer runs PASSIVE checkpoints on db when written is called.
type checkpointer struct {
	db      *sql.DB
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.run()
	return c
}

// written notes that a write committed; it never waits.
func (c *checkpointer) written() {
	select {
	case c.wake <- struct{}{}:
	default: // a checkpoint is due already
	}
}

func (c *checkpointer) run() {
	defer close(c.stopped)
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		// An error (the database busy or closing) leaves the pages in the
		// log for the next checkpoint, or for the last connection's close.
		_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointInterval):
		}
	}
}

// close stops the goroutine and waits for it.
func (c *checkpointer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.stopped
}
