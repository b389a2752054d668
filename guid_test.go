package crmaccess_test

import (
	"slices"
	"testing"

	"github.com/crmaccess/crmaccess"
)

func TestParseGUIDAcceptsAnyCaseAndBraces(t *testing.T) {
	const want = "9924256a-739c-462b-af15-e652a3b1b6eb"
	for _, in := range []string{
		"9924256A-739C-462b-AF15-E652A3B1B6EB",
		"{9924256A-739C-462b-AF15-E652A3B1B6EB}",
		"{9924256a-739c-462b-af15-e652a3b1b6eb}",
		want,
	} {
		got, err := crmaccess.ParseGUID(in)
		if err != nil || got != want {
			t.Errorf("ParseGUID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseGUIDRejects(t *testing.T) {
	for _, in := range []string{
		"", "bob", "{}", "9924256A739C462bAF15E652A3B1B6EB",
		"{9924256A-739C-462b-AF15-E652A3B1B6EB", "9924256A-739C-462b-AF15-E652A3B1B6EB}",
		"(9924256A-739C-462b-AF15-E652A3B1B6EB)", "9924256G-739C-462b-AF15-E652A3B1B6EB",
		"9924256A-739C-462b-AF15-E652A3B1B6EB ", " 9924256A-739C-462b-AF15-E652A3B1B6EB",
		"9924256A_739C-462b-AF15-E652A3B1B6EB", "{{9924256A-739C-462b-AF15-E652A3B1B6EB}}",
	} {
		if got, err := crmaccess.ParseGUID(in); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("ParseGUID(%q) = %q, %v; want EINVALID", in, got, err)
		}
	}
}

func TestParseGUIDListRemovesDuplicatesAndSorts(t *testing.T) {
	got, err := crmaccess.ParseGUIDList("accessList", []string{
		"{BBBBBBBB-0000-0000-0000-000000000000}", "aaaaaaaa-0000-0000-0000-000000000000", "bbbbbbbb-0000-0000-0000-000000000000",
	})
	want := []string{"aaaaaaaa-0000-0000-0000-000000000000", "bbbbbbbb-0000-0000-0000-000000000000"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	_, err = crmaccess.ParseGUIDList("accessList", []string{want[0], "x"})
	if crmaccess.ErrorCode(err) != crmaccess.EINVALID || crmaccess.ErrorMessage(err) != `accessList: "x" is not a GUID` {
		t.Fatalf("bad entry: %v", err)
	}
}

func FuzzParseGUID(f *testing.F) {
	for _, s := range []string{"9924256A-739C-462b-AF15-E652A3B1B6EB", "{9924256a-739c-462b-af15-e652a3b1b6eb}", "", "{}", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := crmaccess.ParseGUID(s)
		if err != nil {
			if crmaccess.ErrorCode(err) != crmaccess.EINVALID {
				t.Fatalf("code %q", crmaccess.ErrorCode(err))
			}
			return
		}
		again, err := crmaccess.ParseGUID(id)
		if err != nil || again != id || len(id) != 36 {
			t.Fatalf("canonical form %q does not parse to itself: %q %v", id, again, err)
		}
	})
}
