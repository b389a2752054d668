package crmaccess

import "context"

// Reads names the records a write reads inside its transaction, known
// before the transaction begins: the opportunities it reads or looks up,
// and the contacts and stages it looks up (Reader.ExistingIDs). A Store may
// read them as it takes the writer lock, in the same round trip (storage
// does on PostgreSQL); its Reader then answers those reads from what it
// read, and any other read as usual. A hint only: a Store that ignores it
// reads the same records a moment later in the same transaction.
type Reads struct {
	Opportunities []int64
	Contacts      []int64
	Stages        []int64
}

type readsKey struct{}

// WithReads returns ctx carrying r for the write made with it.
func WithReads(ctx context.Context, r Reads) context.Context {
	return context.WithValue(ctx, readsKey{}, r)
}

// ReadsOf returns the Reads ctx carries, if any.
func ReadsOf(ctx context.Context) (Reads, bool) {
	r, ok := ctx.Value(readsKey{}).(Reads)
	return r, ok
}
