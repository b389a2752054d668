package policy

import (
	"slices"
	"testing"
)

// A record naming a user id too large to pack into a dense slot is kept
// in sparse, read back whole, counted once, and moves back to its slot
// when it packs again.
func TestShardUnpackable(t *testing.T) {
	s := &shard{sparse: map[recordKey]record{}, overflow: map[recordKey][]link{}}
	small := []link{{typ: linkList, user: subjectPublicID}, {typ: linkCreator, user: 7}}
	big := []link{{typ: linkList, user: subjectPublicID}, {typ: linkCreator, user: packUser + 1}}
	k := recordKey{id: 5}
	other := recordKey{id: 5 + shardCount}
	s.set(other, small)

	for step, want := range [][]link{small, big, big, small, nil, big, nil} {
		s.set(k, want)
		r := s.get(k)
		if got := s.links(k, &r); !slices.Equal(got, want) {
			t.Fatalf("step %d: links %v, want %v", step, got, want)
		}
		held := 1 // other
		if len(want) > 0 {
			held++
		}
		if s.count[k.kind] != held {
			t.Fatalf("step %d: count %d, want %d", step, s.count[k.kind], held)
		}
		_, aside := s.sparse[k]
		if unpacked := len(want) > 0 && want[1].user > packUser; aside != unpacked {
			t.Fatalf("step %d: in sparse %v, want %v", step, aside, unpacked)
		}
		r = s.get(other)
		if got := s.links(other, &r); !slices.Equal(got, small) {
			t.Fatalf("step %d: the other record's links %v, want %v", step, got, small)
		}
	}
}
