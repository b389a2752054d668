package crmaccess_test

import (
	"os"
	"strconv"
	"testing"
)

// longEnv turns on the long tier (README, "Tests"): the long tests run at
// the sizes CI runs them instead of the default run's quick sizes.
const longEnv = "CRMACCESS_LONG"

// longTier reports whether CRMACCESS_LONG is set (to anything but "" or 0).
func longTier() bool {
	v := os.Getenv(longEnv)
	return v != "" && v != "0"
}

// sized is quick in the default run and full in the long tier.
func sized(quick, full int) int {
	if longTier() {
		return full
	}
	return quick
}

// size is sized(quick, full), or the number in the variable env when it is
// set.
func size(t *testing.T, env string, quick, full int) int {
	t.Helper()
	return envInt(t, env, sized(quick, full))
}

// envInt is the positive number in the variable name, or def when it is
// not set.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q is not a positive number", name, s)
	}
	return n
}
