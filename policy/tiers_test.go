package policy_test

import "os"

// sized is quick in the default run and full in the long tier
// (CRMACCESS_LONG=1; README, "Tests").
func sized(quick, full int) int {
	if v := os.Getenv("CRMACCESS_LONG"); v != "" && v != "0" {
		return full
	}
	return quick
}
