package crmaccess_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// A bulk change of contacts' access reads its contacts through the store's
// ContactScanner, writes its batch in parts (PartStore) and stages the
// rules for memory as it writes them (PartStager). wholeBatchStore and
// wholeApplyAuth hide those capabilities: the service then reads every
// contact with FindContacts, writes one batch with Update and applies one
// Apply, the plain path every other store gets. partApplyAuth keeps only
// PartApplier: the parts are written, and memory derives their rules again
// once the write has committed.

type wholeBatchStore struct{ crmaccess.Store }

func (s wholeBatchStore) Update(ctx context.Context, build func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error)) (int64, error) {
	return s.Store.Update(ctx, func(ctx context.Context, tx crmaccess.Reader, head int64) (*crmaccess.Batch, error) {
		return build(ctx, plainReader{tx}, head)
	})
}

type plainReader struct{ crmaccess.Reader }

type wholeApplyAuth struct{ crmaccess.Authorizer }

type partApplyAuth struct {
	crmaccess.Authorizer
	parts crmaccess.PartApplier
}

func (a partApplyAuth) ApplyParts(removes, adds int, parts func(apply func(remove, add []crmaccess.Rule) error) error) error {
	return a.parts.ApplyParts(removes, adds, parts)
}

// leanPair is the same data set in three stores: one written through the
// lean path, one through the plain path, one through the lean path whose
// memory derives the rules again (partApplyAuth).
type leanPair struct {
	lean, plain, derived       *crmaccess.Service
	leanSt, plainSt, derivedSt *storage.Store
}

func newLeanPair(t *testing.T, db database, fx *crmaccess.DataSet) *leanPair {
	t.Helper()
	ctx := t.Context()
	p := &leanPair{leanSt: testportal.NewStore(t, db).Open(t), plainSt: testportal.NewStore(t, db).Open(t),
		derivedSt: testportal.NewStore(t, db).Open(t)}
	p.lean = serviceOver(t, p.leanSt)
	engines := [2]*policy.Engine{}
	for i := range engines {
		var err error
		if engines[i], err = policy.New(); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if p.plain, err = crmaccess.NewService(ctx, wholeBatchStore{p.plainSt}, wholeApplyAuth{engines[0]}, testOptions()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.plain.Close() })
	if p.derived, err = crmaccess.NewService(ctx, p.derivedSt, partApplyAuth{engines[1], engines[1]}, testOptions()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.derived.Close() })
	for _, s := range []*crmaccess.Service{p.lean, p.plain, p.derived} {
		if _, err := s.Import(ctx, fx); err != nil {
			t.Fatalf("Import: %v", err)
		}
	}
	return p
}

// same runs one call on both services and fails unless they answer alike.
func (p *leanPair) same(t *testing.T, what string, call func(*crmaccess.Service) (*crmaccess.ContactsAccessResult, error)) *crmaccess.ContactsAccessResult {
	t.Helper()
	lean, lerr := call(p.lean)
	for _, other := range []struct {
		name string
		s    *crmaccess.Service
	}{{"plain", p.plain}, {"derived", p.derived}} {
		got, err := call(other.s)
		if crmaccess.ErrorCode(lerr) != crmaccess.ErrorCode(err) {
			t.Fatalf("%s: error %v on the lean path, %v on the %s one", what, lerr, err, other.name)
		}
		if !reflect.DeepEqual(lean, got) {
			t.Fatalf("%s: the answers differ:\nlean  %s\n%-5s %s", what, brief(lean), other.name, brief(got))
		}
	}
	return lean
}

// brief shows where two answers differ without printing every contact.
func brief(r *crmaccess.ContactsAccessResult) string {
	if r == nil {
		return "nil"
	}
	return fmt.Sprintf("%d contacts, %d skipped, token %s, first %+v", len(r.Contacts), r.Skipped, r.Token, r.Contacts[:min(2, len(r.Contacts))])
}

// TestLeanContactsAccessDecidesAndWritesAsTheWholeBatch runs the same
// calls through the lean path (several parts a write) and the plain one
// and compares what they answer, what they wrote (log entries, change
// records, rules, share types) and what memory holds afterwards.
func TestLeanContactsAccessDecidesAndWritesAsTheWholeBatch(t *testing.T) {
	defer crmaccess.SetPartSizes(64, 48)()
	eachDatabase(t, testLeanContactsAccessDecidesAndWritesAsTheWholeBatch)
}

func testLeanContactsAccessDecidesAndWritesAsTheWholeBatch(t *testing.T, db database) {
	ctx := t.Context()
	p := newLeanPair(t, db, dataset.Contacts(300)) // 360 contacts, 300 matching: 5 parts
	filter := dataset.Filter()
	admin, managers := dataset.UserID(dataset.ContactsAdmin), dataset.Managers()
	// A user who is not an admin: edits the shared contacts and those it
	// manages, and does not see the other private ones.
	manager := dataset.UserID(7)
	persons := crmaccess.ContactFilter{ListView: crmaccess.ListPerson}
	steps := []struct {
		name string
		call func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error)
	}{
		{"preview private", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.PreviewContactsAccess(ctx, admin, filter, true, managers)
		}},
		{"private with managers", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.SetContactsAccess(ctx, admin, filter, true, managers)
		}},
		{"the same again: nothing changes", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.SetContactsAccess(ctx, admin, filter, true, managers)
		}},
		{"a manager makes persons private", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.SetContactsAccess(ctx, manager, persons, true, []string{manager, admin})
		}},
		{"by ids, some missing", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.SetContactsAccessByID(ctx, admin, []int64{9999, 5, 1, 300, 77, 2}, true, []string{manager})
		}},
		{"preview shared", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.PreviewContactsAccess(ctx, admin, crmaccess.ContactFilter{}, false, nil)
		}},
		{"every contact back to shared", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{}, false, nil)
		}},
		{"a search", func(s *crmaccess.Service) (*crmaccess.ContactsAccessResult, error) {
			return s.SetContactsAccess(ctx, admin, crmaccess.ContactFilter{Search: "company 1"}, true, managers)
		}},
	}
	changed := 0
	for _, st := range steps {
		res := p.same(t, st.name, st.call)
		for _, c := range res.Contacts {
			if c.Changed {
				changed++
			}
		}
	}
	if changed < 600 {
		t.Fatalf("%d contacts changed in all: the steps do not exercise several parts", changed)
	}
	// What the two stores hold, and what the two memories answer.
	if l, p := logOf(t, p.leanSt), logOf(t, p.plainSt); !reflect.DeepEqual(l, p) {
		t.Errorf("the logs differ: %d entries on the lean path, %d on the plain one", len(l), len(p))
	}
	if l, p := rulesOf(t, p.leanSt), rulesOf(t, p.plainSt); !slices.Equal(l, p) {
		t.Errorf("the stored rules differ: %d on the lean path, %d on the plain one", len(l), len(p))
	}
	ids := make([]int64, 360)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	if l, d := rulesOf(t, p.leanSt), rulesOf(t, p.derivedSt); !slices.Equal(l, d) {
		t.Errorf("the stored rules differ: %d on the lean path, %d on the derived one", len(l), len(d))
	}
	for _, u := range []string{admin, manager, dataset.UserID(11), dataset.UserID(500)} {
		l, err := p.lean.Contacts(ctx, u, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []*crmaccess.Service{p.plain, p.derived} {
			o, err := other.Contacts(ctx, u, ids)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l, o) {
				t.Errorf("user %s reads different contacts from the memories", u)
			}
		}
	}
	// Memory as the stored rules make it: a fresh service over each store
	// answers as the service that wrote.
	fresh := serviceOver(t, p.leanSt)
	for _, u := range []string{admin, manager, dataset.UserID(11)} {
		l, err := p.lean.Contacts(ctx, u, ids)
		if err != nil {
			t.Fatal(err)
		}
		f, err := fresh.Contacts(ctx, u, ids)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(l, f) {
			t.Errorf("user %s: the lean path's memory differs from a reload of its store", u)
		}
	}
}

// logOf is every entry of a store's log.
func logOf(t *testing.T, st crmaccess.Store) []crmaccess.LogEntry {
	t.Helper()
	var out []crmaccess.LogEntry
	if err := st.Log(t.Context(), 0, func(e *crmaccess.LogEntry) error { out = append(out, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// rulesOf is every stored rule, sorted.
func rulesOf(t *testing.T, st crmaccess.Store) []crmaccess.Rule {
	t.Helper()
	var out []crmaccess.Rule
	if _, err := st.Snapshot(t.Context(), func(r crmaccess.Rule) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b crmaccess.Rule) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
	})
	return out
}

// partFailingStore fails the write of a write's second part.
type partFailingStore struct{ *storage.Store }

var errPartLost = errors.New("disk I/O error")

func (s partFailingStore) UpdateInParts(ctx context.Context, build func(context.Context, crmaccess.Reader, int64, func(*crmaccess.Batch) error) error) (int64, error) {
	return s.Store.UpdateInParts(ctx, func(ctx context.Context, tx crmaccess.Reader, head int64, write func(*crmaccess.Batch) error) error {
		parts := 0
		return build(ctx, tx, head, func(b *crmaccess.Batch) error {
			if parts++; parts == 2 {
				return errPartLost
			}
			return write(b)
		})
	})
}

// A write in parts commits whole or leaves nothing: when its second part
// fails, the first is not in the database, memory is as it was, and the
// same write then succeeds whole.
func TestLeanContactsAccessFailedPartLeavesNothing(t *testing.T) {
	defer crmaccess.SetPartSizes(64, 48)()
	eachDatabase(t, func(t *testing.T, db database) {
		ctx := t.Context()
		st := testportal.NewStore(t, db).Open(t)
		svc := serviceOver(t, partFailingStore{st})
		if _, err := svc.Import(ctx, dataset.Contacts(300)); err != nil {
			t.Fatal(err)
		}
		admin, filter := dataset.UserID(dataset.ContactsAdmin), dataset.Filter()
		ids := make([]int64, 360)
		for i := range ids {
			ids[i] = int64(i + 1)
		}
		reader := dataset.UserID(11)
		before, err := svc.Contacts(ctx, reader, ids)
		if err != nil {
			t.Fatal(err)
		}
		rules, entries := rulesOf(t, st), logOf(t, st)
		_, err = svc.SetContactsAccess(ctx, admin, filter, true, dataset.Managers())
		wantCode(t, err, crmaccess.EINTERNAL)
		if !reflect.DeepEqual(rules, rulesOf(t, st)) || len(logOf(t, st)) != len(entries) {
			t.Fatal("a failed write in parts left rules or a log entry in the database")
		}
		after, err := svc.Contacts(ctx, reader, ids)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatal("a failed write in parts changed memory, or the contacts' share types")
		}
		if fresh, err := serviceOver(t, st).Contacts(ctx, reader, ids); err != nil || !reflect.DeepEqual(before, fresh) {
			t.Fatalf("a fresh service reads other contacts after the failed write (%v)", err)
		}
		res, err := serviceOver(t, st).SetContactsAccess(ctx, admin, filter, true, dataset.Managers())
		if err != nil || len(res.Contacts) != 300 {
			t.Fatalf("the write again: %v", err)
		}
	})
}
