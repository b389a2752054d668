package crmaccess

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Service keeps record-level access for opportunities and contacts. The
// database is the source of truth; the Service's memory (its Authorizer) is
// a cache of the rules, changed only by applying the store's change log, in
// order, whichever process wrote.
//
// A write runs inside the store's writer lock: it first brings memory up to
// the committed head of the log, decides and computes its diff there, then
// commits records, rules and its log entry in one transaction, and applies
// that entry. Concurrent writes of one instance on different records may
// share one transaction (group commit: groupcommit.go), each still its own
// entry. Where the store can (AheadUpdater), a write of one record is first
// decided on memory as it stands and sent with the lock in one round trip,
// committed only if, under the lock, the head is memory's position and the
// records it looked up are as it took them: so it too is decided on the
// committed state (ahead.go). Checks read memory only, unless asked for a state fresher
// than memory holds (WithToken) or memory may be behind a write whose
// outcome is unknown; then they first catch up from the log.
//
// Any number of Services may share one database, in one process or many;
// each follows the log in the background (Options.PollInterval, and a
// wake-up where the store is a Notifier). Close stops following.
//
// InTransaction returns a view of the Service whose one write joins a
// transaction of the host's.
type Service struct {
	*instance
	// store is where this view reads records and writes: the instance's
	// store, or a host's transaction (InTransaction).
	store Store
	// hostTx is set on a view whose write joins a host's transaction:
	// memory follows that write from the log once the host commits it.
	hostTx *hostTransaction
}

// hostTransaction is the state of a view over a host's transaction.
type hostTransaction struct {
	used atomic.Bool // it made its one write
}

// instance is what the views of one Service share: memory and how it
// follows the log.
type instance struct {
	base    Store // the store memory follows, never a host's transaction
	auth    Authorizer
	now     func() time.Time
	maxList int

	// dir keeps users and stages read (directory.go).
	dir directory

	// groupMu guards queue, the writes waiting to be committed together
	// (groupcommit.go).
	groupMu sync.Mutex
	queue   []*groupedWrite
	// handoff wakes a queued writer to take writeMu and commit the queue.
	handoff chan struct{}
	// groupedWrites counts the writes committed in groups of more than
	// one, for tests.
	groupedWrites atomic.Int64
	// lastGroup is how many writes the last group took.
	lastGroup atomic.Int64
	// aheadWrites counts the writes committed as decided ahead of the
	// writer lock (ahead.go), aheadMissed those whose store was not as
	// decided on, and were made the usual way: for tests.
	aheadWrites, aheadMissed atomic.Int64

	// writeMu lets one write of this instance at a time wait for the
	// store's writer lock.
	writeMu sync.Mutex

	// applyMu makes one goroutine at a time apply the log to memory.
	applyMu sync.Mutex
	// applied is the log position memory holds.
	applied atomic.Int64
	// stale is set when memory may be behind the database (a write whose
	// commit failed may have committed; following failed): the next
	// decision catches up first.
	stale atomic.Bool
	// ownPending is the position of a write of this instance between its
	// commit and its applyOwn (0: none): the follower leaves that entry to
	// the writer instead of reading it back from the database.
	ownPending atomic.Int64
	// advanced is closed, and replaced, whenever applied grows.
	advancedMu sync.Mutex
	advanced   chan struct{}

	stopFollowing context.CancelFunc
	following     sync.WaitGroup
}

// DefaultPollInterval is how often a Service looks for others' writes in
// the log when its store sends no wake-ups.
const DefaultPollInterval = 10 * time.Millisecond

// DefaultNotifiedPollInterval is how often it looks when the store also
// wakes it up (a Notifier): polling is then only the fallback.
const DefaultNotifiedPollInterval = 250 * time.Millisecond

// Options configures a Service; nil means the defaults.
type Options struct {
	// Now is the clock of change records; nil is time.Now.
	Now func() time.Time
	// PollInterval is how often the Service reads the log for others'
	// writes; 0 is DefaultPollInterval, or DefaultNotifiedPollInterval when
	// the store is a Notifier. Negative: do not follow in the background
	// (writes and fresh reads still catch up).
	PollInterval time.Duration
	// MaxListLength caps an access or manager list; 0 is
	// DefaultMaxListLength.
	MaxListLength int
}

// DefaultMaxListLength is the longest access or manager list accepted.
const DefaultMaxListLength = 1000

// cancelCheckEvery is how many contacts a long loop handles between two
// looks at its context.
const cancelCheckEvery = 4096

// loadChunk is how many stored rules are handed to the Authorizer at once.
const loadChunk = 10_000

// NewService loads the rules of the store's committed state into auth,
// then follows the change log from that state's position until Close.
// It fails with EINVALID when the store holds a rule auth does not know, or
// EINTERNAL.
func NewService(ctx context.Context, store Store, auth Authorizer, opts *Options) (*Service, error) {
	s := &Service{store: store, instance: &instance{base: store, auth: auth, now: time.Now,
		maxList: DefaultMaxListLength, advanced: make(chan struct{}), handoff: make(chan struct{}, 1)}}
	var poll time.Duration
	if opts != nil {
		if opts.Now != nil {
			s.now = opts.Now
		}
		poll = opts.PollInterval
		if opts.MaxListLength > 0 {
			s.maxList = opts.MaxListLength
		}
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	if poll < 0 {
		return s, nil
	}
	followCtx, stop := context.WithCancel(context.Background())
	s.stopFollowing = stop
	var wake <-chan int64
	if notifier, ok := store.(Notifier); ok {
		ch, err := notifier.Notify(followCtx)
		if err != nil {
			stop()
			return nil, Internal(err)
		}
		wake = ch
	}
	if poll == 0 {
		// Polling is only the fallback where the store wakes the follower.
		poll = DefaultPollInterval
		if wake != nil {
			poll = DefaultNotifiedPollInterval
		}
	}
	s.following.Add(1)
	go s.follow(followCtx, poll, wake)
	return s, nil
}

// InTransaction returns a view of s whose writes join a transaction of the
// host's: tx is a Store bound to it (storage.Store.InTx). The view makes one
// write: it takes the writer lock inside the host's transaction (other
// writers wait until the host commits or rolls back), decides on the
// committed state, and writes its records, rules and log entry without
// committing. Memory is not changed: once the host commits, every
// instance, this one included, applies the entry from the log; rolled
// back, it leaves no trace. The write's token names that entry, for
// read-your-writes after the commit (WaitFor). Checks and reads of the
// view answer from the shared memory, as s does.
func (s *Service) InTransaction(tx Store) *Service {
	return &Service{instance: s.instance, store: tx, hostTx: &hostTransaction{}}
}

// Close stops following the log. The Service still answers afterwards,
// from memory as it was, and writes still work; Close does not close the
// store.
func (s *Service) Close() error {
	if s.stopFollowing != nil {
		s.stopFollowing()
		s.following.Wait()
	}
	return nil
}

// maxWriteAttempts bounds how often a write is tried when the database is
// busy or the outcome of a commit was lost.
const maxWriteAttempts = 8

// update runs one write. build runs inside the store's writer lock, with
// memory brought up to the committed head: it decides from memory (and
// reads records through tx) and returns the batch to write, or nil. The
// batch's rule changes are derived here from its change records, the same
// way every instance applies them from the log. The write is tried again,
// from a fresh state, while the store reports EUNAVAILABLE (a busy
// database, a lost commit) and ctx allows.
func (s *Service) update(ctx context.Context, actor string, build func(ctx context.Context, tx Reader) (*Batch, error)) (Token, error) {
	if s.hostTx != nil {
		return s.updateInHostTransaction(ctx, actor, build)
	}
	s.writeMu.Lock()
	defer s.releaseWriter() // and commits the grouped writes queued meanwhile
	return s.updateLocked(ctx, actor, build)
}

// updateLocked is update with writeMu held: decided ahead of the lock
// when it can be (writeAhead), else, or when the store was not as
// expected, inside it.
func (s *Service) updateLocked(ctx context.Context, actor string, build func(ctx context.Context, tx Reader) (*Batch, error)) (Token, error) {
	return s.updateLockedAfter(ctx, actor, build, nil, true)
}

// updateLockedAfter is updateLocked for a write that may have committed
// already: lost, sent by a try whose commit failed (nil: none), and that
// is made ahead of the lock only when ahead allows. Each try
// after one whose commit failed first looks in the log for the entry it
// sent (committedAs): found, the write is done, at that position, and the
// request succeeds as it would have, rather than being decided again on
// the state it left (a create would find its own record, and conflict).
func (s *Service) updateLockedAfter(ctx context.Context, actor string, build func(ctx context.Context, tx Reader) (*Batch, error), lost *sentWrite, ahead bool) (Token, error) {
	backoff := time.Millisecond
	reloaded := false
	if lost == nil && ahead {
		tok, done, sent, err := s.writeAhead(ctx, actor, build)
		if done {
			return tok, nil
		}
		if err != nil {
			lost = sent
			if err := s.afterFailedTry(ctx, err, sent != nil && !sent.b.RequireEmpty, &reloaded, 1, &backoff); err != nil {
				return "", err
			}
		}
	}
	for attempt := 1; ; attempt++ {
		var written *Batch
		var writtenAt, done int64
		var refused error
		pos, err := s.store.Update(ctx, func(ctx context.Context, tx Reader, head int64) (*Batch, error) {
			if lost != nil {
				if err := s.catchUpTo(ctx, tx, head); err != nil {
					return nil, err
				}
				mine, err := committedAs(ctx, tx, head, lost)
				if err != nil {
					return nil, err
				}
				if mine {
					if len(lost.rows) > 0 {
						// The rows its answer shows, which did not come
						// back with it.
						found, err := tx.Opportunities(ctx, rowIDs(lost.rows))
						if err != nil {
							return nil, Internal(err)
						}
						if err := fillRows(lost.rows, found); err != nil {
							return nil, err
						}
					}
					done = lost.pos
					return nil, nil
				}
				lost = nil // not committed: decided again
			}
			var b *Batch
			var err error
			b, refused, err = s.decide(ctx, tx, head, actor, build)
			if written = b; b != nil {
				writtenAt = head + 1
				s.ownPending.Store(writtenAt)
			}
			return b, err
		})
		if err == nil {
			if written != nil {
				s.applyOwn(pos, written)
			}
			s.ownPending.Store(0)
			if done != 0 {
				return positionToken(done), nil
			}
			return positionToken(pos), nil
		}
		s.ownPending.Store(0)
		if refused != nil && err == refused && refusal(err) {
			// The write decided not to happen (a refusal, not a failure):
			// nothing was written and memory is as fresh as it was.
			return "", err
		}
		if written != nil {
			lost = &sentWrite{pos: writtenAt, b: written}
		}
		if err := s.afterFailedTry(ctx, err, written != nil && !written.RequireEmpty, &reloaded, attempt, &backoff); err != nil {
			return "", err
		}
	}
}

// afterFailedTry is what a write does after a try that failed (not one it
// refused): the commit may have happened, or memory may have been caught
// up only partly, so memory catches up before the next decision. A
// conflict of a try that wrote rules (wroteRules) means the rules memory
// derived the diff from are not the stored ones (something wrote them
// without the log): memory reloads the whole state once and the write
// decides again. It returns the error to give up with, or nil after the
// backoff to try again.
func (s *Service) afterFailedTry(ctx context.Context, err error, wroteRules bool, reloaded *bool, attempt int, backoff *time.Duration) error {
	s.stale.Store(true)
	code := ErrorCode(err)
	retry := code == EUNAVAILABLE
	if code == ECONFLICT && wroteRules && !*reloaded {
		if err := s.reload(ctx); err != nil {
			return err
		}
		*reloaded, retry = true, true
	}
	if !retry || attempt == maxWriteAttempts || ctx.Err() != nil {
		if refusal(err) || code == EUNAVAILABLE {
			return err
		}
		return Internal(err)
	}
	select {
	case <-ctx.Done():
		return Internal(ctx.Err())
	case <-time.After(*backoff):
	}
	*backoff = min(2**backoff, 100*time.Millisecond)
	return nil
}

// refusal reports whether err is a write's decision not to happen, as
// opposed to a failure (a read that failed, a busy database).
func refusal(err error) bool {
	switch ErrorCode(err) {
	case EINVALID, ENOTFOUND, EFORBIDDEN, EUNAUTHORIZED, ECONFLICT:
		return true
	}
	return false
}

// decide is a write's work inside the writer lock: memory brought up to
// head, the actor checked, build's batch with its rule diff (the same
// ruleDiff every instance applies from the log) and its time. refused is
// set (and returned as err too) when the write decided not to happen.
func (s *Service) decide(ctx context.Context, tx Reader, head int64, actor string,
	build func(ctx context.Context, tx Reader) (*Batch, error)) (b *Batch, refused, err error) {
	if err := s.catchUpTo(ctx, tx, head); err != nil {
		return nil, nil, err
	}
	return s.decideOnMemory(ctx, tx, actor, build)
}

// decideOnMemory is decide once memory holds the state to decide on.
func (s *Service) decideOnMemory(ctx context.Context, tx Reader, actor string,
	build func(ctx context.Context, tx Reader) (*Batch, error)) (b *Batch, refused, err error) {
	if actor != "" {
		if err := s.activeActor(actor); err != nil {
			return nil, err, err
		}
	}
	// Memory holds the committed head: the directory answers for it.
	if b, err = build(ctx, s.readerFor(tx)); err != nil || b == nil {
		return nil, err, err
	}
	b.RemoveRules, b.AddRules = ruleDiff(s.auth, b.Changes)
	if b.At.IsZero() {
		b.At = s.now()
	}
	return b, nil, nil
}

// updateInHostTransaction is update's one try inside a host's transaction:
// memory is left to the log, since the host may yet roll back.
func (s *Service) updateInHostTransaction(ctx context.Context, actor string, build func(ctx context.Context, tx Reader) (*Batch, error)) (Token, error) {
	if !s.hostTx.used.CompareAndSwap(false, true) {
		return "", Errorf(EINVALID, "a host's transaction takes one crmaccess write: commit it, then write again")
	}
	pos, err := s.store.Update(ctx, func(ctx context.Context, tx Reader, head int64) (*Batch, error) {
		// The head must be committed: an entry only this transaction sees
		// is another write of the host's, which memory cannot decide on.
		// Memory holding it proves it committed; else the log outside the
		// transaction must show it.
		committed := head <= s.applied.Load()
		if !committed {
			if err := s.base.Log(ctx, head-1, func(*LogEntry) error { committed = true; return nil }); err != nil {
				return nil, err
			}
		}
		if !committed {
			return nil, Errorf(EINVALID, "a host's transaction takes one crmaccess write: commit it, then write again")
		}
		b, _, err := s.decide(ctx, tx, head, actor, build)
		return b, err
	})
	if err != nil {
		if refusal(err) || ErrorCode(err) == EUNAVAILABLE {
			return "", err
		}
		return "", Internal(err)
	}
	return positionToken(pos), nil
}

// errMemoryAhead means memory holds a position the store has not reached:
// it was loaded from another database, or the log was rewritten.
var errMemoryAhead = errors.New("crmaccess: memory is ahead of the store's log")
