package main

import (
	"fmt"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/policy"
)

// adapterBatch is how many lines one AddPolicies call of the baseline
// writes: gorm-adapter binds 7 values a line, and SQLite takes at most
// 32,766 in one statement (AddPolicies does not split its lines itself).
const adapterBatch = 4000

// buildACL writes the baseline's lines into gorm-adapter's table of db
// (created by the adapter), through the adapter's AddPolicies in batches.
func buildACL(db *gorm.DB, lines [][]string) error {
	a, err := gormadapter.NewAdapterByDB(db)
	if err != nil {
		return fmt.Errorf("gorm-adapter: %w", err)
	}
	return addPoliciesBatched(a, "p", lines, adapterBatch)
}

// openACL is the baseline's cold start: a Casbin enforcer on the ACL model
// whose policy gorm-adapter loads from db (LoadPolicy). Autosave is on, as
// by default: changes go through the adapter.
func openACL(db *gorm.DB) (*casbin.Enforcer, error) {
	a, err := gormadapter.NewAdapterByDB(db)
	if err != nil {
		return nil, fmt.Errorf("gorm-adapter: %w", err)
	}
	m, err := model.NewModelFromString(dataset.ACLModel)
	if err != nil {
		return nil, err
	}
	return casbin.NewEnforcer(m, a)
}

// openStockGrouping is the second reference: stock Casbin on crmaccess's
// own model (object-first grouping lines, empty p) with the default role
// manager, loaded by gorm-adapter from the rule table of a crmaccess
// database.
func openStockGrouping(db *gorm.DB, table string) (*casbin.Enforcer, error) {
	a, err := gormadapter.NewAdapterByDBUseTableName(db, "", table)
	if err != nil {
		return nil, fmt.Errorf("gorm-adapter: %w", err)
	}
	m, err := model.NewModelFromString(policy.Model())
	if err != nil {
		return nil, err
	}
	return casbin.NewEnforcer(m, a)
}
