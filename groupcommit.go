package crmaccess

import (
	"context"
	"errors"
	"runtime"
	"slices"
)

// Group commit. Writes of one instance wait for each other: each holds the
// store's writer lock from its decision to its commit. Writes that decide
// on different records need not: concurrent ones are committed together,
// in one transaction of the store (GroupUpdater), each decided in turn on
// the state the ones before it leave and each its own log entry and
// token. A write joins a group only when the records it names are not
// those of a write before it in the group, and only the writes whose
// decision reads memory for the records they name (and for users, which
// no grouped write changes) are grouped: so deciding on memory as it was
// before the group is deciding on the state the writes before it leave.
// A group that fails leaves no trace, and its writes are then made one at
// a time, as update makes them.

// maxGroup is the most writes committed together.
const maxGroup = 64

// groupedWrite is a write waiting in the queue of its instance.
type groupedWrite struct {
	ctx   context.Context
	actor string
	refs  []Ref // the records it decides on
	build func(ctx context.Context, tx Reader) (*Batch, error)

	// Set before done is closed, when the write is made or refused.
	done  chan struct{}
	token Token
	err   error
}

// errDeferred makes a write of a group wait for the next one: it changes
// a record a write before it in the group changed.
var errDeferred = errors.New("crmaccess: the write changes a record of an earlier write of its group")

// errNotGroupable leaves a write to be made alone: it changes a user.
var errNotGroupable = errors.New("crmaccess: the write changes a user")

// errGroupFailed leaves a write of a group to be made alone: a write
// before it in the group failed.
var errGroupFailed = errors.New("crmaccess: an earlier write of the group failed")

// errGroupMemory means memory moved during a group, which cannot happen
// while the group holds the writer lock; the group's writes are then made
// one at a time.
var errGroupMemory = errors.New("crmaccess: memory moved during a group commit")

// updateGrouped is update for a write that decides on the records refs
// only (and on users): it joins the writes of this instance waiting for
// the writer lock, and is committed with them.
//
// Whoever holds writeMu drains the queue before letting it go (the
// leader): a queued write waits for its outcome, not for the lock, so
// that it is free to go as soon as its group committed, and the writes
// that come meanwhile wait together for the next group.
func (s *Service) updateGrouped(ctx context.Context, actor string, refs []Ref, build func(ctx context.Context, tx Reader) (*Batch, error)) (Token, error) {
	if _, ok := s.store.(GroupUpdater); s.hostTx != nil || !ok {
		return s.update(ctx, actor, build)
	}
	w := &groupedWrite{ctx: ctx, actor: actor, refs: refs, build: build, done: make(chan struct{})}
	s.groupMu.Lock()
	s.queue = append(s.queue, w)
	s.groupMu.Unlock()
	for {
		if s.writeMu.TryLock() {
			s.releaseWriter()
		}
		// Else the holder of writeMu commits the queue, or hands it on,
		// when it lets go.
		select {
		case <-w.done:
			return w.token, w.err
		case <-s.handoff:
		}
	}
}

// yieldsBeforeAlone is how often a holder of writeMu lets other
// goroutines run before it commits one write alone while writers are busy
// (row 7 of the harness, 16 HTTP clients on SQLite: 4,835/s without,
// 5,382/s with, one run after the other; in process 138 against 120 µs a
// request, medians of 3 alternated runs).
const yieldsBeforeAlone = 3

// maxLeadRounds is how many groups a holder of writeMu commits before it
// hands the rest of the queue on to a waiting writer: its own caller
// waits meanwhile.
const maxLeadRounds = 4

// releaseWriter lets writeMu go, held by the caller, after committing the
// writes queued meanwhile (at most maxLeadRounds groups, then the rest is
// handed on). A write queued after the last look finds the lock free, or
// held by one who looks again.
func (s *Service) releaseWriter() {
	g, _ := s.store.(GroupUpdater)
	for {
		for round := 0; g != nil && round < maxLeadRounds && s.queued() > 0; round++ {
			s.commitGroup(g)
		}
		s.writeMu.Unlock()
		if s.queued() == 0 {
			return
		}
		if !s.writeMu.TryLock() {
			return // its holder looks again when it lets go
		}
		if g != nil && s.queued() > 0 {
			// Hand on: a waiting writer takes the lock; this caller goes.
			s.writeMu.Unlock()
			select {
			case s.handoff <- struct{}{}:
			default: // one is on its way already
			}
			return
		}
	}
}

// queued is how many writes wait in the queue.
func (s *Service) queued() int {
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	return len(s.queue)
}

// takeGroup removes from the queue the writes of the next group: the
// oldest first, then each one whose records no write taken before it
// names, up to maxGroup. Writes whose context ended are finished.
func (s *Service) takeGroup() []*groupedWrite {
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	var group []*groupedWrite
	taken := make(map[Ref]bool)
	rest := s.queue[:0]
	for _, w := range s.queue {
		if err := w.ctx.Err(); err != nil {
			w.err = Internal(err)
			close(w.done)
			continue
		}
		if len(group) == maxGroup || anyRef(taken, w.refs) {
			rest = append(rest, w)
			continue
		}
		for _, r := range w.refs {
			taken[r] = true
		}
		group = append(group, w)
	}
	clear(s.queue[len(rest):])
	s.queue = rest
	return group
}

func anyRef(set map[Ref]bool, refs []Ref) bool {
	for _, r := range refs {
		if set[r] {
			return true
		}
	}
	return false
}

// finish hands a write its outcome.
func (s *Service) finish(w *groupedWrite, tok Token, err error) {
	w.token, w.err = tok, err
	close(w.done)
}

// commitGroup makes the writes of the next group (writeMu held): alone
// as update does when it is one write, else in one transaction of g,
// under the context of its first write.
func (s *Service) commitGroup(g GroupUpdater) {
	if s.queued() == 1 && s.lastGroup.Load() > 1 {
		// One write waits, and the last group held several: writers are
		// busy, and others are likely a moment from their write. Let them
		// run first and come along, rather than commit this one alone.
		for range yieldsBeforeAlone {
			runtime.Gosched()
		}
	}
	group := s.takeGroup()
	busy := s.lastGroup.Swap(int64(len(group))) > 1
	switch len(group) {
	case 0:
		return
	case 1:
		// Made ahead of the writer lock (ahead.go) unless writers are
		// busy: a write of one round trip leaves the writes coming
		// meanwhile less time to gather into the next group, and groups
		// carry more writes a second (row 7 of the harness, PostgreSQL, 16
		// HTTP clients: 3,374 and 2,758/s before writes were made ahead;
		// 2,282 and 2,154/s with every lone write made ahead).
		w := group[0]
		tok, err := s.updateLockedAfter(w.ctx, w.actor, w.build, nil, !busy)
		s.finish(w, tok, err)
		return
	}
	var head0 int64
	started, caught, failed := false, false, false
	var pre Reader // tx with the group's records read at once
	batches := make([]*Batch, len(group))
	refused := make([]error, len(group))
	changed := make(map[Ref]bool)
	builds := make([]BuildFunc, len(group))
	for i, w := range group {
		builds[i] = func(ctx context.Context, tx Reader, head int64) (b *Batch, err error) {
			if failed {
				return nil, errGroupFailed
			}
			defer func() {
				// A failure (not a refusal) leaves this write and the
				// ones after it to be made alone, in order.
				if err != nil && err != errDeferred && (refused[i] == nil || !refusal(err)) {
					failed = true
				}
			}()
			if !started {
				// The first build brings memory to the committed head.
				started = true
				if err := s.catchUpTo(ctx, tx, head); err != nil {
					return nil, err
				}
				head0, caught = head, true
				if pre, err = s.prefetch(ctx, tx, group); err != nil {
					return nil, err
				}
			} else if !caught || s.applied.Load() != head0 {
				return nil, errGroupMemory
			}
			if err := w.ctx.Err(); err != nil {
				return nil, err
			}
			if anyRef(changed, w.refs) {
				return nil, errDeferred
			}
			var ref error
			b, ref, err = s.decideOnMemory(ctx, pre, w.actor, w.build)
			if err != nil || b == nil {
				refused[i] = ref
				return nil, err
			}
			for _, c := range b.Changes {
				switch {
				case c.Entity == (Ref{}):
					// A change of a user: not a write for a group.
					return nil, errNotGroupable
				case changed[c.Entity]:
					// A record an earlier write changed: not decided on
					// the state before it.
					return nil, errDeferred
				}
			}
			for _, c := range b.Changes {
				changed[c.Entity] = true
			}
			if s.ownPending.Load() == 0 {
				s.ownPending.Store(head0 + 1)
			}
			batches[i] = b
			return b, nil
		}
	}
	positions, errs, err := g.UpdateGroup(groupContext(group), builds)
	if err != nil {
		// Nothing was written, or the commit's outcome is unknown: memory
		// catches up before the next decision, and each write is made
		// alone (deciding again on the state it then finds).
		s.ownPending.Store(0)
		s.stale.Store(true)
		// The group's batches were written in order from head0+1: each
		// write first looks for its entry there (updateLockedAfter).
		next := head0 + 1
		for i, w := range group {
			var lost *sentWrite
			if caught && batches[i] != nil {
				lost = &sentWrite{pos: next, b: batches[i]}
				next++
			}
			tok, err := s.updateLockedAfter(w.ctx, w.actor, w.build, lost, false)
			s.finish(w, tok, err)
		}
		return
	}
	s.applyOwnGroup(positions, batches, errs)
	s.ownPending.Store(0)
	var again, alone []*groupedWrite
	for i, w := range group {
		switch err := errs[i]; {
		case err == nil:
			if batches[i] != nil {
				s.groupedWrites.Add(1)
			}
			s.finish(w, positionToken(positions[i]), nil)
		case err == errDeferred:
			again = append(again, w)
		case refused[i] != nil && err == refused[i] && refusal(err):
			s.finish(w, "", err)
		default:
			// A failure, not a decision: made alone, with update's
			// retries.
			alone = append(alone, w)
		}
	}
	if len(again) > 0 {
		s.groupMu.Lock()
		s.queue = append(again, s.queue...)
		s.groupMu.Unlock()
	}
	for _, w := range alone {
		tok, err := s.updateLockedAfter(w.ctx, w.actor, w.build, nil, false)
		s.finish(w, tok, err)
	}
}

// groupContext is the context a group's transaction runs with: the first
// write's, naming the records every write of the group reads (Reads), so
// that a Store may read them all with the writer lock.
func groupContext(group []*groupedWrite) context.Context {
	var all Reads
	for _, w := range group {
		if r, ok := ReadsOf(w.ctx); ok {
			all.Opportunities = append(all.Opportunities, r.Opportunities...)
			all.Contacts = append(all.Contacts, r.Contacts...)
			all.Stages = append(all.Stages, r.Stages...)
		}
	}
	return WithReads(group[0].ctx, all)
}

// applyOwnGroup applies the entries a group committed, in order, as
// applyOwn does one.
func (s *Service) applyOwnGroup(positions []int64, batches []*Batch, errs []error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	for i, b := range batches {
		if b == nil || errs[i] != nil {
			continue
		}
		s.applyOwnLocked(positions[i], b)
	}
}

// prefetch reads at once, through tx, the opportunities a group decides
// on, and returns tx answering for them from what it read. No write of
// the group changes the records of another, so each reads them as they
// are before the group.
func (s *Service) prefetch(ctx context.Context, tx Reader, group []*groupedWrite) (Reader, error) {
	var ids []int64
	for _, w := range group {
		for _, r := range w.refs {
			if r.Kind == KindOpportunity {
				ids = append(ids, r.ID)
			}
		}
	}
	if len(ids) < 2 {
		return tx, nil
	}
	found, err := s.readerFor(tx).Opportunities(ctx, ids)
	if err != nil {
		return nil, err
	}
	p := &prefetched{Reader: tx, opportunities: make(map[int64]*Opportunity, len(ids))}
	for _, id := range ids {
		p.opportunities[id] = nil // missing unless found
	}
	for i := range found {
		p.opportunities[found[i].ID] = &found[i]
	}
	return p, nil
}

// prefetched is a Reader whose Opportunity answers for the opportunities
// read before (nil: missing).
type prefetched struct {
	Reader
	opportunities map[int64]*Opportunity
}

func (p *prefetched) Opportunity(ctx context.Context, id int64) (*Opportunity, error) {
	o, ok := p.opportunities[id]
	switch {
	case !ok:
		return p.Reader.Opportunity(ctx, id)
	case o == nil:
		return nil, Errorf(ENOTFOUND, "opportunity %d not found", id)
	}
	c := *o
	c.Members, c.Tags, c.AccessList = slices.Clone(o.Members), slices.Clone(o.Tags), slices.Clone(o.AccessList)
	return &c, nil
}
