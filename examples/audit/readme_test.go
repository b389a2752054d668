package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReadmeAudit replays the README's ```shell blocks of the section on
// examples/audit on a fresh demo database, and checks that each prints
// what the README shows (stderr, then stdout, then the "exit status N"
// line go run adds when the status is not 0).
func TestReadmeAudit(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "\n## Auditing access")
	if start < 0 {
		t.Fatal("README has no section on auditing access")
	}
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	blocks := regexp.MustCompile("(?s)```shell\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) != 4 {
		t.Fatalf("the section has %d shell blocks, want 4", len(blocks))
	}

	db := filepath.Join(t.TempDir(), "demo.db")
	t.Chdir(filepath.Join("..", "..")) // the README runs in the repository's root
	const prefix = "$ go run ./examples/audit "
	for _, block := range blocks {
		command, want, _ := strings.Cut(block[1], "\n")
		if !strings.HasPrefix(command, prefix) {
			t.Fatalf("block %q does not start with %q", command, prefix)
		}
		args := strings.Fields(strings.TrimPrefix(command, prefix))
		for i, a := range args {
			if a == "demo.db" {
				args[i] = db
			}
		}
		r := runAudit(t, args...)
		got := r.stderr + r.stdout
		if r.code != 0 {
			got += "exit status " + strconv.Itoa(r.code) + "\n"
		}
		got = strings.ReplaceAll(got, db, "demo.db")
		if got != want {
			t.Errorf("%s\nprinted:\n%s\nthe README shows:\n%s", command, got, want)
		}
	}
}
