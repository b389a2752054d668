package policy

// The index's storage of records: shards of dense per-id slots, each
// holding its links inline while they are few.

import "sync"

// inlineLinks is how many links a record keeps in its map slot: a public
// opportunity has 3 (marker, creator, responsible), a private one with three
// users on its list 5.
const inlineLinks = 6

// record is a record's links: inline[:n] while n <= inlineLinks; beyond,
// n is spilled and the links are in the shard's overflow map.
type record struct {
	n      uint8
	inline [inlineLinks]link
}

const spilled = 0xff

const shardCount = 64

type shard struct {
	mu sync.RWMutex
	// dense holds, by kind, the record of id at index id / shardCount: a
	// check reads one slot, with no hashing (a CRM's ids are dense). Ids too
	// far past the end live in sparse.
	dense    [2][]record
	count    [2]int // records held, by kind
	sparse   map[recordKey]record
	overflow map[recordKey][]link
	_        [40]byte // keep shards' locks on separate cache lines
}

func (s *shard) get(k recordKey) record {
	if i := uint64(k.id) / shardCount; i < uint64(len(s.dense[k.kind])) {
		return s.dense[k.kind][i]
	}
	return s.sparse[k]
}

// put stores a record (n == 0 removes it), growing dense while the id stays
// within twice the records held (plus some room), so that made-up far ids
// cannot make it huge.
func (s *shard) put(k recordKey, r record) {
	i := uint64(k.id) / shardCount
	d := s.dense[k.kind]
	if i >= uint64(len(d)) && i < 2*uint64(s.count[k.kind])+1024 {
		n := max(int(i)+1, 2*len(d))
		grown := make([]record, n)
		copy(grown, d)
		for sk, sr := range s.sparse { // now in reach of dense
			if sk.kind == k.kind && uint64(sk.id)/shardCount < uint64(n) {
				grown[uint64(sk.id)/shardCount] = sr
				delete(s.sparse, sk)
			}
		}
		s.dense[k.kind], d = grown, grown
	}
	if i < uint64(len(d)) {
		if d[i].n == 0 && r.n != 0 {
			s.count[k.kind]++
		} else if d[i].n != 0 && r.n == 0 {
			s.count[k.kind]--
		}
		d[i] = r
		return
	}
	_, held := s.sparse[k]
	switch {
	case r.n == 0 && held:
		s.count[k.kind]--
		delete(s.sparse, k)
	case r.n != 0 && !held:
		s.count[k.kind]++
		s.sparse[k] = r
	case r.n != 0:
		s.sparse[k] = r
	}
}

// links returns a record's links; the caller holds the shard's lock and
// must not keep the slice past it.
func (s *shard) links(k recordKey, r *record) []link {
	if r.n == spilled {
		return s.overflow[k]
	}
	return r.inline[:r.n]
}

// set stores a record's links, inline when they fit.
func (s *shard) set(k recordKey, links []link) {
	switch {
	case len(links) == 0:
		s.put(k, record{})
		delete(s.overflow, k)
	case len(links) <= inlineLinks:
		r := record{n: uint8(len(links))}
		copy(r.inline[:], links)
		s.put(k, r)
		delete(s.overflow, k)
	default:
		s.put(k, record{n: spilled})
		s.overflow[k] = links
	}
}
