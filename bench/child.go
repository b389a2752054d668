package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
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
	"filter-heap":     filterHeapChild,
	"stock-reload":    stockReloadChild,
	"paced-writer":    pacedWriterChild,
}

// childArgs are a child's flags: a database (a SQLite file, or with Prefix
// the tables of that prefix in the PostgreSQL database of
// CRMACCESS_POSTGRES_DSN), a grant set and two counts.
type childArgs struct {
	DB     string
	Prefix string
	Grants int
	N, M   int
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

// profiledChild runs a child under a CPU profile written into dir as
// child-NAME.pprof, then writes its allocations (pprof's allocs profile:
// bytes and objects allocated, and those live at the last GC) as
// child-NAME.heap.pprof: for a child run by hand, such as
//
//	bench -child cold-crm -db crm-10M.db -cpuprofile DIR
func profiledChild(dir, name string, fn func() error) error {
	f, err := os.Create(filepath.Join(dir, "child-"+name+".pprof"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = fn()
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	hf, err := os.Create(filepath.Join(dir, "child-"+name+".heap.pprof"))
	if err != nil {
		return err
	}
	defer hf.Close()
	return pprof.Lookup("allocs").WriteTo(hf, 0)
}

// child runs one child and decodes its answer into out.
func (h *harness) child(name string, a childArgs, out any) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var stdout bytes.Buffer
	cmd := h.childCommand(exe, name, a, &stdout)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child %s: %w", name, err)
	}
	return json.Unmarshal(stdout.Bytes(), out)
}

// startChild starts a child that runs beside the harness; wait returns
// when it has ended and decodes its answer into out.
func (h *harness) startChild(name string, a childArgs, out any) (wait func() error, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var stdout bytes.Buffer
	cmd := h.childCommand(exe, name, a, &stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("child %s: %w", name, err)
	}
	return func() error {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("child %s: %w", name, err)
		}
		return json.Unmarshal(stdout.Bytes(), out)
	}, nil
}

func (h *harness) childCommand(exe, name string, a childArgs, stdout *bytes.Buffer) *exec.Cmd {
	cmd := exec.CommandContext(h.ctx, exe, "-child", name, "-db", a.DB, "-prefix", a.Prefix,
		"-grants", strconv.Itoa(a.Grants), "-n", strconv.Itoa(a.N), "-m", strconv.Itoa(a.M))
	cmd.Stdout = stdout
	cmd.Stderr = h.progress
	return cmd
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
