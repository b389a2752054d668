package crmaccess_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// commitDropper is a TCP proxy in front of PostgreSQL that, when armed,
// lets the next COMMIT through to the server and closes the client's side
// before the server's answer can reach it: the transaction commits, and
// the client never hears so.
type commitDropper struct {
	ln     net.Listener
	target string

	armed   atomic.Bool
	mu      sync.Mutex
	answers []string // the server's answers to the dropped COMMITs
	conns   sync.WaitGroup
}

func newCommitDropper(t *testing.T, target string) *commitDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitDropper{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			go p.pipe(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *commitDropper) port() uint16 { return uint16(p.ln.Addr().(*net.TCPAddr).Port) }

// dropped returns the server's answers to the COMMITs dropped so far,
// waiting a little for at least n: the client may hear of the closed
// connection before the proxy has read the server's answer.
func (p *commitDropper) dropped(n int) []string {
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		answers := append([]string(nil), p.answers...)
		p.mu.Unlock()
		if len(answers) >= n || time.Now().After(wait) {
			return answers
		}
	}
}

// pipe forwards one connection, reading the client's stream message by
// message to find a COMMIT.
func (p *commitDropper) pipe(client net.Conn) {
	defer p.conns.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	var dropping atomic.Bool
	answered := make(chan struct{})
	go func() { // server → client
		defer close(answered)
		buf := make([]byte, 32<<10)
		var swallowed []byte
		for {
			n, err := server.Read(buf)
			if dropping.Load() {
				// The COMMIT's answer: kept for the test, never forwarded.
				swallowed = append(swallowed, buf[:n]...)
				if bytes.Contains(swallowed, []byte("Z\x00\x00\x00\x05")) || err != nil {
					p.mu.Lock()
					p.answers = append(p.answers, string(swallowed))
					p.mu.Unlock()
					break
				}
				continue
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		client.Close()
		server.Close()
	}()
	r := bufio.NewReader(client)
	startup := true
	statements := map[string]string{} // prepared on this connection: name → text
	for {
		msg, err := readFrontendMessage(r, startup)
		if err != nil {
			break
		}
		if startup {
			// Untyped messages until the startup message (protocol 3.0);
			// an SSL or GSS request comes before it.
			startup = binary.BigEndian.Uint32(msg[4:8]) != 196608
		} else if isCommit(msg, statements) && p.armed.CompareAndSwap(true, false) {
			dropping.Store(true)
			// An extended-protocol COMMIT runs at the Sync that follows
			// it (in a pipeline, behind the write): forward up to it.
			for msg[0] != 'Q' && msg[0] != 'S' {
				if _, err := server.Write(msg); err != nil {
					break
				}
				if msg, err = readFrontendMessage(r, false); err != nil {
					break
				}
			}
			// The client's side closes once the answer is in (swallowed):
			// closed sooner, the client's driver may cancel the statements
			// still running, the COMMIT with them.
			if _, err := server.Write(msg); err != nil {
				break
			}
			<-answered
			return
		}
		if _, err := server.Write(msg); err != nil {
			break
		}
	}
	client.Close()
	server.Close()
	<-answered
}

// readFrontendMessage reads one whole message of the client: in the
// startup phase a length and a body, afterwards a type byte, a length and
// a body.
func readFrontendMessage(r *bufio.Reader, startup bool) ([]byte, error) {
	var head []byte
	if !startup {
		t, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		head = []byte{t}
	}
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size < 4 || size > 1<<30 {
		return nil, fmt.Errorf("message length %d", size)
	}
	msg := make([]byte, len(head)+int(size))
	copy(msg, head)
	copy(msg[len(head):], n[:])
	if _, err := io.ReadFull(r, msg[len(head)+4:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// isCommit reports whether msg runs COMMIT: a simple query (Q) whose text
// is COMMIT, or a bind (B) of a statement whose text is (prepared by an
// earlier parse, P, named or not, which statements records).
func isCommit(msg []byte, statements map[string]string) bool {
	var text []byte
	switch msg[0] {
	case 'Q':
		text = msg[5:]
	case 'P':
		name, rest, ok := bytes.Cut(msg[5:], []byte{0})
		if ok {
			query, _, _ := bytes.Cut(rest, []byte{0})
			statements[string(name)] = string(query)
		}
		return false
	case 'B':
		_, rest, ok := bytes.Cut(msg[5:], []byte{0}) // the portal's name
		if !ok {
			return false
		}
		name, _, _ := bytes.Cut(rest, []byte{0})
		text = []byte(statements[string(name)])
	default:
		return false
	}
	text, _, _ = bytes.Cut(text, []byte{0})
	stmt := strings.TrimRight(strings.TrimSpace(string(text)), "; \t\n")
	return strings.EqualFold(stmt, "commit") || strings.EqualFold(stmt, "commit transaction")
}

// TestLostCommitAnswer makes a write whose COMMIT reaches PostgreSQL and
// commits, but whose answer the client never hears (SPEC §8.5), through
// a proxy in front of the server. The instance that wrote (not following
// the log in the background, so that only the write's own recovery can
// help it) then decides on the committed state; retrying the same request
// succeeds and writes nothing new; a second instance, connected directly,
// agrees given the write's token.
func TestLostCommitAnswer(t *testing.T) {
	dsn := postgresDSN(t)
	place := testportal.NewStore(t, testportal.PostgreSQL)
	direct, opts := place.Gorm(t), place.Tables
	other := serviceOver(t, place.OpenOn(t, direct))
	if _, err := other.Import(context.Background(), portalFixture(t)); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCommitDropper(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	// The proxy reads the protocol: no TLS, and no fallback around it.
	cfg.Host, cfg.Port, cfg.TLSConfig, cfg.Fallbacks = "127.0.0.1", proxy.port(), nil, nil
	proxied := gormOver(t, cfg)
	writer := serviceWith(t, place.OpenOn(t, proxied), &crmaccess.Options{PollInterval: -1})

	for _, tc := range []struct {
		name  string
		write func(ctx context.Context) (crmaccess.Token, error)
		// what the write changes: a decision, and the change records of
		// its subject
		user    string
		ref     crmaccess.Ref
		action  crmaccess.Action
		changes func(ctx context.Context) ([]crmaccess.Change, error)
	}{{
		name: "revoke admin",
		write: func(ctx context.Context) (crmaccess.Token, error) {
			return writer.RevokeAdmin(ctx, admin, admin)
		},
		// Opportunity 2 is private; the admin is neither on its list nor
		// its creator or responsible user.
		user: admin, ref: crmaccess.OpportunityRef(2), action: read,
		changes: func(ctx context.Context) ([]crmaccess.Change, error) { return other.AdminChanges(ctx, admin) },
	}, {
		name: "make an opportunity private",
		write: func(ctx context.Context) (crmaccess.Token, error) {
			res, err := writer.SetOpportunityAccess(ctx, alice, 1, true, []string{carol})
			if err != nil {
				return "", err
			}
			return res.Token, nil
		},
		// Opportunity 1 is public; dave has no other way in.
		user: dave, ref: crmaccess.OpportunityRef(1), action: read,
		changes: func(ctx context.Context) ([]crmaccess.Change, error) {
			return other.Changes(ctx, crmaccess.OpportunityRef(1))
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if !mustCheck(t, writer, tc.user, tc.ref, tc.action).Allowed {
				t.Fatalf("%s may not %s %s before the write: the case tests nothing", tc.user, tc.action, tc.ref)
			}
			before, err := tc.changes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			headBefore := logHead(t, direct, opts)
			lost := len(proxy.dropped(0))

			proxy.armed.Store(true)
			tok, err := tc.write(ctx)
			answers := proxy.dropped(lost + 1)
			if proxy.armed.Load() || len(answers) != lost+1 {
				t.Fatal("the proxy dropped no COMMIT: the case tests nothing")
			}
			if answer := answers[lost]; !strings.Contains(answer, "COMMIT\x00") {
				t.Fatalf("the server's answer to the dropped COMMIT is %q, not a commit", answer)
			}
			// The commit happened: the log holds one entry more.
			head := logHead(t, direct, opts)
			if head != headBefore+1 {
				t.Fatalf("the log's head went from %d to %d, want one entry", headBefore, head)
			}
			// The storage reports the lost answer as EUNAVAILABLE; the
			// Service catches up from the log inside the writer lock and
			// decides again, finds the change already made, writes nothing
			// and answers with its position. So the first call already
			// succeeds, with the committed write's token.
			want := crmaccess.Token(fmt.Sprint("p", head))
			if err != nil {
				t.Errorf("the write whose COMMIT answer was lost: %v", err)
			} else if tok != want {
				t.Errorf("the write answered %s, want the committed entry's %s", tok, want)
			}

			// The next decision of the instance that wrote is on the
			// committed state, without a token.
			if mustCheck(t, writer, tc.user, tc.ref, tc.action).Allowed {
				t.Errorf("after the lost COMMIT answer, the writing instance still lets %s %s %s", tc.user, tc.action, tc.ref)
			}
			// So is the other instance's, given the token.
			if d, err := other.Check(crmaccess.WithToken(ctx, want), tc.user, tc.ref, tc.action); err != nil || d.Allowed {
				t.Errorf("the direct instance given %s decides %+v, %v", want, d, err)
			}

			// Retrying the same request succeeds and writes nothing new.
			again, err := tc.write(ctx)
			if err != nil {
				t.Errorf("retrying the write: %v", err)
			}
			if again != want || logHead(t, direct, opts) != head {
				t.Errorf("the retry answered %s with the log at %d; want %s and no new entry", again, logHead(t, direct, opts), want)
			}
			after, err := tc.changes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before)+1 {
				t.Errorf("%d change records after the write and its retry, want %d (one)", len(after), len(before)+1)
			}
			if mustCheck(t, writer, tc.user, tc.ref, tc.action).Allowed {
				t.Errorf("after the retry, the writing instance lets %s %s %s", tc.user, tc.action, tc.ref)
			}
		})
	}
}

// logHead reads the newest position of the log directly.
func logHead(t *testing.T, db *gorm.DB, opts *storage.Options) int64 {
	t.Helper()
	var head int64
	if err := db.Raw(`SELECT COALESCE(MAX(seq), 0) FROM ` + opts.TablePrefix + `log`).Scan(&head).Error; err != nil {
		t.Fatal(err)
	}
	return head
}
