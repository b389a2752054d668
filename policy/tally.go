package policy

// Tallies: how many records each user is granted, kept as lines change, so
// that a total of readable records costs a lookup, not a scan.

import (
	"slices"

	"github.com/crmaccess/crmaccess"
)

// A class groups the actions that the same lines grant: read; edit (also
// delete, and a contact's change of access); an opportunity's change of
// access.
const (
	classRead = iota
	classEdit
	classAccess
	classCount
)

// classActions is the action Decide is asked for each class.
var classActions = [classCount]crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionChangeAccess}

// classOf returns the class of an action on a kind of record, as Decide
// maps it.
func classOf(kind uint8, action crmaccess.Action) int {
	switch action {
	case crmaccess.ActionRead:
		return classRead
	case crmaccess.ActionChangeAccess:
		if kind == kindOpportunity {
			return classAccess
		}
	}
	return classEdit
}

// kindOpportunity and kindContact are recordKey.kind.
const (
	kindOpportunity uint8 = 0
	kindContact     uint8 = 1
)

func kindName(kind uint8) crmaccess.Kind {
	if kind == kindContact {
		return crmaccess.KindContact
	}
	return crmaccess.KindOpportunity
}

// tallies counts, by kind and class, the records that lines grant: open
// ones (a public marker grants every user) and, by interned user, those not
// open whose lines grant that user. A user's total is open + own: every
// record Decide allows a user who is not an admin. Writers change tallies
// under lockAll; readers read them under a shard's lock.
type tallies struct {
	open [2][classCount]int
	own  [][2][classCount]int32 // by interned user id
}

// grants reports whether the lines behind m grant the class of actions.
func (m matched) grants(kind uint8, class int) bool {
	return m.reason(kindName(kind), classActions[class]) != ""
}

// tallyRecord adds d (+1 or -1) to the tallies for the current lines of
// one record; a write subtracts a record's lines before it changes them
// and adds them after.
func (x *index) tallyRecord(k recordKey, d int) {
	s := x.shardOf(k)
	r := s.get(k)
	x.tallyLinks(k.kind, s.links(k, &r), d)
}

func (x *index) tallyLinks(kind uint8, links []link, d int) {
	if len(links) == 0 {
		return
	}
	markers := matchLinks(links, 0) // uid 0 matches the markers only
	var open [classCount]bool
	for c := range classCount {
		if open[c] = markers.grants(kind, c); open[c] {
			x.tally.open[kind][c] += d
		}
	}
	eachUser(links, func(uid uint32, m matched) {
		for uint32(len(x.tally.own)) <= uid {
			x.tally.own = append(x.tally.own, [2][classCount]int32{})
		}
		for c := range classCount {
			if !open[c] && m.grants(kind, c) {
				x.tally.own[uid][kind][c] += int32(d)
			}
		}
	})
}

// eachUser calls fn once for every user a record's links name, with what
// the links grant that user.
func eachUser(links []link, fn func(uid uint32, m matched)) {
	if len(links) <= inlineLinks {
	next:
		for i, l := range links {
			if l.user < firstUserID {
				continue
			}
			for _, e := range links[:i] {
				if e.user == l.user {
					continue next
				}
			}
			fn(l.user, matchLinks(links, l.user))
		}
		return
	}
	// A long list: one pass, then each user once.
	markers := matchLinks(links, 0)
	byUser := make(map[uint32]matched, len(links))
	for _, l := range links {
		if l.user < firstUserID {
			continue
		}
		m, ok := byUser[l.user]
		if !ok {
			m = markers
		}
		switch l.typ {
		case linkList:
			m.list = true
		case linkCreator:
			m.creator = true
		case linkResponsible:
			m.responsible = true
		}
		byUser[l.user] = m
	}
	for uid, m := range byUser {
		fn(uid, m)
	}
}

// touched returns the distinct records the lines change.
func touched(lists ...[]packedLine) []recordKey {
	var keys []recordKey
	for _, ls := range lists {
		for _, l := range ls {
			// A write's lines come grouped by record: skip repeats cheaply.
			if k := (recordKey{kind: l.kind, id: l.id}); l.role == 0 && (len(keys) == 0 || keys[len(keys)-1] != k) {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, cmpKey)
	return slices.Compact(keys)
}

func cmpKey(a, b recordKey) int {
	switch {
	case a.kind != b.kind:
		return int(a.kind) - int(b.kind)
	case a.id < b.id:
		return -1
	case a.id > b.id:
		return 1
	}
	return 0
}

// tallyAll counts every record's lines; for an index built whole.
func (x *index) tallyAll() {
	for i := range x.shards {
		s := &x.shards[i]
		for kind := range s.dense {
			for j := range s.dense[kind] {
				if d := &s.dense[kind][j]; d.n != 0 {
					k := recordKey{kind: uint8(kind), id: int64(j)*shardCount + int64(i)}
					r := d.record()
					x.tallyLinks(k.kind, s.links(k, &r), 1)
				}
			}
		}
		for k, r := range s.sparse {
			x.tallyLinks(k.kind, s.links(k, &r), 1)
		}
	}
}

// total is how many records of kind the lines grant user uid a class of
// actions on; the caller holds a shard's lock.
func (x *index) total(kind uint8, uid uint32, class int) int {
	n := x.tally.open[kind][class]
	if uid != 0 && uid < uint32(len(x.tally.own)) {
		n += int(x.tally.own[uid][kind][class])
	}
	return n
}
