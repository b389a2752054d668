package httpadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
	"github.com/crmaccess/crmaccess/httpadapter"
	"github.com/crmaccess/crmaccess/policy"
	"github.com/crmaccess/crmaccess/storage"
)

// A host mounts the two endpoints in its own ServeMux, beside its own
// routes, with its own authentication.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "httpadapter-example")
	defer os.RemoveAll(dir)

	store, err := storage.Open(ctx, filepath.Join(dir, "crm.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	engine, err := policy.New()
	if err != nil {
		log.Fatal(err)
	}
	svc, err := crmaccess.NewService(ctx, store, engine, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	portal, err := fixture.Parse(strings.NewReader(`{
	  "users": [{"id": "11111111-1111-1111-1111-111111111111", "displayName": "Ann"},
	            {"id": "22222222-2222-2222-2222-222222222222", "displayName": "Ben"}],
	  "opportunities": [{"id": 1, "title": "Hotel catalogue",
	    "createBy": "11111111-1111-1111-1111-111111111111", "responsible": "11111111-1111-1111-1111-111111111111"}]
	}`))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Import(ctx, portal.DataSet()); err != nil {
		log.Fatal(err)
	}

	// The host's authentication: its sessions tell the user id.
	sessions := map[string]string{"ann-session": "11111111-1111-1111-1111-111111111111"}
	authenticate := func(r *http.Request) (string, error) {
		c, err := r.Cookie("session")
		if err != nil {
			return "", err
		}
		if id, ok := sessions[c.Value]; ok {
			return id, nil
		}
		return "", errors.New("unknown session")
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.Handle("/api/2.0/crm/", httpadapter.New(svc, authenticate, nil))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	put := func(path, body string) *http.Response {
		r, _ := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.AddCookie(&http.Cookie{Name: "session", Value: "ann-session"})
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			log.Fatal(err)
		}
		return resp
	}

	resp := put("/api/2.0/crm/opportunity/1/access", `{"isPrivate": true, "accessList": ["22222222-2222-2222-2222-222222222222"]}`)
	var answer struct {
		Response struct {
			Title      string `json:"title"`
			IsPrivate  bool   `json:"isPrivate"`
			AccessList []struct {
				DisplayName string `json:"displayName"`
			} `json:"accessList"`
		} `json:"response"`
	}
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, answer.Response.Title, answer.Response.IsPrivate, answer.Response.AccessList)

	resp = put("/api/2.0/crm/opportunity/2/access", `{}`)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))

	resp, _ = http.Get(srv.URL + "/healthz")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 Hotel catalogue true [{Ann} {Ben}]
	// 404 {"status":1,"statusCode":404,"error":{"message":"opportunity 2 not found"}}
	// 200 ok
}
