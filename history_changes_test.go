package crmaccess_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// A history of every kind of write, on SQLite, with the fake clock.
func historyPortal(t *testing.T) (*crmaccess.Service, *fakeClock) {
	t.Helper()
	clock := newFakeClock(testNow)
	p := openPortal(t, t.TempDir()+"/crm.db")
	s := serviceWith(t, p.store, &crmaccess.Options{Now: clock.now, PollInterval: -1})
	for _, st := range historySteps(t) {
		if _, err := st.write(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	return s, clock
}

// FindChanges pages by its cursor through exactly what ExportChanges
// writes, and both select by record, actor and time.
func TestChangeQueriesPageAndExport(t *testing.T) {
	ctx := context.Background()
	s, clock := historyPortal(t)
	var paged []crmaccess.Change
	for f := (crmaccess.ChangeFilter{Limit: 7}); ; {
		p, err := s.FindChanges(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, p.Changes...)
		if p.Next == 0 {
			if len(p.Changes) == 7 {
				t.Fatal("a full page without a cursor")
			}
			break
		}
		f.After = p.Next
	}
	var buf bytes.Buffer
	n, err := s.ExportChanges(ctx, crmaccess.ChangeFilter{Limit: 5}, &buf)
	if err != nil || n != len(paged) || n < 30 {
		t.Fatalf("ExportChanges wrote %d lines (%v), FindChanges paged %d", n, err, len(paged))
	}
	sc := bufio.NewScanner(&buf)
	for i := 0; sc.Scan(); i++ {
		var line struct {
			Seq      int64  `json:"seq"`
			Position int64  `json:"position"`
			At       string `json:"at"`
			Actor    string `json:"actor"`
			Kind     string `json:"kind"`
			ID       int64  `json:"id"`
			User     string `json:"user"`
			Before   struct {
				IsPrivate *bool     `json:"isPrivate"`
				ShareType *int      `json:"shareType"`
				List      *[]string `json:"list"`
				Admin     *bool     `json:"admin"`
				Status    *string   `json:"status"`
			} `json:"before"`
			After json.RawMessage `json:"after"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d %q: %v", i, sc.Text(), err)
		}
		c := paged[i]
		at, err := time.Parse(time.RFC3339Nano, line.At)
		if err != nil || line.Seq != c.Seq || line.Position != c.Position || !at.Equal(c.At) || line.Actor != c.Actor {
			t.Fatalf("line %d %s does not render %+v", i, sc.Text(), c)
		}
		switch {
		case c.Entity == (crmaccess.Ref{}):
			if line.Kind != "user" || line.User != c.User || line.Before.Admin == nil || *line.Before.Admin != c.Before.Admin ||
				line.Before.Status == nil || *line.Before.Status != string(c.Before.Status) {
				t.Fatalf("line %d %s does not render %+v", i, sc.Text(), c)
			}
		case line.Kind != string(c.Entity.Kind) || line.ID != c.Entity.ID || line.Before.List == nil ||
			len(*line.Before.List) != len(c.Before.List) || *line.Before.IsPrivate != c.Before.IsPrivate:
			t.Fatalf("line %d %s does not render %+v", i, sc.Text(), c)
		case c.Entity.Kind == crmaccess.KindContact && (line.Before.ShareType == nil || *line.Before.ShareType != int(c.Before.ShareType)):
			t.Fatalf("line %d %s does not render %+v", i, sc.Text(), c)
		}
	}
	if sc.Err() != nil {
		t.Fatal(sc.Err())
	}

	count := func(f crmaccess.ChangeFilter) int {
		t.Helper()
		p, err := s.FindChanges(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Changes)
	}
	var byAlice, ofOpp2, inFirstHalf int
	half := testNow.Add(clock.peek().Sub(testNow) / 2)
	for _, c := range paged {
		if c.Actor == alice {
			byAlice++
		}
		if c.Entity == crmaccess.OpportunityRef(2) {
			ofOpp2++
		}
		if c.At.Before(half) && c.Entity == crmaccess.OpportunityRef(2) {
			inFirstHalf++
		}
	}
	if got := count(crmaccess.ChangeFilter{Actor: "{" + alice + "}"}); got != byAlice || got == 0 {
		t.Errorf("changes by alice = %d, want %d", got, byAlice)
	}
	if got := count(crmaccess.ChangeFilter{Entity: crmaccess.OpportunityRef(2)}); got != ofOpp2 || got < 3 {
		t.Errorf("changes of opportunity 2 = %d, want %d", got, ofOpp2)
	}
	if got := count(crmaccess.ChangeFilter{Entity: crmaccess.OpportunityRef(2), To: half}); got != inFirstHalf || got == ofOpp2 {
		t.Errorf("changes of opportunity 2 before %v = %d, want %d (of %d)", half, got, inFirstHalf, ofOpp2)
	}
}

func TestHistoryRefusesBadQuestions(t *testing.T) {
	ctx := context.Background()
	s, clock := historyPortal(t)
	read := crmaccess.ActionRead
	for name, err := range map[string]error{
		"time and position": second(s.WhoCould(ctx, crmaccess.OpportunityRef(1), read, crmaccess.Moment{Time: clock.peek(), Position: 1})),
		"negative position": second(s.WhoCould(ctx, crmaccess.OpportunityRef(1), read, crmaccess.Moment{Position: -1})),
		"future position":   second(s.WhoCould(ctx, crmaccess.OpportunityRef(1), read, crmaccess.Moment{Position: 1000})),
		"bad ref":           second(s.WhoCould(ctx, crmaccess.OpportunityRef(0), read, crmaccess.Moment{})),
		"bad action":        second(s.WhoCould(ctx, crmaccess.OpportunityRef(1), "fly", crmaccess.Moment{})),
		"bad user":          second(s.ReadableAt(ctx, "nobody", crmaccess.KindContact, crmaccess.Moment{})),
		"bad kind":          second(s.ReadableAt(ctx, alice, "stage", crmaccess.Moment{})),
		"bad actor":         second(s.FindChanges(ctx, crmaccess.ChangeFilter{Actor: "x"})),
		"from after to":     second(s.FindChanges(ctx, crmaccess.ChangeFilter{From: testNow.Add(time.Hour), To: testNow})),
		"limit too big":     second(s.FindChanges(ctx, crmaccess.ChangeFilter{Limit: crmaccess.MaxChangeLimit + 1})),
		"negative cursor":   second(s.FindChanges(ctx, crmaccess.ChangeFilter{After: -1})),
		"export bad ref":    second(s.ExportChanges(ctx, crmaccess.ChangeFilter{Entity: crmaccess.ContactRef(-2)}, &bytes.Buffer{})),
	} {
		if crmaccess.ErrorCode(err) != crmaccess.EINVALID {
			t.Errorf("%s: error %v, want EINVALID", name, err)
		}
	}
	// Before the first entry: the empty store, where nobody could.
	w, err := s.WhoCould(ctx, crmaccess.OpportunityRef(1), read, crmaccess.Moment{Time: testNow})
	if err != nil || w.Position != 0 || len(w.Users) != 0 || w.Everyone != "" {
		t.Errorf("WhoCould before the first entry = %+v, %v; want nobody at position 0", w, err)
	}
}

func second[T any](_ T, err error) error { return err }
