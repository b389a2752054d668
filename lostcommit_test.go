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
	ahead   []bool   // whether each was a write made ahead of the lock (its COMMIT the Sync of an implicit transaction)
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
		} else if commit, ahead := isCommit(msg, statements); commit && p.armed.CompareAndSwap(true, false) {
			p.mu.Lock()
			p.ahead = append(p.ahead, ahead)
			p.mu.Unlock()
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
// earlier parse, P, named or not, which statements records); or, ahead,
// whether it begins a write decided ahead of the writer lock, which
// commits at the Sync that ends its pipeline (the bind of the statement
// taking the advisory lock).
func isCommit(msg []byte, statements map[string]string) (commit, ahead bool) {
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
		return false, false
	case 'B':
		_, rest, ok := bytes.Cut(msg[5:], []byte{0}) // the portal's name
		if !ok {
			return false, false
		}
		name, _, _ := bytes.Cut(rest, []byte{0})
		text = []byte(statements[string(name)])
		if strings.Contains(string(text), "pg_advisory_xact_lock(") {
			return true, true
		}
	default:
		return false, false
	}
	text, _, _ = bytes.Cut(text, []byte{0})
	stmt := strings.TrimRight(strings.TrimSpace(string(text)), "; \t\n")
	return strings.EqualFold(stmt, "commit") || strings.EqualFold(stmt, "commit transaction"), false
}

// TestLostCommitAnswer makes a write whose COMMIT reaches PostgreSQL and
// commits, but whose answer the client never hears (SPEC §8.5), through
// a proxy in front of the server. The instance that wrote (not following
// the log in the background, so that only the write's own recovery can
// help it) then decides on the committed state, and the write succeeds with
// the committed entry's token (it finds its entry in the log: recovery.go),
// whichever way it went: step by step, as one statement with its COMMIT,
// decided ahead of the writer lock, or committed in a group; retrying the
// same request writes nothing new; a second instance, connected directly,
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
	// underLock decides every write under the writer lock.
	underLock := serviceWith(t, noAhead{place.OpenOn(t, proxied)}, &crmaccess.Options{PollInterval: -1})

	for _, tc := range []struct {
		name  string
		write func(ctx context.Context) (crmaccess.Token, error)
		// what the write changes: a decision, and the change records of
		// its subject
		user    string
		ref     crmaccess.Ref
		action  crmaccess.Action
		changes func(ctx context.Context) ([]crmaccess.Change, error)
		// grants: the write lets user do action (else it stops them)
		grants bool
		// ahead: the write is decided ahead of the writer lock, and
		// commits at its pipeline's Sync (ahead.go)
		ahead bool
		// retry is the error code of the same request made again, once
		// the first has succeeded ("": it succeeds, writing nothing)
		retry string
		// by is the instance that writes (nil: writer)
		by *crmaccess.Service
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
			if res.Title != "Hotel catalogue" || !res.IsPrivate {
				// The row it shows came back with the write, or was read
				// once its entry was found.
				return "", fmt.Errorf("the answer shows %+v", res.Opportunity)
			}
			return res.Token, nil
		},
		// Opportunity 1 is public; dave has no other way in. The write
		// reads its row back with the write (ahead.go).
		user: dave, ref: crmaccess.OpportunityRef(1), action: read, ahead: true,
		changes: func(ctx context.Context) ([]crmaccess.Change, error) {
			return other.Changes(ctx, crmaccess.OpportunityRef(1))
		},
	}, {
		name: "create an opportunity",
		write: func(ctx context.Context) (crmaccess.Token, error) {
			res, err := writer.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Title: "new", ContactID: 1, StageID: 30}, true, []string{dave})
			if err != nil {
				return "", err
			}
			return res.Token, nil
		},
		user: dave, ref: crmaccess.OpportunityRef(10), action: read, grants: true, ahead: true, retry: crmaccess.ECONFLICT,
		changes: func(ctx context.Context) ([]crmaccess.Change, error) {
			return other.Changes(ctx, crmaccess.OpportunityRef(10))
		},
	}, {
		name: "delete it",
		write: func(ctx context.Context) (crmaccess.Token, error) {
			return writer.DeleteOpportunity(ctx, alice, 10)
		},
		user: dave, ref: crmaccess.OpportunityRef(10), action: read, ahead: true, retry: crmaccess.ENOTFOUND,
		changes: func(ctx context.Context) ([]crmaccess.Change, error) {
			return other.Changes(ctx, crmaccess.OpportunityRef(10))
		},
	}, {
		name: "make opportunity 1 public again, decided under the lock",
		write: func(ctx context.Context) (crmaccess.Token, error) {
			res, err := underLock.SetOpportunityAccess(ctx, alice, 1, false, nil)
			if err != nil {
				return "", err
			}
			return res.Token, nil
		},
		// One statement sent with its COMMIT (pgcommit.go).
		user: dave, ref: crmaccess.OpportunityRef(1), action: read, grants: true, by: underLock,
		changes: func(ctx context.Context) ([]crmaccess.Change, error) {
			return other.Changes(ctx, crmaccess.OpportunityRef(1))
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			writer := writer
			if tc.by != nil {
				writer = tc.by
			}
			// The instance that writes holds the committed state first
			// (it follows nothing in the background).
			if err := writer.WaitFor(ctx, crmaccess.Token(fmt.Sprint("p", logHead(t, direct, opts)))); err != nil {
				t.Fatal(err)
			}
			if mustCheck(t, writer, tc.user, tc.ref, tc.action).Allowed == tc.grants {
				t.Fatalf("%s may already (or may not yet) %s %s before the write: the case tests nothing", tc.user, tc.action, tc.ref)
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
			proxy.mu.Lock()
			ahead := proxy.ahead[lost]
			proxy.mu.Unlock()
			if ahead != tc.ahead {
				t.Fatalf("the write made ahead of the lock: %v, want %v", ahead, tc.ahead)
			}
			// A COMMIT answers COMMIT; the Sync ending an implicit
			// transaction, the server idle after it (the log's head
			// below shows what committed).
			if answer := answers[lost]; !strings.Contains(answer, "COMMIT\x00") && !(ahead && strings.HasSuffix(answer, "Z\x00\x00\x00\x05I")) {
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
			if mustCheck(t, writer, tc.user, tc.ref, tc.action).Allowed != tc.grants {
				t.Errorf("after the lost COMMIT answer, the writing instance decides for %s %s %s as before the write", tc.user, tc.action, tc.ref)
			}
			// So is the other instance's, given the token.
			if d, err := other.Check(crmaccess.WithToken(ctx, want), tc.user, tc.ref, tc.action); err != nil || d.Allowed != tc.grants {
				t.Errorf("the direct instance given %s decides %+v, %v", want, d, err)
			}

			// Retrying the same request writes nothing new: it succeeds
			// with the same token, or (a create, a delete: the request
			// was made) is refused.
			again, err := tc.write(ctx)
			if crmaccess.ErrorCode(err) != tc.retry {
				t.Errorf("retrying the write: %v, want code %q", err, tc.retry)
			}
			if tc.retry == "" && again != want || logHead(t, direct, opts) != head {
				t.Errorf("the retry answered %s with the log at %d; want %s and no new entry", again, logHead(t, direct, opts), want)
			}
			after, err := tc.changes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before)+1 {
				t.Errorf("%d change records after the write and its retry, want %d (one)", len(after), len(before)+1)
			}
			if mustCheck(t, writer, tc.user, tc.ref, tc.action).Allowed != tc.grants {
				t.Errorf("after the retry, the writing instance decides for %s %s %s as before the write", tc.user, tc.action, tc.ref)
			}
		})
	}

	// Two creates committed together (group commit), the answer to their
	// one COMMIT lost: each finds its own entry, and succeeds with its
	// token.
	t.Run("two creates committed together", func(t *testing.T) {
		headBefore := logHead(t, direct, opts)
		lost := len(proxy.dropped(0))
		create := func(id int64) func(ctx context.Context, s *crmaccess.Service) (string, error) {
			return func(ctx context.Context, s *crmaccess.Service) (string, error) {
				res, err := s.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: id, Title: "together"}, true, []string{dave})
				if err != nil {
					return "", err
				}
				return string(res.Token), nil
			}
		}
		grouped := crmaccess.GroupedWrites(writer)
		proxy.armed.Store(true)
		out := writeTogether(t, writer, []groupWrite{{do: create(20)}, {do: create(21)}})
		if answers := proxy.dropped(lost + 1); proxy.armed.Load() || len(answers) != lost+1 {
			t.Fatal("the proxy dropped no COMMIT: the case tests nothing")
		}
		head := logHead(t, direct, opts)
		if head != headBefore+2 {
			t.Fatalf("the log's head went from %d to %d, want two entries", headBefore, head)
		}
		for i, o := range out {
			want := fmt.Sprint("p", headBefore+1+int64(i))
			if o.err != nil || o.text != want {
				t.Errorf("create %d of the group: %q, %v; want %s", i, o.text, o.err, want)
			}
		}
		if crmaccess.GroupedWrites(writer) != grouped {
			t.Error("a write of the lost group counted as committed in the group")
		}
		for _, id := range []int64{20, 21} {
			if !mustCheck(t, writer, dave, crmaccess.OpportunityRef(id), read).Allowed {
				t.Errorf("dave, listed, may not read opportunity %d after its create", id)
			}
		}
	})
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
