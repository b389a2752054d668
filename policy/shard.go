package policy

// The index's storage of records: shards of dense per-id slots, each
// holding its links packed inline while they are few.

import "sync"

// inlineLinks is how many links a record keeps inline: a public
// opportunity has 3 (marker, creator, responsible), a private one with
// five users on its list 7.
const inlineLinks = 7

// record is a record's links: inline[:n] while n <= inlineLinks; beyond,
// n is spilled and the links are in the shard's overflow map. It is the
// form the index works on; the dense slices hold it packed (slot).
type record struct {
	n      uint8
	inline [inlineLinks]link
}

const spilled = 0xff

// slot is a record as the dense slices hold it: each link packed in 32
// bits (its type in the top two, its user below), 32 bytes in all, so that
// a slot never straddles two cache lines (a large slice starts on a page)
// and 3 million records take 96 MB. A record naming a user id too large to
// pack is kept in sparse instead (after a billion interned names: never in
// practice, but never wrong).
type slot struct {
	n     uint8
	links [inlineLinks]uint32
}

const (
	packShift = 30
	packUser  = 1<<packShift - 1
)

func (s *slot) record() record {
	r := record{n: s.n}
	if s.n != spilled {
		for i, p := range s.links[:s.n] {
			r.inline[i] = link{typ: uint8(p >> packShift), user: p & packUser}
		}
	}
	return r
}

// pack returns r as a slot, or false when a user id does not fit.
func pack(r *record) (slot, bool) {
	s := slot{n: r.n}
	if r.n != spilled {
		for i, l := range r.inline[:r.n] {
			if l.user > packUser {
				return slot{}, false
			}
			s.links[i] = uint32(l.typ)<<packShift | l.user
		}
	}
	return s, true
}

const shardCount = 64

type shard struct {
	mu sync.RWMutex
	// dense holds, by kind, the record of id at index id / shardCount: a
	// check reads one slot, with no hashing (a CRM's ids are dense). Ids too
	// far past the end, and records that do not pack, live in sparse.
	dense    [2][]slot
	count    [2]int // records held, by kind
	sparse   map[recordKey]record
	overflow map[recordKey][]link
	_        [40]byte // keep shards' locks on separate cache lines
}

func (s *shard) get(k recordKey) record {
	if i := uint64(k.id) / shardCount; i < uint64(len(s.dense[k.kind])) {
		if d := &s.dense[k.kind][i]; d.n != 0 || len(s.sparse) == 0 {
			return d.record()
		}
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
		// A quarter more at a time, as append grows a large slice: the
		// slack stays small at millions of records.
		n := max(int(i)+1, len(d)+len(d)/4, 1024)
		grown := make([]slot, n)
		copy(grown, d)
		for sk, sr := range s.sparse { // now in reach of dense
			if sk.kind == k.kind && uint64(sk.id)/shardCount < uint64(n) {
				if p, ok := pack(&sr); ok {
					grown[uint64(sk.id)/shardCount] = p
					delete(s.sparse, sk)
				}
			}
		}
		s.dense[k.kind], d = grown, grown
	}
	_, held := s.sparse[k]
	if i < uint64(len(d)) {
		if p, ok := pack(&r); ok {
			switch {
			case d[i].n == 0 && !held && r.n != 0:
				s.count[k.kind]++
			case (d[i].n != 0 || held) && r.n == 0:
				s.count[k.kind]--
			}
			if held {
				delete(s.sparse, k)
			}
			d[i] = p
			return
		}
		if d[i].n != 0 { // moves to sparse
			d[i] = slot{}
			held = true
		}
	}
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
