package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/httpadapter"
)

// bearerAuth is the host's authentication of the harness: the bearer token
// is the user id.
func bearerAuth(r *http.Request) (string, error) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", errors.New("no bearer token")
	}
	return user, nil
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// loopbackServer serves handler on 127.0.0.1 (httptest.NewServer listens
// on the loopback interface only).
func loopbackServer(handler http.Handler) (*httptest.Server, error) {
	srv := httptest.NewServer(handler)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		srv.Close()
		return nil, fmt.Errorf("test server at %s, not on 127.0.0.1", srv.URL)
	}
	return srv, nil
}

func loopbackClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true}, Timeout: 5 * time.Minute}
}

// httpPut is row 7: PUT opportunity access over loopback, 16 clients at
// once, each the creator of its own opportunities toggling their lists.
// Every run stops after its window or its request budget, whichever comes
// first.
func (h *harness) httpPut() error {
	g := h.large()
	r, err := h.putLoad(g.svc, g.fx)
	if err != nil {
		return fmt.Errorf("row 7: %w", err)
	}
	rate, p99 := median(r.rates), median(r.p99s)
	h.add(result{row: "7", what: fmt.Sprintf("HTTP PUT opportunity access, %d concurrent clients on loopback, %s grants: throughput", h.cfg.httpClients, count(g.n)),
		unit: unitPerSecond, crm: val(rate), base: text("—"), target: "≥ 2,000/s", met: yes(rate >= 2000)})
	h.add(result{row: "7", what: "… p99 latency", unit: unitSeconds, crm: val(p99), base: text("—"),
		target: "≤ 25 ms", met: yes(p99 <= 25e-3)})
	h.note("row 7: medians of %d runs of at most %s and %s requests each (%s requests in all, every one a change committed), served by httpadapter on 127.0.0.1 in this process; each client is the creator of its %d opportunities and toggles their accessList",
		h.cfg.httpRuns, h.cfg.httpWindow, group(float64(h.cfg.httpMaxRequests)), group(float64(r.sent)), putPerClient)
	return nil
}

// httpPutShared is row 7 on the shared databases, SQLite and PostgreSQL
// side by side: the same load served by an instance opened on each, with
// the default Options (following the log), as rows 9 to 15 open them.
func (h *harness) httpPutShared() error {
	rs, err := onEach(h, func(d *sharedDB) (putResult, error) {
		load := loadAverage()
		in, err := openInstance(h.ctx, d.args, 0)
		if err != nil {
			return putResult{}, err
		}
		defer in.close()
		r, err := h.putLoad(in.svc, d.g.fx)
		r.load = load
		return r, err
	})
	if err != nil {
		return fmt.Errorf("row 7 on the shared databases: %w", err)
	}
	h.addSide(sideResult{row: "7", what: fmt.Sprintf("HTTP PUT opportunity access, %d concurrent clients on loopback, %s grants: throughput (an instance of its own on each database)", h.cfg.httpClients, count(h.large().n)),
		unit: unitPerSecond, on: sideFigures(rs, func(r *putResult) figure { return val(median(r.rates)) }),
		target: [2]string{"≥ 5,000/s", "≥ 2,500/s"},
		met:    sideMet(rs, func(i int, r *putResult) bool { return median(r.rates) >= [2]float64{5000, 2500}[i] })})
	var p99Met [2]string // SQLite's target only
	if rs[0] != nil {
		p99Met[0] = yes(median(rs[0].p99s) <= 10e-3)
	}
	h.addSide(sideResult{row: "7", what: "… p99 latency", unit: unitSeconds,
		on:     sideFigures(rs, func(r *putResult) figure { return val(median(r.p99s)) }),
		target: [2]string{"≤ 10 ms", "—"}, met: p99Met})
	for i, d := range databases {
		if r := rs[i]; r != nil {
			h.note("row 7, %s: medians of %d runs of at most %s and %s requests each (%s requests in all), served by httpadapter on 127.0.0.1 in this process from an instance opened on the shared database (default Options); load average %s at the start",
				d, h.cfg.httpRuns, h.cfg.httpWindow, group(float64(h.cfg.httpMaxRequests)), group(float64(r.sent)), r.load)
		}
	}
	return nil
}

// putPerClient is how many opportunities each client of row 7 toggles.
const putPerClient = 32

// putResult is row 7's load on one service: each run's rate and p99.
type putResult struct {
	rates, p99s []float64
	sent        int
	load        string
}

// putLoad serves svc over loopback and runs row 7's load on it.
func (h *harness) putLoad(svc *crmaccess.Service, fx *crmaccess.DataSet) (putResult, error) {
	var out putResult
	srv, err := loopbackServer(httpadapter.New(svc, bearerAuth, &httpadapter.Options{Logger: quietLogger}))
	if err != nil {
		return out, err
	}
	defer srv.Close()
	clients := h.cfg.httpClients
	client := loopbackClient(clients)
	defer client.CloseIdleConnections()

	targets := changeTargets(fx, clients*putPerClient)
	for _, o := range targets { // every target private with listA
		if _, err := svc.SetOpportunityAccess(h.ctx, o.CreateBy, o.ID, true, listA); err != nil {
			return out, err
		}
	}
	bodies := [2][]byte{}
	for i, list := range [][]string{listB, listA} {
		bodies[i], _ = json.Marshal(map[string]any{"isPrivate": true, "accessList": list})
	}
	state := make([]int, len(targets)) // the next body of each target

	for range h.cfg.httpRuns {
		var budget atomic.Int64
		budget.Store(int64(h.cfg.httpMaxRequests))
		deadline := time.Now().Add(h.cfg.httpWindow)
		lat := make([][]time.Duration, clients)
		errs := make([]error, clients)
		var wg sync.WaitGroup
		start := time.Now()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := targets[c*putPerClient : (c+1)*putPerClient]
				for i := 0; time.Now().Before(deadline) && budget.Add(-1) >= 0; i++ {
					j := i % len(mine)
					o := mine[j]
					k := c*putPerClient + j
					url := fmt.Sprintf("%s%s/opportunity/%d/access", srv.URL, httpadapter.DefaultPrefix, o.ID)
					t := time.Now()
					if err := put(h.ctx, client, url, o.CreateBy, bodies[state[k]]); err != nil {
						errs[c] = err
						return
					}
					lat[c] = append(lat[c], time.Since(t))
					state[k] ^= 1
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		if err := errors.Join(errs...); err != nil {
			return out, err
		}
		var all []time.Duration
		for _, l := range lat {
			all = append(all, l...)
		}
		out.sent += len(all)
		out.rates = append(out.rates, float64(len(all))/elapsed.Seconds())
		out.p99s = append(out.p99s, seconds(percentile(all, 0.99)))
	}
	return out, nil
}

// put sends one PUT with a JSON body and reads the whole answer, which must
// be 200.
func put(ctx context.Context, client *http.Client, url, user string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+user)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %d %s", url, resp.StatusCode, firstLine(string(b)))
	}
	return nil
}

// filterCallResult is one streamed filter call seen by the row 8 child.
type filterCallResult struct {
	Private       bool    `json:"private"`
	Seconds       float64 `json:"seconds"`     // until the last byte
	FirstByte     float64 `json:"firstByte"`   // seconds until the first byte of the answer
	HandlerDone   float64 `json:"handlerDone"` // seconds until the handler returned
	Bytes         int64   `json:"bytes"`
	BytesEarly    int64   `json:"bytesEarly"` // received before the handler returned
	Count         int     `json:"count"`      // the envelope's count
	HeapBefore    uint64  `json:"heapBefore"` // live heap before the call
	PeakHeap      uint64  `json:"peakHeap"`   // highest heap in use during the call
	SkippedHeader string  `json:"skipped"`
}

var countPrefix = regexp.MustCompile(`^\{"count":(\d+),`)

// httpFilterChild serves the contacts database over loopback and makes N
// filter calls, private with the three managers then back to shared, in
// turn, sampling the heap every millisecond during each; M is the number of
// matching contacts every answer must hold.
func httpFilterChild(ctx context.Context, a childArgs) (any, error) {
	st, svc, err := newService(ctx, a.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	inner := httpadapter.New(svc, bearerAuth, &httpadapter.Options{Logger: quietLogger})
	var handlerDone atomic.Int64
	srv, err := loopbackServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r)
		handlerDone.Store(time.Now().UnixNano())
	}))
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	client := loopbackClient(1)
	url := srv.URL + httpadapter.DefaultPrefix + "/contact/filter/access"
	admin := dataset.UserID(dataset.ContactsAdmin)

	var out []filterCallResult
	buf := make([]byte, 64<<10)
	for i := range a.N {
		private := i%2 == 0
		req := map[string]any{"tags": []string{dataset.FilterTag}, "contactStage": dataset.FilterStage,
			"contactType": dataset.FilterType, "isPrivate": private}
		if private {
			req["managerList"] = dataset.Managers()
		}
		body, _ := json.Marshal(req)
		r := filterCallResult{Private: private, HeapBefore: liveHeap()}
		handlerDone.Store(0)
		sampler := samplePeak(time.Millisecond)
		start := time.Now()
		var first time.Time
		trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
		hreq, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPut, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		hreq.Header.Set("Authorization", "Bearer "+admin)
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(hreq)
		if err != nil {
			return nil, err
		}
		var head []byte
		for {
			n, err := resp.Body.Read(buf)
			if len(head) < 64 {
				head = append(head, buf[:min(n, 64-len(head))]...)
			}
			r.Bytes += int64(n)
			if handlerDone.Load() == 0 {
				r.BytesEarly += int64(n)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				resp.Body.Close()
				return nil, err
			}
		}
		resp.Body.Close()
		end := time.Now()
		r.PeakHeap = sampler.Peak()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("filter call: status %d: %s", resp.StatusCode, head)
		}
		r.Seconds = end.Sub(start).Seconds()
		r.FirstByte = first.Sub(start).Seconds()
		r.HandlerDone = time.Unix(0, handlerDone.Load()).Sub(start).Seconds()
		r.SkippedHeader = resp.Header.Get("X-Skipped-Count")
		if m := countPrefix.FindSubmatch(head); m != nil {
			r.Count, _ = strconv.Atoi(string(m[1]))
		}
		if r.Count != a.M {
			return nil, fmt.Errorf("filter call: the answer counts %d contacts, want %d (%q)", r.Count, a.M, head)
		}
		out = append(out, r)
	}
	return out, nil
}

// httpFilter is row 8: the filter call over HTTP returning every matching
// contact, in a fresh process: its peak heap, and whether the answer
// streams (the client has bytes before the handler has returned).
func (h *harness) httpFilter() error {
	var calls []filterCallResult
	if err := h.child("http-filter", childArgs{DB: h.contactsPath, N: 2 * h.cfg.filterCalls, M: h.cfg.contacts}, &calls); err != nil {
		return err
	}
	var peaks, all, secs, sizes []float64
	streams := true
	var first, done, early, size []float64
	for _, c := range calls {
		all = append(all, float64(c.PeakHeap))
		if c.Private {
			peaks = append(peaks, float64(c.PeakHeap))
			secs = append(secs, c.Seconds)
			sizes = append(sizes, float64(c.Bytes))
			first = append(first, c.FirstByte)
			done = append(done, c.HandlerDone)
			early = append(early, float64(c.BytesEarly))
			size = append(size, float64(c.Bytes))
		}
		streams = streams && c.FirstByte < c.HandlerDone && c.BytesEarly > 0
	}
	peak := median(peaks)
	h.add(result{row: "8", what: fmt.Sprintf("HTTP filter call returning %s contacts (made private with 3 managers): peak heap during the call", count(h.cfg.contacts)),
		unit: unitBytes, crm: valNote(peak, fmt.Sprintf("max %.1f MB over all %d calls", maxOf(all)/1e6, len(calls))), base: text("—"),
		target: "≤ 300 MB", met: yes(peak <= 300e6)})
	h.add(result{row: "8", what: "… the answer streams: first byte received / handler returned / bytes received before it returned",
		unit: unitSeconds, crm: text(fmt.Sprintf("%s / %s / %.1f of %.1f MB", unitSeconds.format(median(first)), unitSeconds.format(median(done)),
			median(early)/1e6, median(size)/1e6)), base: text("—"), target: "streams", met: yes(streams)})
	h.add(result{row: "8", what: "… call time, until the last byte", unit: unitSeconds, crm: val(median(secs)), base: text("—")})
	h.note("row 8: a fresh process serves the contacts data set on 127.0.0.1 and makes %d filter calls over HTTP, private with 3 managers and back to shared in turn (medians of the %d private ones; answers of %.1f MB); heap in use sampled every millisecond with runtime/metrics",
		len(calls), len(peaks), median(sizes)/1e6)
	return nil
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
