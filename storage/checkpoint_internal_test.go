package storage

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// Open's connections do not checkpoint on COMMIT (checkpoint.go), and the
// Store's goroutine moves a committed write into the database file soon
// after: the file read alone, without its write-ahead log, holds it.
func TestOpenCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crm.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Every connection of the pool, not only the first.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = s.db.Conn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		var pages int
		if err := c.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if pages != 0 {
			t.Errorf("connection %d: wal_autocheckpoint = %d, want 0", i, pages)
		}
		c.Close()
	}

	const id = "aaaaaaaa-0000-4000-8000-00000000000c"
	if err := s.Commit(ctx, &crmaccess.Batch{Kind: crmaccess.EntryRecord,
		Users: []crmaccess.User{{ID: id, DisplayName: "Cleo", Status: crmaccess.UserActive}}}); err != nil {
		t.Fatal(err)
	}
	// immutable=1 reads the database file as it is, ignoring the log; such
	// a connection caches what it read, so each look opens a new one.
	inFile := func() (int, error) {
		file, err := sql.Open(sqliteDriver, "file:"+path+"?immutable=1&mode=ro")
		if err != nil {
			return 0, err
		}
		defer file.Close()
		var n int
		err = file.QueryRowContext(ctx, "SELECT count(*) FROM "+s.t.users+" WHERE id = ?", id).Scan(&n)
		return n, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := inFile()
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the committed user is not in the database file 10 s later (count %d, %v)", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A database the caller opened keeps SQLite's auto-checkpoint: New does
// not change its connections.
func TestNewKeepsTheCallersCheckpointSetting(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "crm.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ckpt == nil {
		t.Fatal("Open's Store has no checkpointer")
	}
	other, err := New(ctx, s.gdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.ckpt != nil {
		t.Error("New started a checkpointer on the caller's database")
	}
}
