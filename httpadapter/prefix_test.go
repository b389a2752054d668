package httpadapter_test

import (
	"net/http"
	"testing"

	"github.com/crmaccess/crmaccess/httpadapter"
)

// TestPrefix: the endpoints move with Options.Prefix, with or without
// slashes around it, "/" serving them at the root.
func TestPrefix(t *testing.T) {
	for _, tc := range []struct{ prefix, served, notServed string }{
		{"", "/api/2.0/crm/opportunity/1234/access", "/crm/opportunity/1234/access"},
		{"/crm", "/crm/opportunity/1234/access.xml", "/api/2.0/crm/opportunity/1234/access"},
		{"crm/v2/", "/crm/v2/contact/filter/access.json", "/crm/contact/filter/access"},
		{"/", "/opportunity/1234/access", "/api/2.0/crm/opportunity/1234/access"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			p := newPortal(t, &httpadapter.Options{Prefix: tc.prefix}, nil)
			if w := p.putJSON(t, tc.served, `{}`); w.Code != http.StatusOK {
				t.Errorf("%s: %d %s", tc.served, w.Code, w.Body.String())
			}
			decode(t, p.putJSON(t, tc.notServed, `{}`), http.StatusNotFound)
		})
	}
}
