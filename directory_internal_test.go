package crmaccess

import (
	"context"
	"testing"
)

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

// scanningReader is a Reader with both optional methods a write may use.
type scanningReader struct{ Reader }

func (scanningReader) ExistingIDs(context.Context, []int64, []int64, []int64) (opps, cons, stgs []int64, err error) {
	return nil, nil, nil, nil
}

func (scanningReader) ScanContacts(context.Context, *ContactFilter, func(*Contact) (bool, error), func(int, []string)) error {
	return nil
}

// existingReader is a Reader with ExistingIDs only.
type existingReader struct{ Reader }

func (existingReader) ExistingIDs(context.Context, []int64, []int64, []int64) (opps, cons, stgs []int64, err error) {
	return nil, nil, nil, nil
}

// A reader through the directory keeps the optional methods of the
// store's: a write looks up ids in one query (ExistingIDs), and streams
// contacts (ContactScanner), as it does without the directory.
func TestReaderThroughDirectoryKeepsOptionalMethods(t *testing.T) {
	s := &Service{instance: &instance{stopFollowing: func() {}}}
	for _, tc := range []struct {
		name          string
		r             Reader
		exists, scans bool
	}{
		{"both", scanningReader{}, true, true},
		{"ExistingIDs", existingReader{}, true, false},
		{"neither", struct{ Reader }{}, false, false},
	} {
		r := s.readerFor(tc.r)
		if _, ok := r.(directoryReader); !ok {
			t.Errorf("%s: not read through the directory", tc.name)
		}
		if _, ok := r.(existenceReader); ok != tc.exists {
			t.Errorf("%s: ExistingIDs %v, want %v", tc.name, ok, tc.exists)
		}
		if _, ok := r.(ContactScanner); ok != tc.scans {
			t.Errorf("%s: ScanContacts %v, want %v", tc.name, ok, tc.scans)
		}
		if s.readerFor(r) != r {
			t.Errorf("%s: wrapped twice", tc.name)
		}
	}
}
