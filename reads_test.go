package crmaccess_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// On PostgreSQL a write reads the records it names in the message that
// takes the writer lock. What it reads must be the state the lock grants,
// every write committed before it included. Three instances over one
// database: the third holds the writer lock; the first creates
// opportunity 10 and then the second deletes it, both waiting for the
// lock, in that order. When the lock goes, the creation commits first;
// the deletion must then find the opportunity (a read on a snapshot taken
// before the lock was granted would not: ENOTFOUND).
func TestWritesReadTheStateTheLockGrants(t *testing.T) {
	place := testportal.NewStore(t, testportal.PostgreSQL)
	db := sharedDB{place: place}
	ctx := t.Context()
	first, second := twoInstances(t, db)
	if _, err := second.Opportunity(ctx, alice, 1); err != nil { // the second instance knows the portal
		t.Fatal(err)
	}
	holder := place.Open(t)
	gorm := place.Gorm(t)
	// waiting counts the writes waiting for this store's writer lock: by
	// its function, or (a write decided ahead of the lock: ahead.go) by
	// the advisory lock itself.
	waiting := func() int64 {
		var n int64
		if err := gorm.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND wait_event = 'advisory'
			AND (position(? in query) > 0 OR position('pg_advisory_xact_lock(' in query) > 0)`,
			place.Tables.TablePrefix+"lock_head(").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); waiting() != n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d writes wait for the lock, want %d", waiting(), n)
			}
		}
	}

	locked, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // a failed test does not leave the lock held
	held := make(chan error, 1)
	go func() {
		_, err := holder.Update(ctx, func(context.Context, crmaccess.Reader, int64) (*crmaccess.Batch, error) {
			close(locked)
			<-release
			return nil, nil
		})
		held <- err
	}()
	<-locked
	created, deleted := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := first.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Title: "new", ContactID: 1, StageID: 30}, false, nil)
		created <- err
	}()
	waitFor(1)
	go func() {
		_, err := second.DeleteOpportunity(ctx, alice, 10)
		deleted <- err
	}()
	waitFor(2)
	free()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-created; err != nil {
		t.Fatalf("the creation: %v", err)
	}
	if err := <-deleted; err != nil {
		t.Fatalf("the deletion, granted the lock after the creation committed: %v", err)
	}
	_, err := second.DeleteOpportunity(ctx, alice, 10)
	wantCode(t, err, crmaccess.ENOTFOUND)
	if _, err := first.Opportunity(crmaccess.WithToken(ctx, second.Token()), alice, 10); crmaccess.ErrorCode(err) != crmaccess.ENOTFOUND {
		t.Fatalf("opportunity 10 through the first instance after its deletion: %v", err)
	}
}
