package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// TestSelftest runs the program's request sequence to completion: the
// host's own route and the CRM endpoints answer side by side, with the
// host's authentication.
func TestSelftest(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-selftest"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"GET /accounts -> 200\ngrace@example.com\nalan@example.com\n",
		"PUT /api/2.0/crm/opportunity/1/access.xml -> 200\n<result><count>1</count>",
		`"isPrivate":true,"accessList":[{"id":"aaaaaaaa-1111-4111-8111-111111111111"`,
		"-> 403\n" + `{"status":1,"statusCode":403,`,
		"-> 401\n" + `{"status":1,"statusCode":401,`,
		// The host's deal and crmaccess's opportunity, one transaction:
		// alan reads what grace's transaction made private to them both.
		"POST /deals -> 200\nok\nGET /api/2.0/crm/opportunity/2 -> 200\n",
		`"title":"Analytical engine","description"`,
		// Rolled back on purpose: no opportunity.
		"POST /deals -> 409\nrolled back",
		"GET /api/2.0/crm/opportunity/3 -> 404\n",
		// Deleted in the host's transaction: gone.
		"DELETE /deals/2 -> 200\nok\nGET /api/2.0/crm/opportunity/2 -> 404\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// lockedBuffer is written by the server goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHostAndCRMTablesShareTheDatabase: after a run, the host's table and
// crmaccess's prefixed tables live in the same file.
func TestHostAndCRMTablesShareTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.db")
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-db", path, "-addr", "127.0.0.1:0"}, out, &lockedBuffer{}) }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "Listening on"); {
		if time.Now().After(deadline) {
			t.Fatal("did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}

	db, err := gorm.Open(sqlite.Open(path), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	tables, err := db.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tables, "accounts") {
		t.Errorf("the host's table is missing: %v", tables)
	}
	crm := 0
	for _, name := range tables {
		if strings.HasPrefix(name, "crm_") {
			crm++
		}
	}
	if crm == 0 {
		t.Errorf("no crm_ tables beside the host's: %v", tables)
	}
	var n int64
	if err := db.Model(&Account{}).Count(&n).Error; err != nil || n != 2 {
		t.Errorf("accounts: %d, %v", n, err)
	}
}
