package policy

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/crmaccess/crmaccess"
)

// The index keeps every line in a compact form: user ids are interned to
// small numbers, and each record holds one short sorted slice of (line type,
// subject) links. A check reads one record's links; nothing scans the set.
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

const shardCount = 64

type shard struct {
	mu      sync.RWMutex
	records map[recordKey][]link
	_       [40]byte // keep shards' locks on separate cache lines
}

type index struct {
	shards [shardCount]shard

	// users interns user ids. Reads are lock-free (sync.Map) so that checks
	// on several cores do not contend; names is the reverse table.
	users   sync.Map // string → uint32
	namesMu sync.RWMutex
	names   []string // by interned id

	// admins is replaced, never changed, so checks read it without a lock;
	// writers build the next set under lockAll.
	admins atomic.Pointer[map[uint32]bool]
}

func newIndex() *index {
	x := &index{}
	x.admins.Store(&map[uint32]bool{})
	for i := range x.shards {
		x.shards[i].records = map[recordKey][]link{}
	}
	x.names = []string{"", subjectPublic, subjectPublicRead}
	x.users.Store(subjectPublic, subjectPublicID)
	x.users.Store(subjectPublicRead, subjectPublicReadID)
	return x
}

func (x *index) shardOf(k recordKey) *shard {
	h := uint64(k.id)*0x9E3779B97F4A7C15 + uint64(k.kind)
	return &x.shards[h>>58]
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
	x.users.Store(x.names[id], id)
	return id
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

// setAdmin makes the admin set have user or not; the caller holds lockAll.
func (x *index) setAdmin(user uint32, admin bool) {
	old := *x.admins.Load()
	if old[user] == admin {
		return
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
}

// add and remove change one line; the caller holds lockAll.
func (x *index) add(e entry) {
	if e.admin {
		x.setAdmin(e.link.user, true)
		return
	}
	s := x.shardOf(e.key)
	links := s.records[e.key]
	i, found := slices.BinarySearchFunc(links, e.link, cmpLink)
	if !found {
		s.records[e.key] = slices.Insert(links, i, e.link)
	}
}

func (x *index) remove(e entry) {
	if e.admin {
		x.setAdmin(e.link.user, false)
		return
	}
	s := x.shardOf(e.key)
	links := s.records[e.key]
	i, found := slices.BinarySearchFunc(links, e.link, cmpLink)
	if !found {
		return
	}
	if len(links) == 1 {
		delete(s.records, e.key)
		return
	}
	s.records[e.key] = slices.Delete(links, i, i+1)
}

// visit calls fn with a record's links under its shard's read lock.
func (x *index) visit(k recordKey, fn func(links []link)) {
	s := x.shardOf(k)
	s.mu.RLock()
	fn(s.records[k])
	s.mu.RUnlock()
}

func (x *index) isAdmin(user uint32) bool {
	return user != 0 && (*x.admins.Load())[user]
}
