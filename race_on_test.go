//go:build race

package crmaccess_test

// raceEnabled: the race detector slows everything down; the long tests
// take a smaller default size under it.
const raceEnabled = true
