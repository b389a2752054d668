package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"time"
)

// A child is a measurement that needs a fresh heap: the harness runs its
// own binary again with -child NAME -db PATH -n N, and the child prints one
// JSON object on stdout.
var children = map[string]func(ctx context.Context, a childArgs) (any, error){
	"cold-crm":        coldCRM,
	"cold-acl":        coldACL,
	"distinct-crm":    distinctCRM,
	"distinct-casbin": distinctCasbin,
	"filter-call":     filterCallChild,
	"http-filter":     httpFilterChild,
}

// childArgs are a child's flags: a database and two counts.
type childArgs struct {
	DB   string
	N, M int
}

func runChild(name string, a childArgs) error {
	fn, ok := children[name]
	if !ok {
		return fmt.Errorf("no child %q", name)
	}
	out, err := fn(context.Background(), a)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// child runs one child and decodes its answer into out.
func (h *harness) child(name string, a childArgs, out any) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(h.ctx, exe, "-child", name, "-db", a.DB, "-n", strconv.Itoa(a.N), "-m", strconv.Itoa(a.M))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = h.progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child %s: %w", name, err)
	}
	return json.Unmarshal(stdout.Bytes(), out)
}

// liveHeap collects garbage and returns the bytes of live heap objects.
func liveHeap() uint64 {
	runtime.GC()
	return heapObjects()
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// heapObjects is the heap in use by objects, live or not yet collected.
func heapObjects() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}

// peakSampler samples heapObjects every interval until stop, keeping the
// highest value.
type peakSampler struct {
	stop chan struct{}
	done chan uint64
}

func samplePeak(interval time.Duration) *peakSampler {
	p := &peakSampler{stop: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-p.stop:
				metrics.Read(s)
				p.done <- max(peak, s[0].Value.Uint64())
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// Peak stops sampling and returns the highest heap seen.
func (p *peakSampler) Peak() uint64 {
	close(p.stop)
	return <-p.done
}
