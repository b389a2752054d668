package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerSetsTimeouts: the http.Server of the program sets every
// timeout, so that a slow or idle client cannot hold a connection (and a
// goroutine) for ever. The fields are read from the source, since the
// server lives inside run.
func TestServerSetsTimeouts(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		sel, ok := lit.Type.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Server" {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "http" {
			return true
		}
		found++
		set := map[string]string{}
		for _, e := range lit.Elts {
			kv := e.(*ast.KeyValueExpr)
			val := ""
			ast.Inspect(kv.Value, func(n ast.Node) bool {
				if b, ok := n.(*ast.BasicLit); ok {
					val += b.Value
				}
				return true
			})
			set[kv.Key.(*ast.Ident).Name] = val
		}
		for _, field := range []string{"ReadHeaderTimeout", "ReadTimeout", "WriteTimeout", "IdleTimeout"} {
			v, ok := set[field]
			if !ok || v == "" || strings.Trim(v, "0") == "" {
				t.Errorf("http.Server does not set %s (%q)", field, v)
			}
		}
		return true
	})
	if found != 1 {
		t.Fatalf("found %d http.Server literals in main.go, want 1", found)
	}
}

// TestSlowClientIsCutOff: a client that sends part of its request headers
// and then nothing is disconnected once the header timeout passes.
func TestSlowClientIsCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the header timeout (5 s)")
	}
	t.Parallel()
	s := start(t, "-db", filepath.Join(t.TempDir(), "crm.db"))
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("PUT /api/2.0/crm/contact/filter/access HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			break // closed by the server (or the 30 s deadline, caught below)
		}
	}
	waited := time.Since(begin)
	if waited > 15*time.Second {
		t.Errorf("a client that stopped sending its headers was kept for %v", waited)
	}
	t.Logf("a slow client was cut off after %v", waited.Round(10*time.Millisecond))
}
