package storage_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// The conformance corpus of reading by access (SPEC §10): over hostile
// shapes of access, on every database, the Allowed scope over the host's
// own tables and Service.AllowedIDs return exactly the records Check
// allows, for every user, kind and action.

// The corpus's users.
const (
	cAdmin    = "c0000000-0000-4000-8000-000000000001" // admin
	cRevoked  = "c0000000-0000-4000-8000-000000000002" // admin at import, revoked since
	cAlice    = "c0000000-0000-4000-8000-000000000003"
	cBob      = "c0000000-0000-4000-8000-000000000004"
	cCarol    = "c0000000-0000-4000-8000-000000000005"
	cDave     = "c0000000-0000-4000-8000-000000000006"
	cEve      = "c0000000-0000-4000-8000-000000000007" // on no rule until a write
	cStranger = "c0000000-0000-4000-8000-0000000000ff" // no user row, on no rule
)

var corpusUsers = []string{cAdmin, cRevoked, cAlice, cBob, cCarol, cDave, cEve, cStranger}

// Far ids, beyond any dense range.
const (
	far1 = int64(1) << 40
	far2 = int64(1)<<62 + 3
)

func corpusFixture() *crmaccess.DataSet {
	many := func(n int) []string {
		var tags []string
		for i := range n {
			tags = append(tags, fmt.Sprintf("tag-%03d", i))
		}
		return tags
	}
	// A list longer than a record keeps inline.
	long := []string{cAlice, cBob, cCarol, cDave, cRevoked, "c0000000-0000-4000-8000-000000000101",
		"c0000000-0000-4000-8000-000000000102", "c0000000-0000-4000-8000-000000000103"}
	f := &crmaccess.DataSet{
		Users: []crmaccess.User{
			{ID: cAdmin, DisplayName: "Admin"}, {ID: cRevoked, DisplayName: "Revoked"},
			{ID: cAlice, DisplayName: "Alice"}, {ID: cBob, DisplayName: "Bob"}, {ID: cCarol, DisplayName: "Carol"},
			{ID: cDave, DisplayName: "Dave"}, {ID: cEve, DisplayName: "Eve"},
		},
		Admins: []string{cAdmin, cRevoked},
		Stages: []crmaccess.Stage{{ID: 1, Title: "Open"}},
		Contacts: []crmaccess.Contact{
			{ID: 1, IsCompany: true, CompanyName: "Shared", ShareType: crmaccess.ShareReadWrite},
			{ID: 2, FirstName: "Read", ShareType: crmaccess.ShareRead, ManagerList: []string{cAlice}, Tags: many(60)},
			{ID: 3, FirstName: "Private", ShareType: crmaccess.ShareNone, ManagerList: []string{cBob}},
			{ID: 4, FirstName: "Nobody's", CreateBy: cAlice, ShareType: crmaccess.ShareNone}, // admins only
			{ID: 5, FirstName: "Read only", ShareType: crmaccess.ShareRead},
			{ID: 6, FirstName: "Long list", ShareType: crmaccess.ShareNone, ManagerList: long},
			{ID: 7, FirstName: "Revoked's", ShareType: crmaccess.ShareNone, ManagerList: []string{cRevoked}},
			{ID: far1, FirstName: "Far", ShareType: crmaccess.ShareNone, ManagerList: []string{cCarol}},
			{ID: far2, FirstName: "Farther", ShareType: crmaccess.ShareRead},
		},
		Opportunities: []crmaccess.Opportunity{
			{ID: 1, Title: "Public", CreateBy: cAlice, Responsible: cBob, StageID: 1},
			{ID: 2, Title: "Listed", CreateBy: cAlice, Responsible: cCarol, IsPrivate: true, AccessList: []string{cDave}, Tags: many(40)},
			{ID: 3, Title: "Empty list", CreateBy: cBob, Responsible: cBob, IsPrivate: true},
			{ID: 4, Title: "Long list", CreateBy: cCarol, Responsible: cAlice, IsPrivate: true, AccessList: long},
			{ID: 5, Title: "No one", IsPrivate: true}, // admins only
			{ID: 6, Title: "Responsible only", Responsible: cDave, IsPrivate: true},
			{ID: 7, Title: "Revoked's", CreateBy: cRevoked, IsPrivate: true},
			{ID: 8, Title: "Public, no creator"},
			{ID: far1, Title: "Far", CreateBy: cAlice, IsPrivate: true, AccessList: []string{cBob}},
			{ID: far2, Title: "Farther"},
		},
	}
	return f
}

// corpus is a service over one database loaded with the corpus, and the
// host's own tables beside it: deals (one row per opportunity, and rows
// whose id is no opportunity) and people (the same for contacts).
type corpus struct {
	db      *gorm.DB
	prefix  string
	store   *storage.Store
	svc     *crmaccess.Service
	deals   string
	people  string
	records map[crmaccess.Kind]map[int64]bool // the stored records
}

// hostRowsWithoutRecord are ids of the host's rows that name no record.
var hostRowsWithoutRecord = []int64{9, 10, 1<<40 + 7, 1 << 50}

func newCorpus(t *testing.T, b backend) *corpus {
	t.Helper()
	ctx := t.Context()
	db, prefix := b.open(t)
	st, err := storage.New(ctx, db, &storage.Options{TablePrefix: prefix, RuleTable: prefix + "casbin_rule"})
	if err != nil {
		t.Fatalf("storage.New: %v", err)
	}
	svc := testportal.Service(t, st, &crmaccess.Options{PollInterval: -1})
	fx := corpusFixture()
	if _, err := svc.Import(ctx, fx); err != nil {
		t.Fatalf("Import: %v", err)
	}
	c := &corpus{db: db, prefix: prefix, store: st, svc: svc, deals: prefix + "deals", people: prefix + "people",
		records: map[crmaccess.Kind]map[int64]bool{crmaccess.KindOpportunity: {}, crmaccess.KindContact: {}}}
	for _, stmt := range []string{
		`CREATE TABLE ` + c.deals + ` (id BIGINT PRIMARY KEY, stage BIGINT NOT NULL, title TEXT NOT NULL)`,
		`CREATE TABLE ` + c.people + ` (id BIGINT PRIMARY KEY, name TEXT NOT NULL)`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range fx.Opportunities {
		c.records[crmaccess.KindOpportunity][o.ID] = true
		c.hostRow(t, crmaccess.KindOpportunity, o.ID)
	}
	for _, p := range fx.Contacts {
		c.records[crmaccess.KindContact][p.ID] = true
		c.hostRow(t, crmaccess.KindContact, p.ID)
	}
	for _, id := range hostRowsWithoutRecord {
		c.hostRow(t, crmaccess.KindOpportunity, id)
		c.hostRow(t, crmaccess.KindContact, id)
	}
	return c
}

func (c *corpus) hostRow(t *testing.T, kind crmaccess.Kind, id int64) {
	t.Helper()
	var err error
	if kind == crmaccess.KindOpportunity {
		err = c.db.Exec(`INSERT INTO `+c.deals+` (id, stage, title) VALUES (?, ?, ?)`, id, id%3, "deal").Error
	} else {
		err = c.db.Exec(`INSERT INTO `+c.people+` (id, name) VALUES (?, ?)`, id, "person").Error
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (c *corpus) table(kind crmaccess.Kind) string {
	if kind == crmaccess.KindOpportunity {
		return c.deals
	}
	return c.people
}

// writes changes access through the service after the import: the revoked
// admin, lists set and emptied, share types changed, eve listed.
func (c *corpus) writes(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := c.svc.RevokeAdmin(ctx, cAdmin, cRevoked)
	must("revoke the admin role", err)
	_, err = c.svc.SetOpportunityAccess(ctx, cAlice, 2, true, []string{cEve, cDave})
	must("set a list", err)
	_, err = c.svc.SetOpportunityAccess(ctx, cAlice, 1, true, nil) // an empty list: public
	must("an empty list", err)
	_, err = c.svc.SetOpportunityAccess(ctx, cCarol, 4, true, []string{cBob})
	must("shorten a long list", err)
	_, err = c.svc.SetOpportunityAccess(ctx, cAlice, far1, false, nil)
	must("make a far one public", err)
	_, err = c.svc.SetContactAccess(ctx, cAdmin, 1, true, nil) // private, no managers
	must("make a shared contact private", err)
	_, err = c.svc.SetContactAccess(ctx, cBob, 3, false, nil)
	must("share a private contact", err)
	_, err = c.svc.SetContactAccess(ctx, cCarol, far1, true, []string{cEve})
	must("set a far contact's managers", err)
	// Users leave: dave is removed (off every list; the records he was
	// responsible for keep his id), eve deactivated (on her lists, but she
	// may not act): the scope and the ids grant neither anything.
	_, err = c.svc.RemoveUser(ctx, cAdmin, cDave)
	must("remove a user", err)
	_, err = c.svc.SetUserActive(ctx, cAdmin, cEve, false)
	must("deactivate a user", err)
}

// wantAllowed is, of ids, those of stored records Check allows.
func (c *corpus) wantAllowed(t *testing.T, user string, kind crmaccess.Kind, a crmaccess.Action, ids []int64) []int64 {
	t.Helper()
	var want []int64
	for _, id := range slices.Sorted(slices.Values(ids)) {
		d, err := c.svc.Check(t.Context(), user, crmaccess.Ref{Kind: kind, ID: id}, a)
		if crmaccess.ErrorCode(err) == crmaccess.EUNAUTHORIZED {
			continue // not a known, active user: allowed nothing
		}
		if err != nil {
			t.Fatalf("Check(%s, %s %d, %s): %v", user, kind, id, a, err)
		}
		if d.Allowed && c.records[kind][id] {
			want = append(want, id)
		}
	}
	return want
}

// hostIDs are the ids of the host's rows of kind.
func (c *corpus) hostIDs(t *testing.T, kind crmaccess.Kind) []int64 {
	t.Helper()
	var ids []int64
	if err := c.db.Table(c.table(kind)).Order("id").Pluck("id", &ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// check holds the scope, in several host queries, and AllowedIDs to Check
// for every user, kind and action.
func (c *corpus) check(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	for _, kind := range []crmaccess.Kind{crmaccess.KindOpportunity, crmaccess.KindContact} {
		rows := c.hostIDs(t, kind)
		table := c.table(kind)
		for _, u := range corpusUsers {
			for _, a := range []crmaccess.Action{crmaccess.ActionRead, crmaccess.ActionEdit, crmaccess.ActionDelete, crmaccess.ActionChangeAccess} {
				what := fmt.Sprintf("%s %s %s", u, a, kind)
				want := c.wantAllowed(t, u, kind, a, rows)

				var got []int64
				if err := c.db.Table(table).Scopes(c.store.Allowed(u, kind, a, table+".id")).
					Order("id").Pluck("id", &got).Error; err != nil {
					t.Fatalf("%s: scope: %v", what, err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: the scope returns %v, Check allows %v", what, got, want)
				}

				// Aliased, with the host's own conditions, order and limit;
				// aliases the scope does not use itself.
				var some []int64
				if err := c.db.Table(table+" AS o").Scopes(c.store.Allowed(u, kind, a, "o.id")).
					Where("o.id <> ?", 3).Order("o.id DESC").Limit(4).Pluck("o.id", &some).Error; err != nil {
					t.Fatalf("%s: aliased scope: %v", what, err)
				}
				wantSome := slices.DeleteFunc(slices.Clone(want), func(id int64) bool { return id == 3 })
				slices.Reverse(wantSome)
				if !slices.Equal(some, wantSome[:min(4, len(wantSome))]) {
					t.Errorf("%s: aliased: %v, want %v", what, some, wantSome[:min(4, len(wantSome))])
				}

				// Counted.
				var n int64
				if err := c.db.Table(table).Scopes(c.store.Allowed(u, kind, a, table+".id")).Count(&n).Error; err != nil || n != int64(len(want)) {
					t.Errorf("%s: count %d (%v), want %d", what, n, err, len(want))
				}

				// The readable ids: the stored records Check allows.
				wantIDs := c.wantAllowed(t, u, kind, a, slices.Collect(func(yield func(int64) bool) {
					for id := range c.records[kind] {
						if !yield(id) {
							return
						}
					}
				}))
				for _, limit := range []int{2, crmaccess.MaxIDPage} {
					var ids []int64
					var after int64
					for range len(wantIDs) + 1 {
						page, err := c.svc.AllowedIDs(ctx, u, kind, a, after, limit)
						if crmaccess.ErrorCode(err) == crmaccess.EUNAUTHORIZED && len(wantIDs) == 0 {
							break // not a known, active user
						}
						if err != nil {
							t.Fatalf("%s: AllowedIDs: %v", what, err)
						}
						if page.Total != len(wantIDs) {
							t.Errorf("%s: AllowedIDs after %d: total %d, want %d", what, after, page.Total, len(wantIDs))
						}
						ids = append(ids, page.IDs...)
						if page.Next == 0 {
							break
						}
						after = page.Next
					}
					if !slices.Equal(ids, wantIDs) {
						t.Errorf("%s: AllowedIDs by %d: %v, Check allows %v", what, limit, ids, wantIDs)
					}
				}
			}
		}
	}
}

func TestAllowedIsWhatCheckAllows(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := newCorpus(t, b)
			t.Run("imported", c.check)
			c.writes(t)
			t.Run("after writes", c.check)
		})
	}
}

// The store's own record table can be the host's table: the scope's
// aliases hide its name inside, so the id column still means the outer row.
func TestAllowedOverTheStoresOwnTable(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := newCorpus(t, b)
			opps := c.prefix + "opportunities"
			var got []int64
			if err := c.db.Table(opps).Scopes(c.store.Allowed(cBob, crmaccess.KindOpportunity, crmaccess.ActionRead, opps+".id")).
				Order("id").Pluck("id", &got).Error; err != nil {
				t.Fatal(err)
			}
			if want := c.wantAllowed(t, cBob, crmaccess.KindOpportunity, crmaccess.ActionRead, c.hostIDs(t, crmaccess.KindOpportunity)); !slices.Equal(got, want) {
				t.Errorf("over %s: %v, want %v", opps, got, want)
			}
		})
	}
}

// A bad argument fails closed: the query returns no rows and EINVALID,
// never every row.
func TestAllowedFailsClosed(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := newCorpus(t, b)
			col := c.deals + ".id"
			for _, tc := range []struct {
				name   string
				user   string
				kind   crmaccess.Kind
				action crmaccess.Action
				column string
			}{
				{"unqualified column", cAdmin, crmaccess.KindOpportunity, crmaccess.ActionRead, "id"},
				{"empty column", cAdmin, crmaccess.KindOpportunity, crmaccess.ActionRead, ""},
				{"injected column", cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, col + " OR 1 = 1"},
				{"commented column", cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, col + "--"},
				{"quoted column", cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, `"` + c.deals + `".id`},
				{"four-part column", cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, "a.b.c.id"},
				{"the scope's own alias", cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, "crmaccess_rec.id"},
				{"the scope's alias in other case", cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, "CRMACCESS_RULE.v0"},
				{"empty user", "", crmaccess.KindOpportunity, crmaccess.ActionRead, col},
				{"user not a GUID", "alice", crmaccess.KindOpportunity, crmaccess.ActionRead, col},
				{"upper-case user", "C0000000-0000-4000-8000-000000000001", crmaccess.KindOpportunity, crmaccess.ActionRead, col},
				{"braced user", "{" + cAdmin + "}", crmaccess.KindOpportunity, crmaccess.ActionRead, col},
				{"the public marker as user", "crm:public", crmaccess.KindOpportunity, crmaccess.ActionRead, col},
				{"the admin role as user", "crm:admin", crmaccess.KindOpportunity, crmaccess.ActionRead, col},
				{"unknown kind", cAdmin, "deal", crmaccess.ActionRead, col},
				{"unknown action", cAdmin, crmaccess.KindOpportunity, "write", col},
			} {
				ids := []int64{-1}
				err := c.db.Table(c.deals).Scopes(c.store.Allowed(tc.user, tc.kind, tc.action, tc.column)).Pluck("id", &ids).Error
				if crmaccess.ErrorCode(err) != crmaccess.EINVALID {
					t.Errorf("%s: error %v, want EINVALID", tc.name, err)
				}
				if len(ids) > 0 && ids[0] != -1 {
					t.Errorf("%s: rows %v", tc.name, ids)
				}
				var n int64
				if err := c.db.Table(c.deals).Scopes(c.store.Allowed(tc.user, tc.kind, tc.action, tc.column)).Count(&n).Error; err == nil || n != 0 {
					t.Errorf("%s: count %d, %v", tc.name, n, err)
				}
			}
		})
	}
}

// A token in ctx is honoured as by Check: a state this instance has not
// reached makes AllowedIDs wait, then fail with EUNAVAILABLE.
func TestAllowedIDsHonoursTokens(t *testing.T) {
	b := backends(t)[0]
	c := newCorpus(t, b)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	future := crmaccess.Token("p999999")
	_, err := c.svc.AllowedIDs(crmaccess.WithToken(ctx, future), cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, 0, 10)
	if crmaccess.ErrorCode(err) != crmaccess.EUNAVAILABLE {
		t.Fatalf("a future token: %v, want EUNAVAILABLE", err)
	}
	page, err := c.svc.AllowedIDs(t.Context(), cAlice, crmaccess.KindOpportunity, crmaccess.ActionRead, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if page.Token != c.svc.Token() {
		t.Errorf("page token %q, service at %q", page.Token, c.svc.Token())
	}
}
