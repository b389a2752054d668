package policy

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A line stream gives back every line it took, in order, whatever its
// role, kind and type, its user's number and its id (ids up and down, far
// apart, across many blocks), each user number mapped as asked.
func TestLineStreamGivesBackItsLines(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var s lineStream
	var want []packedLine
	users := make([]uint32, 1<<20)
	for i := range users {
		users[i] = uint32(i)*7 + 3
	}
	for i := range 200_000 {
		l := packedLine{id: int64(i / 3), user: uint32(r.IntN(4))}
		switch r.IntN(50) {
		case 0:
			l.id = r.Int64()
		case 1:
			l.id = -r.Int64()
		case 2:
			l.user = uint32(r.IntN(len(users)))
		}
		if r.IntN(100) == 0 {
			l.role, l.id = []uint8{roleBitAdmin, roleBitActive, roleBitInactive}[r.IntN(3)], 0
		} else {
			l.kind, l.typ = uint8(r.IntN(2)), []uint8{linkList, linkCreator, linkResponsible}[r.IntN(3)]
		}
		s.add(l)
		l.user = users[l.user]
		want = append(want, l)
	}
	if len(s.blocks) < 2 {
		t.Fatalf("%d blocks: the test crosses none", len(s.blocks))
	}
	if got := s.lines(users); !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("line %d: %+v, want %+v (of %d, %d)", i, got[i], want[i], len(got), len(want))
			}
		}
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
}

// A line whose role, kind or type would not fit the stream's byte is
// refused loudly, never written garbled.
func TestLineStreamRefusesWhatDoesNotFit(t *testing.T) {
	for _, l := range []packedLine{{role: 8}, {kind: 4}, {typ: 8}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v was written", l)
				}
			}()
			var s lineStream
			s.add(l)
		}()
	}
}
