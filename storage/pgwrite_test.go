package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testdb"
	"github.com/crmaccess/crmaccess/storage"
)

// A write that fails or writes nothing ends its transaction: on
// PostgreSQL, where Update begins and ends transactions by hand, a pool of
// one connection goes on writing after each kind of failure, and another
// pool's writer is not kept waiting by a lock left held. On SQLite the
// same sequence is the reference.
func TestFailedWritesLeaveNoTransactionOpen(t *testing.T) {
	const ann = "aaaaaaaa-0000-4000-8000-000000000001"
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix := be.open(t)
			opts := &storage.Options{TablePrefix: prefix, RuleTable: prefix + storage.DefaultRuleTable}
			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			sqlDB.SetMaxOpenConns(1)
			s, err := storage.New(ctx, db, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			user := func(id string) *crmaccess.Batch {
				return &crmaccess.Batch{Kind: crmaccess.EntryRecord,
					Users: []crmaccess.User{{ID: id, DisplayName: "Ann", Status: crmaccess.UserActive}}}
			}
			commit := func(b *crmaccess.Batch) error { return s.Commit(ctx, b) }
			if err := commit(user(ann)); err != nil {
				t.Fatal(err)
			}
			refused := errors.New("refused by build")
			cancelled, cancel := context.WithCancel(ctx)
			failures := []struct {
				name string
				run  func() error
				want string // "": build's own error; "none": no error
			}{
				{"build fails", func() error {
					_, err := s.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) { return nil, refused })
					return err
				}, ""},
				{"nothing to write", func() error {
					_, err := s.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) { return nil, nil })
					return err
				}, "none"},
				{"a rule to remove is not stored (one statement on PostgreSQL)", func() error {
					return commit(&crmaccess.Batch{Kind: crmaccess.EntryAccess,
						RemoveRules: []crmaccess.Rule{{Type: "g", From: "opportunity:1", To: ann}}})
				}, crmaccess.ECONFLICT},
				{"a user stored already (step by step)", func() error { return commit(user(ann)) }, crmaccess.ECONFLICT},
				{"context cancelled during build", func() error {
					_, err := s.Update(cancelled, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
						cancel()
						return user("aaaaaaaa-0000-4000-8000-000000000002"), nil
					})
					return err
				}, crmaccess.EINTERNAL},
			}
			for i, f := range failures {
				err := f.run()
				switch {
				case f.want == "" && !errors.Is(err, refused):
					t.Errorf("%s: %v, want build's error", f.name, err)
				case f.want == "none" && err != nil:
					t.Errorf("%s: %v", f.name, err)
				case f.want != "" && f.want != "none" && crmaccess.ErrorCode(err) != f.want:
					t.Errorf("%s: %v, want %s", f.name, err, f.want)
				}
				// The pool's one connection writes on, and a writer of
				// another pool is not blocked.
				if err := commit(&crmaccess.Batch{Kind: crmaccess.EntryRecord, Stages: []crmaccess.Stage{{ID: int64(i + 1), Title: f.name}}}); err != nil {
					t.Fatalf("after %s: %v", f.name, err)
				}
			}
			if be.name != "postgres" {
				return
			}
			other, err := storage.New(ctx, testdb.Postgres(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			wctx, stop := context.WithTimeout(ctx, 10*time.Second)
			defer stop()
			if err := other.Commit(wctx, user("aaaaaaaa-0000-4000-8000-000000000003")); err != nil {
				t.Fatalf("another pool's write: %v", err)
			}
		})
	}
}
