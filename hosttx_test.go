package crmaccess_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/internal/testportal"
	"github.com/crmaccess/crmaccess/storage"
)

// A host writes its own rows and crmaccess's in one transaction on the
// same *gorm.DB (SPEC §9): committed, every instance follows; rolled back,
// no trace anywhere.

// hostDeal is the host's own table.
type hostDeal struct {
	ID    int64 `gorm:"primaryKey;autoIncrement:false"`
	Title string
}

func TestHostTransactions(t *testing.T) { eachDatabase(t, testHostTransactions) }

func testHostTransactions(t *testing.T, on database) {
	ctx := t.Context()
	place := testportal.NewStore(t, on)
	db := place.Gorm(t) // the host's database, and the store's
	table := "host_deals"
	if place.Tables != nil {
		table = place.Tables.TablePrefix + "deals"
	}
	if err := db.Table(table).AutoMigrate(&hostDeal{}); err != nil {
		t.Fatal(err)
	}
	newService := func() (*crmaccess.Service, *storage.Store) {
		st := place.OpenOn(t, db)
		return serviceOver(t, st), st
	}
	svc, st := newService()
	if _, err := svc.Import(ctx, portalFixture(t)); err != nil {
		t.Fatal(err)
	}
	other, _ := newService()
	before := decisions(t, svc)

	// Rolled back on purpose: nothing anywhere.
	errRollBack := errors.New("the host changed its mind")
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Table(table).Create(&hostDeal{ID: 10, Title: "rolled back"}).Error; err != nil {
			return err
		}
		inTx, err := st.InTx(tx)
		if err != nil {
			return err
		}
		if _, err := svc.InTransaction(inTx).CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Title: "rolled back"}, true, []string{bob}); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatalf("the rolled-back transaction: %v", err)
	}
	if _, err := svc.Opportunity(ctx, admin, 10); crmaccess.ErrorCode(err) != crmaccess.ENOTFOUND {
		t.Errorf("the rolled-back opportunity: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a follower would have seen it by now
	if !mapsEqual(before, decisions(t, svc)) || !mapsEqual(before, decisions(t, other)) {
		t.Error("the rolled-back write reached memory")
	}

	// Committed: the host's row and crmaccess's, and a token.
	var tok crmaccess.Token
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Table(table).Create(&hostDeal{ID: 10, Title: "committed"}).Error; err != nil {
			return err
		}
		inTx, err := st.InTx(tx)
		if err != nil {
			return err
		}
		view := svc.InTransaction(inTx)
		res, err := view.CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 10, Title: "committed"}, true, []string{bob})
		if err != nil {
			return err
		}
		tok = res.Token
		// One crmaccess write a transaction.
		_, err = view.SetOpportunityAccess(ctx, alice, 10, false, nil)
		wantCode(t, err, crmaccess.EINVALID)
		_, err = svc.InTransaction(inTx).SetOpportunityAccess(ctx, alice, 10, false, nil)
		wantCode(t, err, crmaccess.EINVALID)
		// A refused write leaves the transaction usable.
		_, err = svc.InTransaction(inTx).CreateOpportunity(ctx, alice, crmaccess.Opportunity{ID: 1}, false, nil)
		if crmaccess.ErrorCode(err) == "" {
			t.Error("a second write in the transaction was accepted")
		}
		return tx.Table(table).Where("id = ?", 10).Update("title", "committed, renamed").Error
	})
	if err != nil {
		t.Fatalf("the committed transaction: %v", err)
	}
	for _, s := range []*crmaccess.Service{svc, other} {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.WaitFor(wctx, tok); err != nil {
			t.Fatalf("WaitFor(%s): %v", tok, err)
		}
		cancel()
		if d := mustCheck(t, s, bob, crmaccess.OpportunityRef(10), read); d.Reason != crmaccess.ReasonInAccessList {
			t.Errorf("bob on the committed opportunity: %+v", d)
		}
		if d := mustCheck(t, s, dave, crmaccess.OpportunityRef(10), read); d.Allowed {
			t.Errorf("dave on the committed opportunity: %+v", d)
		}
	}
	var deal hostDeal
	if err := db.Table(table).First(&deal, 10).Error; err != nil || deal.Title != "committed, renamed" {
		t.Errorf("the host's row: %+v, %v", deal, err)
	}
	if _, err := st.InTx(db); crmaccess.ErrorCode(err) != crmaccess.EINVALID {
		t.Errorf("InTx of a database, not a transaction: %v", err)
	}
}
