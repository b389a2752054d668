package storage

import (
	"encoding/json"
	"testing"
)

// encodeList writes what json.Marshal writes, by hand or not.
func TestEncodeListIsJSON(t *testing.T) {
	for _, list := range [][]string{
		nil, {}, {"aaaaaaaa-0000-0000-0000-000000000001"},
		{"aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"},
		{"a\"b", "c\\d"}, {"é"}, {"<tag>", "a&b"}, {"tab\there"}, {"", "x"},
	} {
		want := "[]"
		if len(list) > 0 {
			b, err := json.Marshal(list)
			if err != nil {
				t.Fatal(err)
			}
			want = string(b)
		}
		if got := encodeList(list); got != want {
			t.Errorf("encodeList(%q) = %s, want %s", list, got, want)
		}
		back, err := decodeList(encodeList(list))
		if err != nil || len(back) != len(list) {
			t.Errorf("decodeList(encodeList(%q)) = %q, %v", list, back, err)
		}
	}
}
