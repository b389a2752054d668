//go:build !unix

package main

import "time"

// processCPU is not measured here.
func processCPU() (time.Duration, bool) { return 0, false }

// maxRSS is not measured here.
func maxRSS() uint64 { return 0 }
