// Package httpadapter serves crmaccess's ONLYOFFICE CRM access endpoints
// over net/http, wire-compatible with ONLYOFFICE clients: the two
// documented ones,
//
//	PUT {prefix}/opportunity/{opportunityid}/access
//	PUT {prefix}/contact/filter/access
//
// and the rest of ONLYOFFICE's access family, which its web client calls:
//
//	PUT {prefix}/opportunity/access              opportunityid[], isPrivate, accessList[]
//	PUT {prefix}/opportunity/filter/access       the opportunity filter, isPrivate, accessList[]
//	PUT {prefix}/contact/{contactid}/access      isShared, managerList[]
//	PUT {prefix}/contact/access                  contactid[], isShared, managerList[]
//	GET {prefix}/opportunity/{opportunityid}
//	GET {prefix}/contact/{contactid}
//	GET {prefix}/contact/{contactid}/access
//
// each also with a ".json" or ".xml" suffix. A batch write answers the
// records it changed and counts in X-Skipped-Count those the caller may read
// but not change; hidden records are neither changed, nor counted, nor
// answered. The contact endpoints also take isPrivate and accessList, the
// names ONLYOFFICE's web client sends, as aliases of !isShared and
// managerList. New returns an http.Handler built on its own http.ServeMux;
// the host mounts it in its own router and supplies authentication as a
// function from request to user id.
//
// Parameters come from the route, the query string and the body (JSON, XML
// or form encoded), matched case-insensitively, the route winning over the
// query string and the query string over the body. Input is strict, so that
// access control fails closed: an unknown parameter name (other than the
// presentation keys ONLYOFFICE's client adds), a body unlike its
// Content-Type, a null list entry, a NUL character, a year outside 1 to 9999
// or a list over Options.MaxListLength is answered with 400 before anything
// is decided.
//
// Answers use ONLYOFFICE's envelope, in JSON by default and in XML for a
// ".xml" path or an Accept header that prefers XML. Errors map crmaccess
// error codes to HTTP
// statuses in one table; an internal error is logged and answered with a
// generic message; a 401 names the authentication scheme in
// WWW-Authenticate.
//
// Every successful answer carries X-Consistency-Token, the state it was
// decided on; a request that sends one back is decided on that state or a
// later one, or answered 503 with Retry-After.
//
// OpenAPI returns the OpenAPI 3 description of the endpoints.
package httpadapter
