package main

import (
	"slices"
	"time"
)

// percentile returns the q-quantile (0 ≤ q ≤ 1) of ds by nearest rank; ds
// is sorted in place.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// median returns the median of xs (the lower middle one for an even count,
// so that the figure is one that was measured).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// timeIt returns how long fn took.
func timeIt(fn func()) time.Duration {
	t := time.Now()
	fn()
	return time.Since(t)
}

// timeCPU returns how long fn took and the CPU time this process used
// meanwhile; cpu is false where processCPU is not measured.
func timeCPU(fn func()) (wall, used time.Duration, cpu bool) {
	c0, ok0 := processCPU()
	t := time.Now()
	fn()
	wall = time.Since(t)
	c1, ok1 := processCPU()
	return wall, c1 - c0, ok0 && ok1
}
