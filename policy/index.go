package policy

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/crmaccess/crmaccess"
)

// The index keeps every line in a compact form: user ids are interned to
// small numbers, and each record holds its (line type, subject) links
// sorted, inline in the map's value while they are few (as nearly all are),
// so that a check reads one map slot; nothing scans the set.
//
// Records are spread over shards, each with its own lock, so that checks on
// two cores do not contend on one lock. A write locks every shard, so a
// commit's lines become visible to checks all at once.

// link is one line of a record: its type and its subject.
type link struct {
	typ  uint8  // typeList, typeCreator, typeResponsible
	user uint32 // an interned user, or subjectPublicID / subjectPublicReadID
}

const (
	linkList uint8 = iota
	linkCreator
	linkResponsible
)

// Interned ids 1 and 2 are the public markers; users start at 3.
const (
	subjectPublicID     uint32 = 1
	subjectPublicReadID uint32 = 2
	firstUserID         uint32 = 3
)

type recordKey struct {
	kind uint8 // 0 opportunity, 1 contact
	id   int64
}

func keyOf(ref crmaccess.Ref) recordKey {
	k := recordKey{id: ref.ID}
	if ref.Kind == crmaccess.KindContact {
		k.kind = 1
	}
	return k
}

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

type index struct {
	shards [shardCount]shard

	// users interns user ids. Reads are lock-free (sync.Map) so that checks
	// on several cores do not contend; names is the reverse table.
	users   sync.Map // string → uint32
	namesMu sync.RWMutex
	names   []string // by interned id; "" once released

	// refs counts the lines that name each interned id. An id no line names
	// any more is released (see release), so that lists of made-up users
	// cannot grow memory without bound. Ids are never reused: a check that
	// looked an id up before its release finds no line with it. Writers only.
	refs []uint32

	// admins is replaced, never changed, so checks read it without a lock;
	// writers build the next set under lockAll.
	admins atomic.Pointer[map[uint32]bool]
}

func newIndex() *index {
	x := &index{}
	x.admins.Store(&map[uint32]bool{})
	for i := range x.shards {
		x.shards[i].sparse = map[recordKey]record{}
		x.shards[i].overflow = map[recordKey][]link{}
	}
	x.names = []string{"", subjectPublic, subjectPublicRead}
	x.refs = make([]uint32, len(x.names))
	x.users.Store(subjectPublic, subjectPublicID)
	x.users.Store(subjectPublicRead, subjectPublicReadID)
	return x
}

func (x *index) shardOf(k recordKey) *shard {
	return &x.shards[uint64(k.id)%shardCount]
}

// lookup returns the interned id of a subject, or 0 when it is unknown.
func (x *index) lookup(name string) uint32 {
	if v, ok := x.users.Load(name); ok {
		return v.(uint32)
	}
	return 0
}

// intern returns the id of a subject, adding it when new.
func (x *index) intern(name string) uint32 {
	if id := x.lookup(name); id != 0 {
		return id
	}
	x.namesMu.Lock()
	defer x.namesMu.Unlock()
	if id := x.lookup(name); id != 0 {
		return id
	}
	id := uint32(len(x.names))
	x.names = append(x.names, strings.Clone(name))
	x.refs = append(x.refs, 0)
	x.users.Store(x.names[id], id)
	return id
}

// release forgets the user ids of entries that no line names any more.
func (x *index) release(entries []entry) {
	x.namesMu.Lock()
	defer x.namesMu.Unlock()
	for _, e := range entries {
		id := e.link.user
		if id < firstUserID || x.refs[id] != 0 || x.names[id] == "" {
			continue
		}
		x.users.Delete(x.names[id])
		x.names[id] = ""
	}
}

func (x *index) name(id uint32) string {
	x.namesMu.RLock()
	defer x.namesMu.RUnlock()
	return x.names[id]
}

// lockAll and unlockAll take every shard for one write.
func (x *index) lockAll() {
	for i := range x.shards {
		x.shards[i].mu.Lock()
	}
}

func (x *index) unlockAll() {
	for i := range x.shards {
		x.shards[i].mu.Unlock()
	}
}

// entry is a parsed rule.
type entry struct {
	admin bool
	key   recordKey
	link  link
}

// parse checks a rule against the model and converts it.
func (x *index) parse(r crmaccess.Rule) (entry, error) {
	if err := checkRule(r); err != nil {
		return entry{}, err
	}
	if r.PType == typeAdmin {
		return entry{admin: true, link: link{user: x.intern(r.V0)}}, nil
	}
	ref, _ := parseObject(r.V0)
	e := entry{key: keyOf(ref), link: link{user: x.intern(r.V1)}}
	switch r.PType {
	case typeCreator:
		e.link.typ = linkCreator
	case typeResponsible:
		e.link.typ = linkResponsible
	}
	return e, nil
}

func cmpLink(a, b link) int {
	if a.typ != b.typ {
		return int(a.typ) - int(b.typ)
	}
	switch {
	case a.user < b.user:
		return -1
	case a.user > b.user:
		return 1
	}
	return 0
}

// setAdmin makes the admin set have user or not, and reports whether that
// changed it; the caller holds lockAll.
func (x *index) setAdmin(user uint32, admin bool) bool {
	old := *x.admins.Load()
	if old[user] == admin {
		return false
	}
	next := make(map[uint32]bool, len(old)+1)
	for u := range old {
		next[u] = true
	}
	if admin {
		next[user] = true
	} else {
		delete(next, user)
	}
	x.admins.Store(&next)
	return true
}

// add and remove change one line; the caller holds lockAll.
func (x *index) add(e entry) {
	if e.admin {
		if x.setAdmin(e.link.user, true) {
			x.refs[e.link.user]++
		}
		return
	}
	s := x.shardOf(e.key)
	r := s.get(e.key)
	links := s.links(e.key, &r)
	i, found := slices.BinarySearchFunc(links, e.link, cmpLink)
	if !found {
		x.refs[e.link.user]++
	}
	switch {
	case found:
	case r.n < inlineLinks: // stays inline: no allocation
		copy(r.inline[i+1:], r.inline[i:r.n])
		r.inline[i] = e.link
		r.n++
		s.put(e.key, r)
	case r.n == spilled:
		s.overflow[e.key] = slices.Insert(links, i, e.link)
	default:
		s.set(e.key, slices.Insert(slices.Clone(links), i, e.link))
	}
}

func (x *index) remove(e entry) {
	if e.admin {
		if x.setAdmin(e.link.user, false) {
			x.refs[e.link.user]--
		}
		return
	}
	s := x.shardOf(e.key)
	r := s.get(e.key)
	links := s.links(e.key, &r)
	i, found := slices.BinarySearchFunc(links, e.link, cmpLink)
	if found {
		x.refs[e.link.user]--
		s.set(e.key, slices.Delete(slices.Clone(links), i, i+1))
	}
}

// subjects returns the subjects of a record's links of one type, by name.
// Names are read under the shard's lock: a link's user cannot be released
// while the link exists, and the link cannot go while the lock is held.
func (x *index) subjects(k recordKey, typ uint8) []string {
	s := x.shardOf(k)
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.get(k)
	var out []string
	x.namesMu.RLock()
	defer x.namesMu.RUnlock()
	for _, l := range s.links(k, &r) {
		if l.typ == typ {
			out = append(out, x.names[l.user])
		}
	}
	return out
}

// match reads which of a record's links concern user uid: the hot path of
// every check, without allocating.
func (x *index) match(k recordKey, uid uint32) matched {
	s := x.shardOf(k)
	s.mu.RLock()
	r := s.get(k)
	var m matched
	if r.n == spilled {
		m = matchLinks(s.overflow[k], uid)
	} else {
		m = matchLinks(r.inline[:r.n], uid)
	}
	s.mu.RUnlock()
	return m
}

func (x *index) isAdmin(user uint32) bool {
	return user != 0 && (*x.admins.Load())[user]
}
