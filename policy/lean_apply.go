package policy

import (
	"encoding/binary"
	"errors"

	"github.com/crmaccess/crmaccess"
)

var _ crmaccess.PartApplier = (*Engine)(nil)

// ApplyParts is Apply of the rules parts hands over part by part: each
// part is parsed as it comes into packed lines, a third of a Rule's size,
// and once parts returns, every part's removals then additions are made,
// all visible at once. removes and adds are how many rules the parts
// hold, for room. An unknown rule, or an error of parts, fails the whole
// call before anything changes.
func (g *Engine) ApplyParts(removes, adds int, parts func(apply func(remove, add []crmaccess.Rule) error) error) error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	x := g.x.Load()
	rm, ad := make([]packedLine, 0, removes), make([]packedLine, 0, adds)
	parse := func(into *[]packedLine, rules []crmaccess.Rule) error {
		for _, r := range rules {
			e, err := x.parse(r)
			if err != nil {
				return err
			}
			*into = append(*into, packLine(e))
		}
		return nil
	}
	err := parts(func(remove, add []crmaccess.Rule) error {
		if err := parse(&rm, remove); err != nil {
			return err
		}
		return parse(&ad, add)
	})
	if err == nil {
		g.applyPacked(x, rm, ad)
	}
	// Parsing interned every user named; forget those no line names now
	// (or, on an error, those only the parsed lines named).
	release(x, rm)
	release(x, ad)
	if err == nil {
		g.resetCasbin()
	}
	return err
}

// packedLine is an entry in 16 bytes rather than 32: a write of 400k rules
// holds 6 MB of them rather than 13 while it applies them.
type packedLine struct {
	id              int64
	user            uint32
	role, kind, typ uint8
}

func packLine(e entry) packedLine {
	return packedLine{id: e.key.id, user: e.link.user, role: e.role, kind: e.key.kind, typ: e.link.typ}
}

func (l packedLine) entry() entry {
	return entry{role: l.role, key: recordKey{kind: l.kind, id: l.id}, link: link{typ: l.typ, user: l.user}}
}

// applyPacked removes then adds the lines, all visible at once; the caller
// holds writeMu.
func (g *Engine) applyPacked(x *index, rm, ad []packedLine) {
	keys := touched(rm, ad)
	x.lockAll()
	for _, k := range keys {
		x.tallyRecord(k, -1)
	}
	for _, l := range rm {
		x.remove(l.entry())
	}
	for _, l := range ad {
		x.add(l.entry())
	}
	x.publishRoles()
	for _, k := range keys {
		x.tallyRecord(k, 1)
	}
	x.unlockAll()
}

func (l packedLine) userID() uint32 { return l.user }

var _ crmaccess.PartStager = (*Engine)(nil)

// StageParts returns an empty stage of a write's rules (see
// crmaccess.PartStager).
func (g *Engine) StageParts() crmaccess.RuleStage {
	return &stage{g: g, ids: map[string]uint32{}}
}

// stage holds a write's rules while the write is made, in a few bytes a
// line (lineStream), their users numbered by the stage itself, not by the
// index: nothing of the engine changes, and nothing need be undone, until
// Apply. Apply expands the lines, numbers the stage's few distinct users
// in the index, and applies the lines under the engine's writer lock, as
// ApplyParts does.
type stage struct {
	g      *Engine
	names  []string          // the stage's users, by their number in it
	ids    map[string]uint32 // and their numbers
	rm, ad lineStream
	err    error // the first error of Add: Apply returns it
}

func (st *stage) number(name string) uint32 {
	if id, ok := st.ids[name]; ok {
		return id
	}
	id := uint32(len(st.names))
	st.names = append(st.names, name)
	st.ids[name] = id
	return id
}

// Add parses one part's rules.
func (st *stage) Add(remove, add []crmaccess.Rule) error {
	if st.err != nil {
		return st.err
	}
	for _, part := range []struct {
		rules []crmaccess.Rule
		into  *lineStream
	}{{remove, &st.rm}, {add, &st.ad}} {
		for _, r := range part.rules {
			e, err := parseRule(r, st.number)
			if err != nil {
				st.err = err
				return err
			}
			part.into.add(packLine(e))
		}
	}
	return nil
}

// Apply removes then adds every part's rules, all visible at once.
func (st *stage) Apply() error {
	if st.err != nil {
		return st.err
	}
	g := st.g
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	x := g.x.Load()
	users := make([]uint32, len(st.names))
	for i, name := range st.names {
		users[i] = x.intern(name)
	}
	rm, ad := st.rm.lines(users), st.ad.lines(users)
	st.rm, st.ad, st.err = lineStream{}, lineStream{}, errStageApplied
	g.applyPacked(x, rm, ad)
	release(x, rm)
	release(x, ad)
	g.resetCasbin()
	return nil
}

// lineStream keeps packed lines in a few bytes each: the line's role,
// kind and type in one byte, its user (a small number) and the difference
// of its id from the line before as varints. A part's lines come record by
// record, so an id takes a byte or two: a filter call's 400k lines take
// 1.2 MB rather than the 6.4 MB of packed lines (and the slack of a slice
// grown by appending), held while the write is made. Lines are written
// into blocks of a fixed size, never across two.
type lineStream struct {
	blocks [][]byte
	n      int
	last   int64 // the id of the last line
}

const lineBlockSize = 64 << 10

func (s *lineStream) add(l packedLine) {
	if l.role > 7 || l.kind > 3 || l.typ > 7 {
		panic("policy: a line's role, kind or type does not fit the stream's byte")
	}
	var line [1 + 2*binary.MaxVarintLen64]byte
	b := append(line[:0], l.role|l.kind<<3|l.typ<<5)
	b = binary.AppendUvarint(b, uint64(l.user))
	b = binary.AppendVarint(b, l.id-s.last)
	if k := len(s.blocks) - 1; k < 0 || len(s.blocks[k])+len(b) > cap(s.blocks[k]) {
		s.blocks = append(s.blocks, make([]byte, 0, lineBlockSize))
	}
	k := len(s.blocks) - 1
	s.blocks[k] = append(s.blocks[k], b...)
	s.last = l.id
	s.n++
}

// lines expands the stream, each user number i becoming users[i].
func (s *lineStream) lines(users []uint32) []packedLine {
	out := make([]packedLine, 0, s.n)
	var id int64
	for _, b := range s.blocks {
		for len(b) > 0 {
			meta := b[0]
			u, k := binary.Uvarint(b[1:])
			d, j := binary.Varint(b[1+k:])
			b = b[1+k+j:]
			id += d
			out = append(out, packedLine{id: id, user: users[u], role: meta & 7, kind: meta >> 3 & 3, typ: meta >> 5})
		}
	}
	return out
}

var errStageApplied = errors.New("policy: a stage is applied once")
