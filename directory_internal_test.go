package crmaccess

import "testing"

// A map of the directory never holds more than directoryLimit entries: one
// that would grow past it is emptied before it keeps what a read found.
func TestDirectoryIsBounded(t *testing.T) {
	var d directory
	_, _, gen := cached(&d, &d.stages, nil)
	key := func(st *Stage) int64 { return st.ID }
	read := func(from, n int) []Stage {
		out := make([]Stage, n)
		for i := range out {
			out[i].ID = int64(from + i)
		}
		return out
	}
	keep(&d, d.stages, gen, read(0, directoryLimit), key)
	if len(d.stages) != directoryLimit {
		t.Fatalf("kept %d stages, want %d", len(d.stages), directoryLimit)
	}
	keep(&d, d.stages, gen, read(directoryLimit, 10), key)
	if len(d.stages) != 10 {
		t.Fatalf("after growing past the limit the directory holds %d stages, want the 10 just read", len(d.stages))
	}
	if _, ok := d.stages[directoryLimit]; !ok {
		t.Fatal("the stages just read were not kept")
	}
}
