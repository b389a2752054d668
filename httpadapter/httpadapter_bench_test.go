package httpadapter_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/bench/dataset"
	"github.com/crmaccess/crmaccess/httpadapter"
	"github.com/crmaccess/crmaccess/internal/testportal"
)

// The two endpoints' hot paths, served in process (no network), for
// benchstat across commits.

// benchHandler imports fx into a fresh SQLite file and returns the handler;
// the bearer token is the user id.
func benchHandler(b *testing.B, fx *crmaccess.DataSet) http.Handler {
	b.Helper()
	svc := testportal.New(b, testportal.SQLite, &testportal.Options{Data: fx}).Service
	return httpadapter.New(svc, benchAuth, &httpadapter.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// benchAuth is the host's authentication: the bearer token is the user id.
func benchAuth(r *http.Request) (string, error) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", errors.New("no bearer token")
	}
	return user, nil
}

func benchPut(b *testing.B, h http.Handler, path, user string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPut, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+user)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("PUT %s: %d %s", path, w.Code, w.Body.String())
	}
	return w
}

// BenchmarkPutOpportunityAccess toggles one opportunity's accessList over
// the handler, 100k grants loaded: every request commits a change.
func BenchmarkPutOpportunityAccess(b *testing.B) {
	fx := dataset.Grants(100_000)
	h := benchHandler(b, fx)
	o := fx.Opportunities[len(fx.Opportunities)/2]
	path := fmt.Sprintf("%s/opportunity/%d/access", httpadapter.DefaultPrefix, o.ID)
	var bodies [2][]byte
	for i, list := range [][]string{{dataset.UserID(901), dataset.UserID(902)}, {dataset.UserID(903)}} {
		bodies[i], _ = json.Marshal(map[string]any{"isPrivate": true, "accessList": list})
	}
	i := 0
	for b.Loop() {
		benchPut(b, h, path, o.CreateBy, bodies[i%2])
		i++
	}
}

// BenchmarkPutContactsAccess makes 2,000 matching contacts private with
// three managers and shared again, in turn, over the handler.
func BenchmarkPutContactsAccess(b *testing.B) {
	h := benchHandler(b, dataset.Contacts(2_000))
	path := httpadapter.DefaultPrefix + "/contact/filter/access"
	var bodies [2][]byte
	for i, private := range []bool{true, false} {
		req := map[string]any{"tags": []string{dataset.FilterTag}, "contactStage": dataset.FilterStage,
			"contactType": dataset.FilterType, "isPrivate": private}
		if private {
			req["managerList"] = dataset.Managers()
		}
		bodies[i], _ = json.Marshal(req)
	}
	admin := dataset.UserID(dataset.ContactsAdmin)
	i := 0
	for b.Loop() {
		w := benchPut(b, h, path, admin, bodies[i%2])
		b.SetBytes(int64(w.Body.Len()))
		i++
	}
}

// BenchmarkConcurrentPutOpportunityAccess is row 7 of the harness in
// process: 16 goroutines at once, each toggling the accessList of
// opportunities of its own over the handler (no network), 100k grants,
// on SQLite and (with CRMACCESS_POSTGRES_DSN set) PostgreSQL.
func BenchmarkConcurrentPutOpportunityAccess(b *testing.B) {
	fx := dataset.Grants(100_000)
	for _, db := range testportal.Databases() {
		b.Run(string(db), func(b *testing.B) {
			svc := testportal.New(b, db, &testportal.Options{Data: fx}).Service
			h := httpadapter.New(svc, benchAuth, &httpadapter.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			var bodies [2][]byte
			for i, list := range [][]string{{dataset.UserID(901), dataset.UserID(902)}, {dataset.UserID(903)}} {
				bodies[i], _ = json.Marshal(map[string]any{"isPrivate": true, "accessList": list})
			}
			var next atomic.Int64
			b.SetParallelism(8) // 16 goroutines on 2 CPUs
			b.ResetTimer()      // the import is not measured
			b.RunParallel(func(pb *testing.PB) {
				g := int(next.Add(1))
				i := 0
				for pb.Next() {
					o := fx.Opportunities[(g+64*(i%32))%len(fx.Opportunities)]
					benchPut(b, h, fmt.Sprintf("%s/opportunity/%d/access", httpadapter.DefaultPrefix, o.ID), o.CreateBy, bodies[(i/32)%2])
					i++
				}
			})
		})
	}
}
