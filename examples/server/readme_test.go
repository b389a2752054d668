package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// consoleBlocks returns the ```console blocks of the README: each one's
// command (the "$ " line and its continuations) and the output after it.
func consoleBlocks(t *testing.T) (commands, outputs []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```console\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		lines := strings.Split(strings.TrimSuffix(m[1], "\n"), "\n")
		i := 0
		for i < len(lines) && (strings.HasPrefix(lines[i], "$ ") || (i > 0 && strings.HasSuffix(lines[i-1], `\`))) {
			i++
		}
		commands = append(commands, strings.Join(lines[:i], "\n"))
		outputs = append(outputs, strings.Join(lines[i:], "\n"))
	}
	return commands, outputs
}

// TestReadmeQuickStart replays the README's quick start against a fresh demo
// server and checks that every answer is the one the README prints.
func TestReadmeQuickStart(t *testing.T) {
	commands, outputs := consoleBlocks(t)
	type step struct {
		command     string // a fragment of the README's command
		path, token string
		contentType string
		body        string
		skipped     bool // the README prints X-Skipped-Count after the body
	}
	steps := []step{
		{command: "opportunity/1/access", path: "/api/2.0/crm/opportunity/1/access", token: "mike-token", contentType: "application/json",
			body: `{"isPrivate": true, "accessList": ["33333333-3333-4333-8333-333333333333"]}`},
		{command: "omar-token", path: "/api/2.0/crm/opportunity/1/access", token: "omar-token"},
		{command: `"tags": ["competitor"]`, path: "/api/2.0/crm/contact/filter/access", token: "ada-token", contentType: "application/json",
			body: `{"isPrivate": true, "tags": ["competitor"], "managerList": ["22222222-2222-4222-8222-222222222222"]}`},
		{command: "access.xml", path: "/api/2.0/crm/contact/filter/access.xml", token: "mike-token", contentType: "application/x-www-form-urlencoded",
			body: "isPrivate=false&tags=vip&contactListView=company", skipped: true},
	}
	if len(commands) != len(steps)+1 {
		t.Fatalf("README has %d console blocks, want %d", len(commands), len(steps)+1)
	}

	t.Chdir(t.TempDir()) // the README runs with the default -db
	s := start(t)

	if !strings.HasPrefix(commands[0], "$ go run ./examples/server") {
		t.Fatalf("first block: %q", commands[0])
	}
	got := listening.ReplaceAllString(strings.TrimSuffix(s.stdout.String(), "\n"), "Listening on http://127.0.0.1:8080")
	if got != outputs[0] {
		t.Errorf("the README's start-up output differs:\n got:\n%s\nwant:\n%s", got, outputs[0])
	}
	for i, st := range steps {
		if !strings.Contains(commands[i+1], st.command) {
			t.Fatalf("block %d is not the expected command %q:\n%s", i+1, st.command, commands[i+1])
		}
		r, _ := http.NewRequest(http.MethodPut, s.url+st.path, strings.NewReader(st.body))
		r.Header.Set("Authorization", "Bearer "+st.token)
		if st.contentType != "" {
			r.Header.Set("Content-Type", st.contentType)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		answer := strings.TrimSuffix(string(body), "\n")
		if st.skipped {
			answer += "\nX-Skipped-Count: " + resp.Header.Get("X-Skipped-Count")
		}
		if answer != outputs[i+1] {
			t.Errorf("README block %d: the answer differs:\n got: %s\nwant: %s", i+1, answer, outputs[i+1])
		}
	}
}
