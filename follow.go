package crmaccess

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// follow reads the log every poll, or when wake says it grew, until ctx
// ends. An error leaves memory as it was and marks it stale (catchUp), so
// that the next decision catches up itself and reports what fails; the
// next round tries again.
func (s *Service) follow(ctx context.Context, poll time.Duration, wake <-chan int64) {
	defer s.following.Done()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case pos := <-wake:
			if pos > 0 && pos <= s.applied.Load() && !s.stale.Load() {
				continue // this instance's own write, or one it already holds
			}
		}
		if own := s.ownPending.Load(); own != 0 && own == s.applied.Load()+1 {
			continue // this instance's write, committing: its writer applies it
		}
		_ = s.catchUp(ctx, s.base) // a failure marks memory stale

	}
}

// fresh makes memory fit for a decision made with ctx: at least as fresh as
// the token ctx carries, and caught up after a write of unknown outcome. It
// reads the store only when memory may be behind.
//
// Errors: EINVALID (a malformed token), EUNAVAILABLE (the state was not
// reached before ctx ended), EINTERNAL.
func (s *Service) fresh(ctx context.Context) error {
	want, err := wantedPosition(ctx)
	if err != nil {
		return err
	}
	if !s.stale.Load() && s.applied.Load() >= want {
		return nil
	}
	for {
		if err := s.catchUp(ctx, s.base); err != nil {
			if ctx.Err() != nil {
				return Errorf(EUNAVAILABLE, "the requested state was not reached in time")
			}
			return Internal(err)
		}
		if s.applied.Load() >= want {
			return nil
		}
		// The write that returned the token committed before the token was
		// handed out, so the log holds it: wait for the next look.
		s.advancedMu.Lock()
		advanced := s.advanced
		s.advancedMu.Unlock()
		select {
		case <-ctx.Done():
			return Errorf(EUNAVAILABLE, "the requested state (%d) was not reached in time (at %d)", want, s.applied.Load())
		case <-advanced:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// catchUp applies the entries of the log after memory's position, read
// through r. A gap or an entry that does not fit memory makes it reload the
// whole state.
func (s *Service) catchUp(ctx context.Context, r Reader) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.catchUpLocked(ctx, r)
}

func (s *Service) catchUpLocked(ctx context.Context, r Reader) error {
	// Cleared before reading: a failure noticed meanwhile sets it again.
	s.stale.Store(false)
	err := r.Log(ctx, s.applied.Load(), s.applyLocked)
	if err == errDiverged {
		err = s.reloadLocked(ctx)
	}
	if err != nil {
		s.stale.Store(true)
	}
	return err
}

// catchUpTo brings memory to head, the committed position a write holds
// the writer lock at, reading through the write's transaction.
func (s *Service) catchUpTo(ctx context.Context, tx Reader, head int64) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.applied.Load() != head || s.stale.Load() {
		if err := s.catchUpLocked(ctx, tx); err != nil {
			return err
		}
	}
	if got := s.applied.Load(); got > head {
		return fmt.Errorf("%w (memory at %d, log at %d)", errMemoryAhead, got, head)
	} else if got < head {
		return fmt.Errorf("crmaccess: the log ends at %d, before its head %d", got, head)
	}
	return nil
}

// applyOwn applies the entry this instance just committed, with the rule
// diff its write derived from the entry's changes (the same ruleDiff a
// follower computes; its before-states were memory's own, just read under
// the writer lock), unless the follower got there first.
func (s *Service) applyOwn(pos int64, b *Batch) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.applyOwnLocked(pos, b)
}

// applyOwnLocked is applyOwn with applyMu held.
func (s *Service) applyOwnLocked(pos int64, b *Batch) {
	switch at := s.applied.Load(); {
	case at >= pos:
	case at == pos-1:
		if err := s.auth.Apply(b.RemoveRules, b.AddRules); err != nil {
			s.stale.Store(true)
			return
		}
		s.advance(pos, b.Kind)
	default:
		// Cannot happen while writes catch up under the writer lock; be
		// safe all the same.
		s.stale.Store(true)
	}
}

// errDiverged means the log does not fit memory: an entry is missing, or a
// change's before-state is not what memory holds.
var errDiverged = fmt.Errorf("crmaccess: memory does not fit the change log")

// applyLocked applies one log entry to memory, all of it visible at once.
func (s *Service) applyLocked(e *LogEntry) error {
	if e.Position != s.applied.Load()+1 {
		return errDiverged
	}
	// Each record's and user's first change must start from what memory
	// holds.
	seenRecords, seenUsers := make(map[Ref]bool), make(map[string]bool)
	for i := range e.Changes {
		c := &e.Changes[i]
		switch {
		case c.Entity == (Ref{}):
			if !seenUsers[c.User] && (s.auth.IsAdmin(c.User) != c.Before.Admin || s.auth.UserStatus(c.User) != c.Before.Status) {
				return errDiverged
			}
			seenUsers[c.User] = true
		case !seenRecords[c.Entity]:
			seenRecords[c.Entity] = true
			if !sameRules(stateRules(s.auth, c, s.auth.Access(c.Entity)), stateRules(s.auth, c, c.Before)) {
				return errDiverged
			}
		}
	}
	remove, add := ruleDiff(s.auth, e.Changes)
	if err := s.auth.Apply(remove, add); err != nil {
		return err
	}
	s.advance(e.Position, e.Kind)
	return nil
}

// advance records that memory holds pos, reached by an entry of kind
// ("": a reload), and wakes the waiters. Any entry but one of access may
// have changed users or stages: the directory is dropped.
func (s *Service) advance(pos int64, kind EntryKind) {
	if kind != EntryAccess {
		s.dir.drop()
	}
	s.applied.Store(pos)
	s.advancedMu.Lock()
	close(s.advanced)
	s.advanced = make(chan struct{})
	s.advancedMu.Unlock()
}

// reload replaces memory with a snapshot of the store's rules.
func (s *Service) reload(ctx context.Context) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.reloadLocked(ctx)
}

func (s *Service) reloadLocked(ctx context.Context) error {
	var pos int64
	err := s.auth.Replace(func(add func([]Rule) error) error {
		chunk := make([]Rule, 0, loadChunk)
		var err error
		pos, err = s.base.Snapshot(ctx, func(r Rule) error {
			chunk = append(chunk, r)
			if len(chunk) == loadChunk {
				if err := add(chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
			return nil
		})
		if err != nil {
			return err
		}
		return add(chunk)
	})
	if err != nil {
		if ErrorCode(err) == EINVALID {
			return err
		}
		return Internal(err)
	}
	s.stale.Store(false)
	s.advance(pos, "")
	return nil
}

// stateRules translates the access state of a change's subject into rules:
// a record's, or a user's admin role.
func stateRules(auth Authorizer, c *Change, st AccessState) []Rule {
	switch c.Entity.Kind {
	case KindOpportunity:
		return auth.OpportunityRules(&Opportunity{ID: c.Entity.ID, IsPrivate: st.IsPrivate, AccessList: st.List,
			CreateBy: st.Creator, Responsible: st.Responsible})
	case KindContact:
		return auth.ContactRules(&Contact{ID: c.Entity.ID, ShareType: st.ShareType, ManagerList: st.List})
	}
	var rules []Rule
	if st.Admin {
		rules = append(rules, auth.AdminRule(c.User))
	}
	if r, ok := auth.StatusRule(c.User, st.Status); ok {
		rules = append(rules, r)
	}
	return rules
}

// ruleDiff returns the rules the changes remove and add, in net: changes of
// one record in a row (each starting where the one before ended) compose.
func ruleDiff(auth Authorizer, changes []Change) (remove, add []Rule) {
	if !distinctSubjects(changes) {
		return composedRuleDiff(auth, changes)
	}
	// Each change is about a record or user of its own, and the rules of
	// two subjects never meet: each change's diff alone, in the order of
	// the changes (what composedRuleDiff returns for them).
	for i := range changes {
		before := stateRules(auth, &changes[i], changes[i].Before)
		after := stateRules(auth, &changes[i], changes[i].After)
		for _, r := range after {
			if !slices.Contains(before, r) {
				add = append(add, r)
			}
		}
		for _, r := range before {
			if !slices.Contains(after, r) {
				remove = append(remove, r)
			}
		}
	}
	return remove, add
}

// distinctSubjects reports whether no two changes are about the same record
// or user.
func distinctSubjects(changes []Change) bool {
	if len(changes) < 2 {
		return true
	}
	records := make(map[Ref]struct{}, len(changes))
	users := make(map[string]struct{})
	for i := range changes {
		c := &changes[i]
		if c.Entity == (Ref{}) {
			if _, seen := users[c.User]; seen {
				return false
			}
			users[c.User] = struct{}{}
			continue
		}
		if _, seen := records[c.Entity]; seen {
			return false
		}
		records[c.Entity] = struct{}{}
	}
	return true
}

// composedRuleDiff is ruleDiff for changes of which some are about the same
// subject.
func composedRuleDiff(auth Authorizer, changes []Change) (remove, add []Rule) {
	removed := make(map[Rule]int)
	for i := range changes {
		for _, r := range stateRules(auth, &changes[i], changes[i].Before) {
			removed[r]++
		}
	}
	for i := range changes {
		for _, r := range stateRules(auth, &changes[i], changes[i].After) {
			if removed[r] > 0 {
				removed[r]-- // removed by one change, added back by another
				continue
			}
			add = append(add, r)
		}
	}
	for i := range changes {
		// In the order of the changes, so that the result is deterministic.
		for _, r := range stateRules(auth, &changes[i], changes[i].Before) {
			if removed[r] > 0 {
				removed[r]--
				remove = append(remove, r)
			}
		}
	}
	return remove, add
}

func sameRules(a, b []Rule) bool {
	if len(a) != len(b) {
		return false
	}
	byLine := func(x, y Rule) int {
		return cmp.Or(strings.Compare(x.Type, y.Type), strings.Compare(x.From, y.From), strings.Compare(x.To, y.To))
	}
	slices.SortFunc(a, byLine)
	slices.SortFunc(b, byLine)
	return slices.Equal(a, b)
}
