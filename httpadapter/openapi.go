package httpadapter

import _ "embed"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document (YAML) of the endpoints: their
// parameters, request bodies in each encoding, answers and errors, with the
// default prefix as the server URL. The caller gets its own copy.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
