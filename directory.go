package crmaccess

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// directory keeps the users, stages, contacts and opportunities an
// instance has read, for the answers that name them (an HTTP answer about
// an opportunity names its creator, responsible user, list, stage and
// main contact) and for the writes that read the records they change.
// Users and stages change only by writes of records (EntryRecord,
// EntryImport, ...), never by writes of access, which are most writes; a
// write of access changes a record's access, which the directory does not
// answer for (memory does: see Contacts and dirReader): memory drops the
// directory whenever it applies an entry that is not of access, or
// reloads. So the directory answers as of memory's position, as checks
// do, and a read with a token sees the state of the token or later.
type directory struct {
	mu       sync.Mutex
	gen      uint64 // counts the drops: a read from the store keeps its rows only if none happened meanwhile
	users    map[string]User
	stages   map[int64]Stage
	contacts map[int64]Contact // rows as stored: memory answers for their access
	// opportunities as stored, without access (IsPrivate false, AccessList
	// empty): memory answers for it.
	opportunities map[int64]Opportunity
}

// directoryLimit bounds each map of the directory: one that would grow
// past it is emptied first, so that an instance reading every record of a
// large store does not keep them all.
const directoryLimit = 1 << 14

// drop empties the directory.
func (d *directory) drop() {
	d.mu.Lock()
	d.gen++
	clear(d.users)
	clear(d.stages)
	clear(d.contacts)
	clear(d.opportunities)
	d.mu.Unlock()
}

// cached returns the entries of ids the directory holds, the ids it does
// not, and its generation.
func cached[K comparable, V any](d *directory, m *map[K]V, ids []K) (hits []V, misses []K, gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if *m == nil {
		*m = make(map[K]V)
	}
	for _, id := range ids {
		if v, ok := (*m)[id]; ok {
			hits = append(hits, v)
		} else {
			misses = append(misses, id)
		}
	}
	return hits, misses, d.gen
}

// keep stores what a read of the store found, unless the directory was
// dropped since the read began.
func keep[K comparable, V any](d *directory, m map[K]V, gen uint64, found []V, key func(*V) K) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != gen {
		return
	}
	if len(m)+len(found) > directoryLimit {
		clear(m)
	}
	for i := range found {
		m[key(&found[i])] = found[i]
	}
}

// lookup answers ids from the directory, reading the others through read
// and keeping them; the answer is ascending by id, each once.
func lookup[K cmp.Ordered, V any](ctx context.Context, d *directory, m *map[K]V, ids []K, key func(*V) K,
	read func(context.Context, []K) ([]V, error)) ([]V, error) {
	hits, misses, gen := cached(d, m, ids)
	if len(misses) > 0 {
		found, err := read(ctx, misses)
		if err != nil {
			return nil, err
		}
		keep(d, *m, gen, found, key)
		hits = append(hits, found...)
	}
	slices.SortFunc(hits, func(a, b V) int { return cmp.Compare(key(&a), key(&b)) })
	return slices.CompactFunc(hits, func(a, b V) bool { return key(&a) == key(&b) }), nil
}

// usesDirectory reports whether reads of s may answer from the directory:
// an instance that follows the log (else the directory would not learn of
// others' writes), not a view over a host's transaction (whose reads may
// see what the host has not committed).
func (s *Service) usesDirectory() bool {
	return s.hostTx == nil && s.stopFollowing != nil
}

// dirLookupLimit is the most ids a read through dirReader answers from the
// directory; a larger read (an upsert's, a bulk write's) goes to the store
// alone and is not kept.
const dirLookupLimit = 64

// dirReader is a Reader whose opportunities come from the directory when
// it holds them, with their access from memory: a write reads through it
// once memory holds the state the write decides on (under the writer
// lock, the committed head), and a read once memory holds its token.
type dirReader struct {
	Reader
	s *Service
}

// readerFor returns r reading through the directory when s may use it,
// with the optional methods r has (existenceReader, ContactScanner).
func (s *Service) readerFor(r Reader) Reader {
	if !s.usesDirectory() {
		return r
	}
	if _, ok := r.(directoryReader); ok {
		return r
	}
	d := &dirReader{Reader: r, s: s}
	er, exists := r.(existenceReader)
	sc, scans := r.(ContactScanner)
	switch {
	case exists && scans:
		return &struct {
			*dirReader
			existenceReader
			ContactScanner
		}{d, er, sc}
	case exists:
		return &struct {
			*dirReader
			existenceReader
		}{d, er}
	case scans:
		return &struct {
			*dirReader
			ContactScanner
		}{d, sc}
	}
	return d
}

// directoryReader is what every reader readerFor returns has.
type directoryReader interface{ readsThroughDirectory() }

func (*dirReader) readsThroughDirectory() {}

func (r *dirReader) Opportunity(ctx context.Context, id int64) (*Opportunity, error) {
	found, err := r.Opportunities(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, Errorf(ENOTFOUND, "opportunity %d not found", id)
	}
	return &found[0], nil
}

func (r *dirReader) Opportunities(ctx context.Context, ids []int64) ([]Opportunity, error) {
	if len(ids) > dirLookupLimit {
		return r.Reader.Opportunities(ctx, ids)
	}
	d := &r.s.dir
	found, err := lookup(ctx, d, &d.opportunities, ids, func(o *Opportunity) int64 { return o.ID },
		func(ctx context.Context, ids []int64) ([]Opportunity, error) {
			found, err := r.Reader.Opportunities(ctx, ids)
			for i := range found {
				found[i].IsPrivate, found[i].AccessList = false, nil
			}
			return found, err
		})
	if err != nil {
		return nil, err
	}
	for i := range found {
		// The directory's own slices stay its own; access is memory's.
		o := &found[i]
		o.Members, o.Tags = slices.Clone(o.Members), slices.Clone(o.Tags)
		o.IsPrivate = r.s.auth.Access(OpportunityRef(o.ID)).IsPrivate
	}
	return found, nil
}
