package crmaccess_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
)

// hostileTags and hostileNames are tag and name texts full of SQL and LIKE
// metacharacters, escapes, NUL and letters whose case folding is unusual.
var (
	hostileTags = []string{
		"100%", "100_", "a_b", "a%b", "it's", `say "hi"`, "x'; DROP TABLE casbin_rule;--", `back\slash`,
		"semi;colon", "nul\x00byte", "*", "?", "[abc]", "İstanbul", "ß", "Σίσυφος", " padded ", "lead",
	}
	hostileNames = []string{
		"O'Brien", "100% Pure", "under_score", `Back\Slash`, "Robert'); DROP TABLE crm_contacts;--", "nul\x00name",
		"İlker", "STRASSE", "%", "_", "--", "'", `"`, "Ünïcödé Name",
	}
)

// hostilePortal is a service over a fresh file with contacts whose tags and
// names are hostile texts, and the opportunities some of them take part in.
func hostilePortal(t testing.TB) (*portal, []crmaccess.Contact, map[int64]bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hostile.db")
	p := openPortal(t, path)
	fx := &crmaccess.DataSet{Users: []crmaccess.User{
		{ID: admin, DisplayName: "Admin"}, {ID: alice, DisplayName: "Alice"}, {ID: bob, DisplayName: "Bob"},
	}, Admins: []string{admin}}
	base := time.Date(2021, 4, 23, 0, 0, 0, 0, time.UTC)
	share := []crmaccess.ShareType{crmaccess.ShareNone, crmaccess.ShareReadWrite, crmaccess.ShareRead}
	for i := range 40 {
		st := share[i%3]
		c := crmaccess.Contact{
			ID: int64(i + 1), IsCompany: i%5 == 0, ContactStage: int64(i % 3), ContactType: int64(i % 4),
			Created: base.Add(time.Duration(i) * 13 * time.Hour), CreateBy: alice, ShareType: st,
		}
		name := hostileNames[i%len(hostileNames)]
		if c.IsCompany {
			c.CompanyName = name
		} else {
			c.FirstName, c.LastName = name, hostileNames[(i*7+3)%len(hostileNames)]
		}
		for j := range i % 4 {
			c.Tags = append(c.Tags, hostileTags[(i*3+j*5)%len(hostileTags)])
		}
		if st != crmaccess.ShareReadWrite && i%2 == 0 {
			c.ManagerList = []string{bob}
		}
		fx.Contacts = append(fx.Contacts, c)
	}
	fx.Opportunities = []crmaccess.Opportunity{
		{ID: 1, Title: "o1", CreateBy: alice, ContactID: 3, Members: []int64{4, 9}},
		{ID: 2, Title: "o2", CreateBy: alice, ContactID: 17, IsPrivate: true, AccessList: []string{bob}},
	}
	if _, err := p.Import(context.Background(), fx); err != nil {
		t.Fatal(err)
	}
	all, err := p.store.FindContacts(context.Background(), &crmaccess.ContactFilter{})
	if err != nil || len(all) != 40 {
		t.Fatalf("FindContacts: %d, %v", len(all), err)
	}
	withOpp := map[int64]bool{3: true, 4: true, 9: true, 17: true}
	return p, all, withOpp
}

// reference returns the ids of contacts f matches by the reference
// semantics, ContactFilter.Match.
func reference(f *crmaccess.ContactFilter, all []crmaccess.Contact, withOpp map[int64]bool) []int64 {
	var ids []int64
	for i := range all {
		if f.Match(&all[i], withOpp[all[i].ID]) {
			ids = append(ids, all[i].ID)
		}
	}
	return ids
}

func ids(cs []crmaccess.Contact) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// FuzzContactFilter builds a filter from any input, hostile tags and search
// text included: a filter that fails Validate fails with EINVALID, and a
// valid one selects in SQL exactly the contacts ContactFilter.Match selects.
func FuzzContactFilter(f *testing.F) {
	f.Add("lead", int64(-1), int64(-1), 0, int64(0), int64(0), int32(0), "")
	f.Add("100%", int64(0), int64(2), 1, int64(1619136000), int64(1620000000), int32(180), "o'b")
	f.Add("a_b,A_B, a_b ", int64(1), int64(-3), 2, int64(0), int64(1619740800), int32(-300), "_")
	f.Add("x'; DROP TABLE casbin_rule;--", int64(2), int64(0), 3, int64(0), int64(0), int32(0), "robert'); drop")
	f.Add("nul\x00byte,İstanbul", int64(-1), int64(1), 0, int64(1619740800), int64(1619136000), int32(0), "%")
	f.Add(" ,lead", int64(-1), int64(-1), 4, int64(0), int64(0), int32(0), `back\`)
	f.Add("ß,STRASSE", int64(9), int64(9), -1, int64(-62135596800), int64(253402300799), int32(1439), "ünï \x00")
	p, all, withOpp := hostilePortal(f)
	f.Fuzz(func(t *testing.T, tags string, stage, typ int64, view int, from, to int64, toOffsetMinutes int32, search string) {
		var flt crmaccess.ContactFilter
		if tags != "" {
			flt.Tags = strings.Split(tags, ",")
		}
		flt.Stage, flt.Type = &stage, &typ
		flt.ListView = crmaccess.ListView(view)
		// Bounds within the years 1 to 9999; 0 is no bound.
		const minSec, maxSec = -62135596800, 253402300799
		if from != 0 {
			flt.FromDate = time.Unix(minSec+abs(from)%(maxSec-minSec), 0).UTC()
		}
		if to != 0 {
			zone := time.FixedZone("", int(toOffsetMinutes%(24*60))*60)
			flt.ToDate = time.Unix(minSec+abs(to)%(maxSec-minSec), 0).In(zone)
		}
		flt.Search = search
		ctx := context.Background()
		if err := flt.Validate(); err != nil {
			if crmaccess.ErrorCode(err) != crmaccess.EINVALID {
				t.Fatalf("Validate(%+v): %v", flt, err)
			}
			if _, err := p.SetContactsAccess(ctx, admin, flt, true, nil); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
				t.Fatalf("SetContactsAccess with an invalid filter %+v: %v", flt, err)
			}
			return
		}
		got, err := p.store.FindContacts(ctx, &flt)
		if err != nil {
			t.Fatalf("FindContacts(%+v): %v", flt, err)
		}
		if want := reference(&flt, all, withOpp); !slices.Equal(ids(got), want) {
			t.Fatalf("FindContacts(%+v) = %v, Match selects %v", flt, ids(got), want)
		}
	})
}

func abs(n int64) int64 {
	if n < 0 {
		if n == -n { // the most negative int64
			return 0
		}
		return -n
	}
	return n
}

// FuzzParseGUIDList: a list parses when every entry does, into distinct
// canonical ids in ascending order; otherwise it fails with EINVALID.
func FuzzParseGUIDList(f *testing.F) {
	f.Add("9924256A-739C-462b-AF15-E652A3B1B6EB,{9924256a-739c-462b-af15-e652a3b1b6eb}")
	f.Add("aaaaaaaa-0000-0000-0000-000000000002,aaaaaaaa-0000-0000-0000-000000000001,aaaaaaaa-0000-0000-0000-000000000002")
	f.Add(",x")
	f.Add("{aaaaaaaa-0000-0000-0000-000000000002")
	f.Add("aaaaaaaa-0000-0000-0000-00000000000g")
	f.Add("aaaaaaaa-0000-0000-0000-000000000001'; DROP TABLE casbin_rule;--")
	f.Fuzz(func(t *testing.T, joined string) {
		list := strings.Split(joined, ",")
		got, err := crmaccess.ParseGUIDList("accessList", list)
		bad := slices.ContainsFunc(list, func(s string) bool { _, err := crmaccess.ParseGUID(s); return err != nil })
		if bad {
			if crmaccess.ErrorCode(err) != crmaccess.EINVALID || got != nil {
				t.Fatalf("ParseGUIDList(%q) = %v, %v; want EINVALID", list, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseGUIDList(%q): %v", list, err)
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("ParseGUIDList(%q) = %v: not distinct and ascending", list, got)
		}
		for _, s := range list {
			id, _ := crmaccess.ParseGUID(s)
			if !slices.Contains(got, id) {
				t.Fatalf("ParseGUIDList(%q) = %v lacks %s", list, got, id)
			}
		}
		for _, id := range got {
			if again, err := crmaccess.ParseGUID(id); err != nil || again != id {
				t.Fatalf("ParseGUIDList(%q) = %v: %q is not canonical", list, got, id)
			}
		}
	})
}

// TestHostileTextIsHarmless: filters whose tags and search text are full of
// SQL metacharacters match exactly the contacts that carry those texts,
// fail nothing, change nothing they should not, and leave every table in
// place.
func TestHostileTextIsHarmless(t *testing.T) {
	p, all, withOpp := hostilePortal(t)
	ctx := context.Background()
	tablesBefore := dbStateTables(t, p.path)
	for _, tag := range hostileTags {
		for _, search := range append([]string{""}, hostileNames...) {
			f := crmaccess.ContactFilter{Tags: []string{tag}, Search: search}
			if strings.TrimSpace(tag) == "" {
				continue
			}
			got, err := p.store.FindContacts(ctx, &f)
			if err != nil {
				t.Fatalf("tag %q search %q: %v", tag, search, err)
			}
			if want := reference(&f, all, withOpp); !slices.Equal(ids(got), want) {
				t.Fatalf("tag %q search %q: %v, want %v", tag, search, ids(got), want)
			}
		}
	}
	// A tag with LIKE wildcards matches only itself.
	for _, c := range []struct {
		tag  string
		want string
	}{{"100_", "100_"}, {"100%", "100%"}, {"a_b", "a_b"}, {"%", ""}, {"_", ""}, {"*", "*"}} {
		got, err := p.store.FindContacts(ctx, &crmaccess.ContactFilter{Tags: []string{c.tag}})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range got {
			if !slices.ContainsFunc(g.Tags, func(s string) bool { return crmaccess.NormalizeTag(s) == c.want }) {
				t.Errorf("tag %q matched contact %d with tags %q", c.tag, g.ID, g.Tags)
			}
		}
	}
	// A write through such a filter changes exactly the matching contacts.
	f := crmaccess.ContactFilter{Tags: []string{"x'; DROP TABLE casbin_rule;--", " ? "}}
	want := reference(&f, all, withOpp)
	if len(want) == 0 {
		t.Fatal("the data set has no contact with both tags")
	}
	res, err := p.SetContactsAccess(ctx, admin, f, true, []string{bob})
	if err != nil {
		t.Fatal(err)
	}
	var changed []int64
	for _, c := range res.Contacts {
		changed = append(changed, c.ID)
	}
	if !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	tablesAfter := dbStateTables(t, p.path)
	for name, rows := range tablesBefore {
		if _, ok := tablesAfter[name]; !ok {
			t.Errorf("table %s is gone", name)
		}
		switch name {
		case "casbin_rule", "crm_changes", "crm_contacts", "crm_log", "sqlite_sequence":
			continue // the write changed these
		}
		if !slices.Equal(rows, tablesAfter[name]) {
			t.Errorf("table %s changed", name)
		}
	}
	for _, c := range all {
		if !slices.Contains(want, c.ID) {
			got, err := p.Contacts(ctx, admin, []int64{c.ID})
			if err != nil || len(got) != 1 || got[0].ShareType != c.ShareType {
				t.Errorf("contact %d, not matched, changed: %+v %v", c.ID, got, err)
			}
		}
	}
	t.Logf("hostile text: %d tags × %d search texts compared with the reference; the write changed %v", len(hostileTags), len(hostileNames)+1, want)
}

func dbStateTables(t *testing.T, path string) map[string][]string {
	t.Helper()
	return dbState(t, path).Tables
}
