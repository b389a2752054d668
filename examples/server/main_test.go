package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`Listening on (http://\S+)`)

// server is one run of the program in this process.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	stop   func() int // cancels the run and returns its exit status
}

func start(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), s.stdout, s.stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listening.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("server exited with %d before listening:\n%s\n%s", code, s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not listen:\n%s\n%s", s.stdout, s.stderr)
		}
	}
	var once sync.Once
	var code int
	s.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *server) put(t *testing.T, path, token, body string) (int, http.Header, string) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPut, s.url+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const nadia = "33333333-3333-4333-8333-333333333333"

// TestDemoServerKeepsItsDataAcrossRestarts: the first start loads the demo
// portal and prints the tokens; both endpoints change access; a second
// start on the same file keeps the changes and the tokens.
func TestDemoServerKeepsItsDataAcrossRestarts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crmaccess.db")
	s := start(t, "-db", db)
	out := s.stdout.String()
	for _, want := range []string{"Loaded the demo portal", "24 contacts", "ada-token", "Ada Lovelace (admin)", "mike-token"} {
		if !strings.Contains(out, want) {
			t.Errorf("first start does not print %q:\n%s", want, out)
		}
	}

	code, _, body := s.put(t, "/api/2.0/crm/opportunity/1/access", "mike-token", `{"isPrivate":true,"accessList":["`+nadia+`"]}`)
	if code != 200 || !strings.Contains(body, `"isPrivate":true`) {
		t.Fatalf("opportunity: %d %s", code, body)
	}
	code, h, body := s.put(t, "/api/2.0/crm/contact/filter/access", "mike-token", `{"isPrivate":true,"tags":["vip"],"managerList":["`+nadia+`"]}`)
	if code != 200 {
		t.Fatalf("contacts: %d %s", code, body)
	}
	var answer struct {
		Count    int `json:"count"`
		Response []struct {
			ID int64 `json:"id"`
		} `json:"response"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatal(err)
	}
	// Six contacts are tagged vip; Litware Labs is private to Nadia, hidden
	// from Mike: he changes five, and the hidden one is not counted.
	if answer.Count != 5 || h.Get("X-Skipped-Count") != "0" {
		t.Fatalf("contacts: count %d, X-Skipped-Count %q; want 5 and 0", answer.Count, h.Get("X-Skipped-Count"))
	}
	if code, _, _ := s.put(t, "/api/2.0/crm/opportunity/1/access", "", `{}`); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _, _ := s.put(t, "/api/2.0/crm/opportunity/1/access", "forged", `{}`); code != 401 {
		t.Errorf("bad token: %d", code)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit status %d after shutdown", code)
	}
	if logs := s.stderr.String(); !strings.Contains(logs, "msg=request method=PUT path=/api/2.0/crm/opportunity/1/access status=200") ||
		!strings.Contains(logs, "msg=stopped") {
		t.Errorf("request logs or shutdown missing:\n%s", logs)
	}

	// Restart: same data, same tokens. Opportunity 1 is private to Mike and
	// Nadia now: Omar cannot see it.
	s = start(t, "-db", db)
	if out := s.stdout.String(); !strings.Contains(out, "Using the data already in") || !strings.Contains(out, "mike-token") {
		t.Errorf("second start:\n%s", out)
	}
	if code, _, body := s.put(t, "/api/2.0/crm/opportunity/1/access", "omar-token", `{}`); code != 404 {
		t.Errorf("omar after restart: %d %s", code, body)
	}
	code, _, body = s.put(t, "/api/2.0/crm/opportunity/1/access.xml", "nadia-token", `{}`)
	if code != 403 || !strings.HasPrefix(body, "<result>") {
		t.Errorf("nadia (on the list, not the creator) after restart: %d %s", code, body)
	}
	// Nadia now manages all six vip contacts.
	code, h, body = s.put(t, "/api/2.0/crm/contact/filter/access?count=1", "nadia-token", `{"isPrivate":true,"tags":["vip"],"managerList":["`+nadia+`"]}`)
	if code != 200 || !strings.Contains(body, `"total":6`) || h.Get("X-Skipped-Count") != "0" {
		t.Errorf("nadia manages the vip contacts after restart: %d %s", code, body)
	}
}

// TestFixturesFlag: -fixtures loads a file into an empty database and
// refuses a database that holds data, with exit status 1.
func TestFixturesFlag(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "small.json")
	err := os.WriteFile(fixture, []byte(`{
	  "users": [{"id": "99999999-9999-4999-8999-999999999999", "displayName": "Solo", "admin": true, "token": "solo-token"},
	            {"id": "88888888-8888-4888-8888-888888888888", "displayName": "Quiet"}],
	  "opportunities": [{"id": 1, "title": "Only deal", "createBy": "99999999-9999-4999-8999-999999999999"}]
	}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "fx.db")
	s := start(t, "-db", db, "-fixtures", fixture)
	out := s.stdout.String()
	if !strings.Contains(out, "Loaded "+fixture) || !strings.Contains(out, "solo-token") || !regexp.MustCompile(`[0-9a-f]{32}\s+Quiet`).MatchString(out) {
		t.Errorf("fixtures start:\n%s", out)
	}
	if code, _, body := s.put(t, "/api/2.0/crm/opportunity/1/access", "solo-token", `{}`); code != 200 || !strings.Contains(body, "Only deal") {
		t.Errorf("%d %s", code, body)
	}
	s.stop()

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", db, "-fixtures", fixture}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "already holds data") {
		t.Errorf("-fixtures on a database with data: exit %d, stderr %q", code, stderr.String())
	}
	// So does a demo database.
	demo := filepath.Join(dir, "demo.db")
	start(t, "-db", demo).stop()
	stderr.Reset()
	if code := run(context.Background(), []string{"-db", demo, "-fixtures", fixture}, &stdout, &stderr); code != 1 {
		t.Errorf("-fixtures on the demo database: exit %d", code)
	}
	// A broken fixture file is refused with its reason.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"users": [{"id": "not-a-guid"}]}`), 0o644)
	stderr.Reset()
	if code := run(context.Background(), []string{"-db", filepath.Join(dir, "new.db"), "-fixtures", bad}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "not a GUID") {
		t.Errorf("bad fixture: exit %d, %q", code, stderr.String())
	}
}

// TestBinaryStopsCleanlyOnSignals builds the program and stops it with
// SIGINT and SIGTERM: it exits 0 after a clean shutdown.
func TestBinaryStopsCleanlyOnSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "crmaccess.db"))
			stdout, _ := cmd.StdoutPipe()
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			url := ""
			for sc.Scan() {
				if m := listening.FindStringSubmatch(sc.Text()); m != nil {
					url = m[1]
					break
				}
			}
			go io.Copy(io.Discard, stdout)
			if url == "" {
				cmd.Process.Kill()
				t.Fatalf("no listening line; stderr:\n%s", stderr.String())
			}
			resp, err := http.Get(url + "/")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET /: %v %v", resp, err)
			}
			resp.Body.Close()
			cmd.Process.Signal(sig)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit after %v: %v\n%s", sig, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "msg=stopped") {
				t.Errorf("no clean shutdown logged:\n%s", stderr.String())
			}
		})
	}
}
