package crmaccess

// Hooks for the tests of package crmaccess_test.

// HoldWrites makes the writes of s wait, queued, until release is called:
// a test lines up writes that are then committed together.
func HoldWrites(s *Service) (release func()) {
	s.writeMu.Lock()
	return s.releaseWriter
}

// QueuedWrites is how many writes of s wait to be committed together.
func QueuedWrites(s *Service) int {
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	return len(s.queue)
}

// GroupedWrites is how many writes s committed in groups of more than one.
func GroupedWrites(s *Service) int64 { return s.groupedWrites.Load() }

// AheadWrites is how many writes s committed as decided ahead of the
// writer lock, and how many it tried so and made the usual way.
func AheadWrites(s *Service) (made, missed int64) { return s.aheadWrites.Load(), s.aheadMissed.Load() }

// SetPartSizes makes the writes in parts of the tests use parts of write
// records, and memory derive their rules in parts of apply records, so
// that small data sets span several parts; the returned function restores
// the sizes.
func SetPartSizes(write, apply int) (restore func()) {
	w, a := writePartSize, applyPartSize
	writePartSize, applyPartSize = write, apply
	return func() { writePartSize, applyPartSize = w, a }
}
