package storage_test

import (
	"os"
	"path/filepath"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess/storage"
)

// A connection opened with SQLiteDSN has the settings Open relies on, also
// on a path that must be escaped in a URI.
func TestSQLiteDSNSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?#%")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "crm.db")
	db, err := gorm.Open(sqlite.Open(storage.SQLiteDSN(path)), quiet())
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, db)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "10000",
		"foreign_keys": "1",
		"synchronous":  "1", // NORMAL
	} {
		var got string
		if err := db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at its path: %v", err)
	}
}
