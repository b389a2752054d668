package policy

import (
	"slices"
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

	// roles holds each user's role bits (admin.go); it is replaced, never
	// changed, so checks read it without a lock. nextRoles is a write's
	// copy, under lockAll.
	roles     atomic.Pointer[map[uint32]uint8]
	nextRoles map[uint32]uint8

	// tally counts the records lines grant each user (tally.go).
	tally tallies

	// listed holds, for each interned user, the records whose list names
	// it: ListedOn reads it instead of scanning every record. Changed by
	// writers under lockAll; read under every shard's read lock.
	listed map[uint32]map[recordKey]struct{}
}

func newIndex() *index {
	x := &index{listed: map[uint32]map[recordKey]struct{}{}}
	x.roles.Store(&map[uint32]uint8{})
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

// entry is a parsed rule: a role of a user (role != 0, the user in link),
// or a link of a record.
type entry struct {
	role uint8
	key  recordKey
	link link
}

// parse checks a rule against the model and converts it.
func (x *index) parse(r crmaccess.Rule) (entry, error) { return parseRule(r, x.intern) }

// parseRule is parse with the user ids handed out by intern.
func parseRule(r crmaccess.Rule, intern func(name string) uint32) (entry, error) {
	if err := checkRule(r); err != nil {
		return entry{}, err
	}
	switch {
	case r.Type == typeAdmin:
		return entry{role: roleBitAdmin, link: link{user: intern(r.From)}}, nil
	case r.Type == typeStatus && r.To == statusActive:
		return entry{role: roleBitActive, link: link{user: intern(r.From)}}, nil
	case r.Type == typeStatus:
		return entry{role: roleBitInactive, link: link{user: intern(r.From)}}, nil
	}
	ref, _ := parseObject(r.From)
	e := entry{key: keyOf(ref), link: link{user: intern(r.To)}}
	switch r.Type {
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

// add and remove change one line; the caller holds lockAll.
func (x *index) add(e entry) {
	if e.role != 0 {
		if x.setRole(e.link.user, e.role, true) {
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
		x.list(e, true)
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
	if e.role != 0 {
		if x.setRole(e.link.user, e.role, false) {
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
		x.list(e, false)
		s.set(e.key, slices.Delete(slices.Clone(links), i, i+1))
	}
}

// list keeps listed in step with a record's link being added or removed.
func (x *index) list(e entry, add bool) {
	if e.link.typ != linkList || e.link.user < firstUserID {
		return
	}
	recs := x.listed[e.link.user]
	switch {
	case add && recs == nil:
		x.listed[e.link.user] = map[recordKey]struct{}{e.key: {}}
	case add:
		recs[e.key] = struct{}{}
	default:
		delete(recs, e.key)
		if len(recs) == 0 {
			delete(x.listed, e.link.user)
		}
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

// listedOn returns the records whose list holds user uid, in no order.
func (x *index) listedOn(uid uint32) []crmaccess.Ref {
	for i := range x.shards {
		x.shards[i].mu.RLock()
	}
	defer func() {
		for i := range x.shards {
			x.shards[i].mu.RUnlock()
		}
	}()
	recs := x.listed[uid]
	out := make([]crmaccess.Ref, 0, len(recs))
	for k := range recs {
		out = append(out, k.ref())
	}
	return out
}

func (k recordKey) ref() crmaccess.Ref {
	if k.kind == 1 {
		return crmaccess.ContactRef(k.id)
	}
	return crmaccess.OpportunityRef(k.id)
}
