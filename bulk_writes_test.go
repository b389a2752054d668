package crmaccess_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// bulkRecords is how many opportunities and contacts the bulk writes
// change: more than one statement's 1,000 rows, so that on PostgreSQL
// their rules, change records and share updates take the bulk path.
const bulkRecords = 1200

// TestBulkWritesMatchMemoryAndLog runs the three large writes (the filter
// call making 1,200 contacts private with two managers, the removal of a
// user on 2,400 lists, the filter call back to shared) on every database,
// and after each holds memory to the database and to the log: a service
// opened afresh on the database decides the same, and the change records
// of every write, replayed in order from the state before it, each start
// where the one before ended and end at what memory holds.
func TestBulkWritesMatchMemoryAndLog(t *testing.T) {
	t.Parallel() // a long test of its own: it overlaps the others of its kind on the second core
	eachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		fx := portalFixture(t)
		first := int64(1000)
		var refs []crmaccess.Ref
		for i := range int64(bulkRecords) {
			fx.Opportunities = append(fx.Opportunities, crmaccess.Opportunity{ID: first + i, Title: "Deal", CreateBy: alice,
				Responsible: bob, IsPrivate: true, AccessList: sortedGUIDs(carol, dave)})
			fx.Contacts = append(fx.Contacts, crmaccess.Contact{ID: first + i, FirstName: "Bulk", Tags: []string{"bulk"},
				CreateBy: alice, ShareType: crmaccess.ShareReadWrite})
			refs = append(refs, crmaccess.OpportunityRef(first+i), crmaccess.ContactRef(first+i))
		}
		p := newEmptyPortalOn(t, db)
		if _, err := p.Import(ctx, fx); err != nil {
			t.Fatal(err)
		}
		users := []string{admin, alice, bob, carol, dave}
		sample := refs[:0:0]
		for i, r := range refs {
			if i%97 == 0 || i > len(refs)-3 {
				sample = append(sample, r)
			}
		}
		filter := crmaccess.ContactFilter{Tags: []string{"bulk"}}
		writes := []struct {
			name  string
			write func() (crmaccess.Token, error)
		}{
			{"the filter call to private", func() (crmaccess.Token, error) {
				r, err := p.SetContactsAccess(ctx, admin, filter, true, []string{carol, dave})
				if err == nil && len(r.Contacts) != bulkRecords {
					err = fmt.Errorf("%d contacts changed", len(r.Contacts))
				}
				return bulkToken(r), err
			}},
			{"RemoveUser of a user on every list", func() (crmaccess.Token, error) { return p.RemoveUser(ctx, admin, dave) }},
			{"the filter call back to shared", func() (crmaccess.Token, error) {
				r, err := p.SetContactsAccess(ctx, admin, filter, false, nil)
				return bulkToken(r), err
			}},
		}
		for _, w := range writes {
			before := bulkAccessOf(t, p.Service, refs)
			head := bulkLogHead(t, p)
			if _, err := w.write(); err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			after := bulkAccessOf(t, p.Service, refs)
			// The log: the entries after head, replayed from before.
			replay := maps.Clone(before)
			changed := 0
			err := p.store.Log(ctx, head, func(e *crmaccess.LogEntry) error {
				for _, c := range e.Changes {
					if c.Entity == (crmaccess.Ref{}) {
						continue
					}
					key := c.Entity.String()
					if _, ok := replay[key]; !ok {
						continue // a record of the test portal
					}
					if got := stateKey(c.Entity, c.Before); replay[key] != got {
						return fmt.Errorf("change of %s starts from %s; the state before was %s", key, got, replay[key])
					}
					replay[key] = stateKey(c.Entity, c.After)
					changed++
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			if changed < bulkRecords {
				t.Fatalf("%s: %d change records of the bulk records, want at least %d", w.name, changed, bulkRecords)
			}
			if d := diffMaps(after, replay); d != "" {
				t.Fatalf("%s: memory differs from the log replayed:\n%s", w.name, d)
			}
			// The database: a service opened afresh on it.
			fresh := p.reopen(t)
			sameMemory(t, w.name+": a service opened on the database", serviceState{Decisions: decisionsOf(t, p.Service, users, sample, "unauthorized")},
				serviceState{Decisions: decisionsOf(t, fresh.Service, users, sample, "unauthorized")})
			if d := diffMaps(after, bulkAccessOf(t, fresh.Service, refs)); d != "" {
				t.Fatalf("%s: the database differs from memory:\n%s", w.name, d)
			}
			// The records' own rows: a contact's stored share type.
			var ids []int64
			for _, r := range refs {
				if r.Kind == crmaccess.KindContact {
					ids = append(ids, r.ID)
				}
			}
			stored, err := p.store.Contacts(ctx, ids)
			if err != nil || len(stored) != len(ids) {
				t.Fatalf("%s: %d of %d contacts read: %v", w.name, len(stored), len(ids), err)
			}
			for _, c := range stored {
				r := crmaccess.ContactRef(c.ID)
				if got, want := fmt.Sprint(c.ShareType), after[r.String()]; !strings.HasPrefix(want, got+" ") {
					t.Fatalf("%s: contact %d stored with share type %s, memory holds %s", w.name, c.ID, got, want)
				}
			}
		}
	})
}

func bulkToken(r *crmaccess.ContactsAccessResult) crmaccess.Token {
	if r == nil {
		return ""
	}
	return r.Token
}

func sortedGUIDs(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }

// bulkLogHead is the position of the newest entry of p's log.
func bulkLogHead(t *testing.T, p *portal) int64 {
	t.Helper()
	var head int64
	if err := p.store.Log(context.Background(), 0, func(e *crmaccess.LogEntry) error { head = e.Position; return nil }); err != nil {
		t.Fatal(err)
	}
	return head
}

// stateKey is what a record's access state shows through the service:
// privacy and list (an opportunity), share type and managers (a contact).
func stateKey(ref crmaccess.Ref, st crmaccess.AccessState) string {
	if ref.Kind == crmaccess.KindOpportunity {
		list := st.List
		if !st.IsPrivate {
			list = nil
		}
		return fmt.Sprint(st.IsPrivate, " ", slices.Sorted(slices.Values(list)))
	}
	return fmt.Sprint(st.ShareType, " ", slices.Sorted(slices.Values(st.List)))
}

// bulkAccessOf reads every ref's access through s, as an admin, keyed by ref.
func bulkAccessOf(t *testing.T, s *crmaccess.Service, refs []crmaccess.Ref) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var contacts []int64
	for _, r := range refs {
		if r.Kind == crmaccess.KindContact {
			contacts = append(contacts, r.ID)
			continue
		}
		o, err := s.Opportunity(ctx, admin, r.ID)
		if err != nil {
			t.Fatalf("Opportunity %d: %v", r.ID, err)
		}
		out[r.String()] = stateKey(r, crmaccess.AccessState{IsPrivate: o.IsPrivate, List: o.AccessList})
	}
	cs, err := s.Contacts(ctx, admin, contacts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		r := crmaccess.ContactRef(c.ID)
		out[r.String()] = stateKey(r, crmaccess.AccessState{ShareType: c.ShareType, List: c.ManagerList})
	}
	if len(out) != len(refs) {
		t.Fatalf("%d of %d records read", len(out), len(refs))
	}
	return out
}

// TestBulkFailuresLeaveNoTrace fails each statement of the bulk path on
// PostgreSQL once (the fault test's driver wraps SQLite only): a trigger
// raising an error on the share update, the rules' DELETE, the rules'
// COPY, the change records' COPY and the log entry. Each failed write
// leaves the database and memory as they were (a service opened afresh
// agrees); the write then succeeds.
func TestBulkFailuresLeaveNoTrace(t *testing.T) {
	t.Parallel() // a long test of its own: it overlaps the others of its kind on the second core
	if testportal.Databases()[len(testportal.Databases())-1] != testportal.PostgreSQL {
		t.Skip("CRMACCESS_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	fx := portalFixture(t)
	var refs []crmaccess.Ref
	for i := range int64(bulkRecords) {
		fx.Opportunities = append(fx.Opportunities, crmaccess.Opportunity{ID: 1000 + i, Title: "Deal", CreateBy: alice,
			Responsible: bob, IsPrivate: true, AccessList: sortedGUIDs(carol, dave)})
		fx.Contacts = append(fx.Contacts, crmaccess.Contact{ID: 1000 + i, FirstName: "Bulk", Tags: []string{"bulk"},
			CreateBy: alice, ShareType: crmaccess.ShareReadWrite})
		refs = append(refs, crmaccess.OpportunityRef(1000+i), crmaccess.ContactRef(1000+i))
	}
	p := newEmptyPortalOn(t, testportal.PostgreSQL)
	if _, err := p.Import(ctx, fx); err != nil {
		t.Fatal(err)
	}
	db := testdb.Postgres(t)
	tables := p.place.Tables
	fail := tables.TablePrefix + "fail"
	if err := db.Exec(`CREATE FUNCTION ` + fail + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$`).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(`DROP FUNCTION IF EXISTS ` + fail + `() CASCADE`) })
	filter := crmaccess.ContactFilter{Tags: []string{"bulk"}}
	writes := []struct {
		name  string
		write func() error
		fails []string // "OPERATION table" the write runs in bulk
	}{
		{"the filter call to private", func() error {
			_, err := p.SetContactsAccess(ctx, admin, filter, true, []string{carol, dave})
			return err
		}, []string{"UPDATE " + tables.TablePrefix + "contacts", "DELETE " + tables.RuleTable, "INSERT " + tables.RuleTable,
			"INSERT " + tables.TablePrefix + "changes", "INSERT " + tables.TablePrefix + "log"}},
		{"RemoveUser of a user on every list", func() error {
			_, err := p.RemoveUser(ctx, admin, dave)
			return err
		}, []string{"DELETE " + tables.RuleTable, "INSERT " + tables.TablePrefix + "changes"}},
	}
	users := []string{admin, alice, bob, carol, dave}
	sample := refs[:0:0]
	for i, r := range refs {
		if i%97 == 0 || i > len(refs)-3 {
			sample = append(sample, r)
		}
	}
	for _, w := range writes {
		for _, op := range w.fails {
			before := bulkAccessOf(t, p.Service, refs)
			decided := decisionsOf(t, p.Service, users, sample, "unauthorized")
			verb, table, _ := strings.Cut(op, " ")
			if err := db.Exec(`CREATE TRIGGER ` + fail + ` BEFORE ` + verb + ` ON ` + table +
				` FOR EACH STATEMENT EXECUTE FUNCTION ` + fail + `()`).Error; err != nil {
				t.Fatal(err)
			}
			err := w.write()
			if err := db.Exec(`DROP TRIGGER ` + fail + ` ON ` + table).Error; err != nil {
				t.Fatal(err)
			}
			if err == nil || !strings.Contains(err.Error(), "injected") {
				t.Fatalf("%s with %s failing: %v, want the injected error", w.name, op, err)
			}
			if d := diffMaps(before, bulkAccessOf(t, p.Service, refs)); d != "" {
				t.Fatalf("%s with %s failing: memory changed:\n%s", w.name, op, d)
			}
			fresh := p.reopen(t)
			if d := diffMaps(before, bulkAccessOf(t, fresh.Service, refs)); d != "" {
				t.Fatalf("%s with %s failing: the database changed:\n%s", w.name, op, d)
			}
			sameMemory(t, w.name+" with "+op+" failing", serviceState{Decisions: decided},
				serviceState{Decisions: decisionsOf(t, fresh.Service, users, sample, "unauthorized")})
		}
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
	}
}
