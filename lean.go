package crmaccess

import (
	"context"
	"errors"
	"time"
)

// A bulk change of access (SetContactsAccess over 100k contacts) returns
// every matching contact, whatever it does; what it need not hold at once
// is a second copy of the contacts as read, its whole batch (100k change
// records, 400k rules), and its rules while memory applies them. Three
// optional capabilities spare them: a Reader that streams contacts
// (ContactScanner), a Store that writes a batch in parts (PartStore), an
// Authorizer that takes rules in parts (PartStager, or PartApplier).
// Without them the same write is made as one batch and one Apply.

// ContactScanner is an optional capability of a Reader (and of the Store
// whose reads it makes): FindContacts for a caller that keeps what it
// reads in a form of its own.
type ContactScanner interface {
	// ScanContacts calls keep with every contact f matches (f is valid),
	// in ascending id order, with Tags and ManagerList empty: the contact
	// is the store's, reused for the next one, and keep copies what it
	// keeps. Once every match has been kept or not, it calls tags with the
	// position of each kept contact among the kept ones (0 for the first)
	// and its tags, in their order; contacts without tags get no call. The
	// tags' slice may be shared by contacts with the same tags: it is
	// read-only. keep's error ends the scan and is returned as it is.
	ScanContacts(ctx context.Context, f *ContactFilter, keep func(*Contact) (bool, error), tags func(i int, tags []string)) error
}

// PartStore is an optional capability of a Store: a write whose batch is
// written in parts, within one transaction, as one log entry.
type PartStore interface {
	// UpdateInParts is Update for a batch written in parts: it takes the
	// writer lock, calls build with a Reader of the transaction, the head,
	// and write, which writes one part at head+1 and may be called any
	// number of times; once build returns, it appends the log entry at
	// head+1 (its kind and time those of the first part, its change
	// records those of every part, in order), commits, and returns head+1.
	// When build wrote no part, nothing is written and it returns head. An
	// error of build, returned as it is, or of write rolls everything
	// back; an error of the commit leaves the outcome unknown, as Update's
	// does.
	//
	// A part may hold ContactShares, OpportunityPrivacy, RemoveRules,
	// AddRules and Changes (and Kind and At); write fails with EINTERNAL,
	// writing nothing more, for a part with anything else. The store is
	// done with a part when write returns.
	UpdateInParts(ctx context.Context, build func(ctx context.Context, tx Reader, head int64, write func(*Batch) error) error) (position int64, err error)
}

// PartApplier is an optional capability of an Authorizer: Apply of rules
// handed over in parts, so that a write of 400k rules need not hold them
// all at once to apply them.
type PartApplier interface {
	// ApplyParts calls parts, which calls apply with each part's rules to
	// remove and to add; once parts returns, it removes then adds the
	// rules of every part, all visible to checks at once. removes and adds
	// say how many rules the parts hold in all (a hint). An unknown rule,
	// or an error of parts, fails the call and changes nothing.
	ApplyParts(removes, adds int, parts func(apply func(remove, add []Rule) error) error) error
}

// PartStager is an optional capability of an Authorizer, preferred to
// PartApplier: it takes a write's rules part by part as they are written,
// in a compact form of its own, and applies them once the write has
// committed. Memory then applies the very rules written, without deriving
// them again from the parts, and does not hold them as Rules meanwhile.
type PartStager interface {
	// StageParts returns an empty stage, for one write. Staging changes
	// nothing a check sees; a stage never applied is simply dropped.
	StageParts() RuleStage
}

// RuleStage holds the rules of one write, as PartStager hands it out.
type RuleStage interface {
	// Add takes one part's rules to remove and to add. A rule the
	// Authorizer does not know fails it, and Apply then fails too.
	Add(remove, add []Rule) error
	// Apply removes then adds the rules of every part, in order, all
	// visible to checks at once. It is called at most once.
	Apply() error
}

// writePartSize is how many records a part of a write is about: its
// change records and rules are garbage once written, and each part costs
// its statements (a multiple of the stores' 1,000-row statements, so that
// no part ends in a short statement of its own). applyPartSize is the
// same once the write has committed, when memory derives the parts' rules
// again: they are parsed as they come, and a smaller part is less to hold
// beside the parsed lines.
var writePartSize, applyPartSize = 8000, 1000

// updateInParts is update for a write that builds its batch in parts:
// decide reads and decides inside the writer lock, then parts calls emit
// with each part of size records (the last may be smaller), from what
// decide kept and from memory alone. No two parts are about the same
// record, so that the parts' rule diffs, each derived from memory as it
// was before the write, add up to the diff of the whole.
//
// On a PartStore each part is written as it comes and dropped: the write
// never holds all its change records. Its rules are handed to the
// Authorizer's stage (PartStager) once each part is written, parsed in a
// goroutine of their own while the next part is built and written, and
// applied once the write has committed. Without a stage, parts runs again once committed,
// memory still at the state it decided on, to derive the rules memory
// applies. On another store, or on a view of a host's transaction, the
// parts are gathered into one batch for update.
func (s *Service) updateInParts(ctx context.Context, actor string, decide func(ctx context.Context, tx Reader) error,
	parts func(size int, emit func(*Batch) error) error) (Token, error) {
	ps, ok := s.store.(PartStore)
	if !ok || s.hostTx != nil {
		return s.update(ctx, actor, func(ctx context.Context, tx Reader) (*Batch, error) {
			if err := decide(ctx, tx); err != nil {
				return nil, err
			}
			var whole *Batch
			err := parts(writePartSize, func(p *Batch) error {
				if whole == nil {
					whole = &Batch{Kind: p.Kind, At: p.At}
				}
				whole.ContactShares = append(whole.ContactShares, p.ContactShares...)
				whole.OpportunityPrivacy = append(whole.OpportunityPrivacy, p.OpportunityPrivacy...)
				whole.Changes = append(whole.Changes, p.Changes...)
				return nil
			})
			if err != nil {
				return nil, err
			}
			return whole, nil
		})
	}
	s.writeMu.Lock()
	defer s.releaseWriter() // and commits the grouped writes queued meanwhile
	backoff := time.Millisecond
	reloaded := false
	for attempt := 1; ; attempt++ {
		var removed, added int // the rules written: memory's diff must count as many
		var refused error
		var stage RuleStage // the rules written, when the Authorizer stages them
		wrote := false
		pos, err := ps.UpdateInParts(ctx, func(ctx context.Context, tx Reader, head int64, write func(*Batch) error) error {
			removed, added, wrote, stage = 0, 0, false, nil
			var staging *stager
			if st, ok := s.auth.(PartStager); ok {
				staging = startStage(st.StageParts())
				defer func() { stage = staging.finish() }()
			}
			if err := s.catchUpTo(ctx, tx, head); err != nil {
				return err
			}
			if actor != "" {
				if err := s.activeActor(actor); err != nil {
					refused = err
					return err
				}
			}
			if err := decide(ctx, tx); err != nil {
				refused = err
				return err
			}
			var at time.Time // the entry's, taken when its first part is, as decide takes it
			return parts(writePartSize, func(p *Batch) error {
				if len(p.Changes) == 0 {
					return nil
				}
				p.RemoveRules, p.AddRules = ruleDiff(s.auth, p.Changes)
				if at.IsZero() {
					at = s.now()
				}
				if p.At.IsZero() {
					p.At = at
				}
				removed, added = removed+len(p.RemoveRules), added+len(p.AddRules)
				s.ownPending.Store(head + 1)
				wrote = true
				if err := write(p); err != nil {
					return err
				}
				if staging != nil { // parsed while the next part is built and written
					staging.add(p.RemoveRules, p.AddRules)
				}
				return nil
			})
		})
		if err == nil {
			if wrote {
				s.applyOwnParts(pos, removed, added, stage, parts)
			}
			s.ownPending.Store(0)
			return positionToken(pos), nil
		}
		s.ownPending.Store(0)
		if refused != nil && err == refused && refusal(err) {
			return "", err // decided not to happen: nothing written
		}
		// As in update: memory may be behind a commit whose outcome is
		// unknown, or the stored rules are not those memory holds.
		if err := s.afterFailedTry(ctx, err, wrote, &reloaded, attempt, &backoff); err != nil {
			return "", err
		}
	}
}

// stager hands the parts of a write to a RuleStage in a goroutine of its
// own, which parses each part's rules while the next part is built and
// written.
type stager struct {
	stage RuleStage
	parts chan [2][]Rule
	done  chan struct{}
	err   error // Add's first, by the goroutine, read once done is closed
}

func startStage(st RuleStage) *stager {
	g := &stager{stage: st, parts: make(chan [2][]Rule, 1), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		for p := range g.parts {
			if g.err == nil {
				g.err = st.Add(p[0], p[1])
			}
		}
	}()
	return g
}

// add hands over one part's rules, which the caller no longer changes.
func (g *stager) add(remove, add []Rule) { g.parts <- [2][]Rule{remove, add} }

// finish waits until every part handed over is staged and returns the
// stage; when a part failed, a stage whose Apply fails (memory is then
// marked stale and catches up from the log, as after any failed apply).
func (g *stager) finish() RuleStage {
	close(g.parts)
	<-g.done
	if g.err != nil {
		return failedStage{g.err}
	}
	return g.stage
}

type failedStage struct{ err error }

func (f failedStage) Add([]Rule, []Rule) error { return f.err }
func (f failedStage) Apply() error             { return f.err }

// applyOwnParts is applyOwn for a write made in parts: with memory still
// at the state before pos, it applies the rules stage holds, those
// written; without a stage, it derives the rules of the parts again (the
// same count as written, or memory is marked stale and catches up from
// the log instead) and applies them all at once.
func (s *Service) applyOwnParts(pos int64, removed, added int, stage RuleStage, parts func(size int, emit func(*Batch) error) error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	switch at := s.applied.Load(); {
	case at >= pos: // the log got there first
	case at == pos-1:
		var err error
		if stage != nil {
			err = stage.Apply()
		} else if pa, ok := s.auth.(PartApplier); ok {
			err = pa.ApplyParts(removed, added, func(apply func(remove, add []Rule) error) error {
				return rederive(s.auth, removed, added, parts, apply)
			})
		} else {
			remove, add := make([]Rule, 0, removed), make([]Rule, 0, added)
			err = rederive(s.auth, removed, added, parts, func(r, a []Rule) error {
				remove, add = append(remove, r...), append(add, a...)
				return nil
			})
			if err == nil {
				err = s.auth.Apply(remove, add)
			}
		}
		if err != nil {
			s.stale.Store(true)
			return
		}
		s.advance(pos, EntryAccess) // writes in parts are writes of access
	default:
		s.stale.Store(true)
	}
}

// rederive derives the rules of parts from memory again, part by part, and
// hands each part's to apply; it fails, and memory is left to the log,
// when they do not count as many rules as were written.
func rederive(auth Authorizer, removed, added int, parts func(size int, emit func(*Batch) error) error, apply func(remove, add []Rule) error) error {
	err := parts(applyPartSize, func(p *Batch) error {
		r, a := ruleDiff(auth, p.Changes)
		removed, added = removed-len(r), added-len(a)
		return apply(r, a)
	})
	if err == nil && (removed != 0 || added != 0) {
		err = errors.New("crmaccess: a write's rules derived again differ from those written")
	}
	return err
}
