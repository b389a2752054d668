package crmaccess

import (
	"context"
	"errors"
	"slices"
)

// A write whose commit failed may have committed: the COMMIT reached the
// database and its answer was lost (SPEC §8.5). The next try of the same
// write looks, under the writer lock, at the log entry the failed try
// would have made: the try that failed held the lock until its
// transaction ended, so by now that entry is in the log if it committed.
// If it holds the very changes the failed try sent (the same records,
// actor, time to the nanosecond, before and after), the write is done.
// An entry without change records names nothing of its write, and is not
// taken for it: such a write is decided again, as before.

// sentWrite is a batch a try sent, and the position it was written at;
// rows are the opportunities its answer shows that were to come back with
// it (a write made ahead: answerOpportunity), still to be read when it is
// found committed.
type sentWrite struct {
	pos  int64
	b    *Batch
	rows map[int64]*Opportunity
}

// errEntryRead stops the read of the one entry committedAs looks at.
var errEntryRead = errors.New("crmaccess: the entry was read")

// committedAs reports whether the log, read through tx at head, holds w's
// batch at w's position.
func committedAs(ctx context.Context, tx Reader, head int64, w *sentWrite) (bool, error) {
	if w.pos > head || len(w.b.Changes) == 0 {
		return false, nil
	}
	mine := false
	err := tx.Log(ctx, w.pos-1, func(e *LogEntry) error {
		mine = e.Position == w.pos && sameEntry(e, w.b)
		return errEntryRead
	})
	if err != nil && !errors.Is(err, errEntryRead) {
		return false, err
	}
	return mine, nil
}

// sameEntry reports whether e is the entry b makes.
func sameEntry(e *LogEntry, b *Batch) bool {
	if e.Kind != b.Kind || len(e.Changes) != len(b.Changes) {
		return false
	}
	for i := range b.Changes {
		x, y := &e.Changes[i], &b.Changes[i]
		if !x.At.Equal(y.At) || x.Actor != y.Actor || x.Entity != y.Entity || x.User != y.User ||
			!sameState(x.Before, y.Before) || !sameState(x.After, y.After) {
			return false
		}
	}
	return true
}

// sameState reports whether two access states are equal (an empty list is
// no list).
func sameState(a, b AccessState) bool {
	return a.IsPrivate == b.IsPrivate && a.ShareType == b.ShareType && slices.Equal(a.List, b.List) &&
		a.Creator == b.Creator && a.Responsible == b.Responsible && a.Admin == b.Admin && a.Status == b.Status
}
