package httpadapter

import (
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmaccess/crmaccess"
)

// DefaultPrefix is where the endpoints live unless Options.Prefix says
// otherwise: ONLYOFFICE's CRM API root.
const DefaultPrefix = "/api/2.0/crm"

// DefaultMaxBodyBytes is the largest request body accepted by default.
const DefaultMaxBodyBytes = 1 << 20

// DefaultChallenge is the WWW-Authenticate header of a 401 unless
// Options.Challenge says otherwise.
const DefaultChallenge = `Bearer realm="crmaccess"`

// Options configures the handler; nil means the defaults.
type Options struct {
	// Prefix is the path under which the endpoints are served; "" is
	// DefaultPrefix and "/" serves them at the root.
	Prefix string
	// MaxBodyBytes is the largest request body accepted; a larger one is
	// answered with 413. 0 is DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Location is the time zone of dates sent without an offset, and the
	// zone dates are written in. nil is UTC.
	Location *time.Location
	// FreshnessWait is how long a request carrying X-Consistency-Token
	// waits for this instance to reach that state before answering 503
	// with Retry-After. 0 is DefaultFreshnessWait.
	FreshnessWait time.Duration
	// Logger receives internal errors with their detail (never shown to the
	// client). nil is slog.Default().
	Logger *slog.Logger
	// Challenge is the WWW-Authenticate header sent with every 401, naming
	// the host's authentication scheme. "" is DefaultChallenge.
	Challenge string
	// MaxListLength is the most entries a list parameter (accessList,
	// managerList, tags, opportunityid, contactid) may have; a longer one is answered with 400.
	// 0 is DefaultMaxListLength.
	MaxListLength int
}

// Authenticate tells who sent a request: the acting user's id, or an error
// (or "") for missing or bad credentials, which the handler answers with 401.
type Authenticate func(*http.Request) (string, error)

// handler holds what every request needs.
type handler struct {
	svc     *crmaccess.Service
	auth    Authenticate
	prefix  string
	maxBody int64
	maxList int
	loc     *time.Location
	log     *slog.Logger
	// challenge is the WWW-Authenticate header of a 401.
	challenge string
	mux       *http.ServeMux

	freshWait time.Duration
}

// New returns the http.Handler of the endpoints over svc. authenticate
// identifies the acting user of each request; it runs only for a request
// that reached an endpoint with the right method, so an unknown path is 404
// and a wrong method 405 whoever asks. The handler never touches
// http.DefaultServeMux: mount it in the host's mux under the prefix, e.g.
// mux.Handle("/api/2.0/crm/", h).
func New(svc *crmaccess.Service, authenticate Authenticate, opts *Options) http.Handler {
	h := &handler{
		svc:       svc,
		auth:      authenticate,
		prefix:    DefaultPrefix,
		maxBody:   DefaultMaxBodyBytes,
		maxList:   DefaultMaxListLength,
		loc:       time.UTC,
		log:       slog.Default(),
		challenge: DefaultChallenge,

		freshWait: DefaultFreshnessWait,
	}
	if opts != nil {
		if opts.Prefix != "" {
			h.prefix = "/" + strings.Trim(opts.Prefix, "/")
			if h.prefix == "/" {
				h.prefix = ""
			}
		}
		if opts.MaxBodyBytes > 0 {
			h.maxBody = opts.MaxBodyBytes
		}
		if opts.MaxListLength > 0 {
			h.maxList = opts.MaxListLength
		}
		if opts.Location != nil {
			h.loc = opts.Location
		}
		if opts.Logger != nil {
			h.log = opts.Logger
		}
		if opts.FreshnessWait > 0 {
			h.freshWait = opts.FreshnessWait
		}
		if opts.Challenge != "" {
			h.challenge = opts.Challenge
		}
	}
	h.mux = http.NewServeMux()
	h.route("/opportunity/{opportunityid}", get(opportunityParams, h.getOpportunity))
	h.route("/opportunity/{opportunityid}/access", put(opportunityAccessParams, h.setOpportunityAccess))
	h.route("/opportunity/access", put(opportunitiesAccessParams, h.setOpportunitiesAccess))
	h.route("/opportunity/filter/access", put(opportunityFilterAccessParams, h.setOpportunitiesAccessByFilter))
	h.route("/opportunity/filter", get(opportunityFilterParams, h.listOpportunities))
	h.route("/contact/filter", get(contactFilterParams, h.listContacts))
	h.route("/contact/{contactid}", get(contactParams, h.getContact))
	h.route("/contact/{contactid}/access", get(contactParams, h.getContactAccess), put(contactAccessParams, h.setContactAccess))
	h.route("/contact/access", put(contactsAccessByIDParams, h.setContactsAccessByID))
	h.route("/contact/filter/access", put(contactsAccessParams, h.setContactsAccess))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return h.mux
}

// endpoint is one operation: it reads the parameters and answers.
type endpoint func(w http.ResponseWriter, r *http.Request, user string, p *params)

// operation is what one method of a path does: names are the parameters
// the endpoint reads.
type operation struct {
	method string
	names  []string
	fn     endpoint
}

func put(names []string, fn endpoint) operation { return operation{http.MethodPut, names, fn} }

// get also answers HEAD, as every GET of net/http does.
func get(names []string, fn endpoint) operation { return operation{http.MethodGet, names, fn} }

// route registers a path with its operations. A path that ends in a literal
// segment also answers with a .json or .xml suffix; one that ends in a
// wildcard ({opportunityid}) takes the suffix into the wildcard, which its
// endpoint trims (see trimFormat). Another method is answered 405 with
// Allow. The patterns carry no method, so that a literal path
// (/contact/access) and a wildcard one (/contact/{contactid}) of other
// methods never conflict in the mux.
func (h *handler) route(path string, ops ...operation) {
	type bound struct {
		operation
		rules *inputRules
	}
	var (
		bounds  []bound
		methods []string
	)
	for _, op := range ops {
		bounds = append(bounds, bound{op, &inputRules{names: op.names, maxList: h.maxList}})
		if op.method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
		methods = append(methods, op.method)
	}
	slices.Sort(methods)
	allow := strings.Join(methods, ", ")
	var use string
	for i, m := range methods {
		switch {
		case i == 0:
		case i == len(methods)-1:
			use += " or "
		default:
			use += ", "
		}
		use += m
	}
	serve := func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		for _, b := range bounds {
			if b.method == method {
				h.serve(w, r, b.rules, b.fn)
				return
			}
		}
		w.Header().Set("Allow", allow)
		h.writeError(w, r, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed; use "+use)
	}
	suffixes := []string{"", ".json", ".xml"}
	if strings.HasSuffix(path, "}") {
		suffixes = suffixes[:1]
	}
	for _, suffix := range suffixes {
		h.mux.HandleFunc(h.prefix+path+suffix, serve)
	}
}

// trimFormat removes the .json or .xml suffix from the value of a wildcard
// that ends its path: GET /opportunity/1234.xml is opportunity 1234.
func trimFormat(s string) string {
	if t, ok := strings.CutSuffix(s, ".json"); ok {
		return t
	}
	t, _ := strings.CutSuffix(s, ".xml")
	return t
}

// routeID reads the record id of the route's wildcard name from text. The
// route wins over the query string and the body, so the value replaces
// theirs.
func routeID(p *params, name, text string) (int64, error) {
	p.set(name, &param{name: name, items: []scalar{{text: text}}})
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, invalid("%s: %q is not a number", name, text)
	}
	return id, nil
}

// serve authenticates, reads the parameters and calls the endpoint.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, rules *inputRules, fn endpoint) {
	user, err := h.auth(r)
	if err != nil || user == "" {
		if err != nil {
			h.log.DebugContext(r.Context(), "httpadapter: authentication failed", "path", r.URL.Path, "err", err)
		}
		h.writeError(w, r, http.StatusUnauthorized, "missing or invalid credentials")
		return
	}
	p, err := h.readParams(w, r, rules)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	if err := h.awaitToken(r); err != nil {
		h.writeFailure(w, r, err)
		return
	}
	fn(w, r, user, p)
}

// readParams gathers the parameters of the query string and the body, each
// held to the endpoint's rules.
func (h *handler) readParams(w http.ResponseWriter, r *http.Request, rules *inputRules) (*params, error) {
	if r.ContentLength > h.maxBody {
		return nil, errTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, errTooLarge
		}
		return nil, crmaccess.Errorf(crmaccess.EINVALID, "body: cannot read it: %v", err)
	}
	p := newParams()
	if err := p.addBody(r.Header.Get("Content-Type"), body, rules); err != nil {
		return nil, err
	}
	if err := p.addQuery(r.URL.RawQuery, rules); err != nil {
		return nil, err
	}
	return p, nil
}
