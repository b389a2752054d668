// Package httpadapter serves crmaccess's two ONLYOFFICE CRM endpoints over
// net/http, wire-compatible with ONLYOFFICE clients:
//
//	PUT {prefix}/opportunity/{opportunityid}/access
//	PUT {prefix}/contact/filter/access
//
// each also with a ".json" or ".xml" suffix. New returns an http.Handler
// built on its own http.ServeMux; the host mounts it in its own router and
// supplies authentication as a function from request to user id.
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
// OpenAPI returns the OpenAPI 3 description of both endpoints.
package httpadapter
