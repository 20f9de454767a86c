// Package docs embeds the documents that ship inside hashdropd: the OpenAPI
// description of the HTTP API, served at GET /api/openapi.json.
package docs

import _ "embed"

// OpenAPI is docs/openapi.json, the OpenAPI 3 document of the whole API.
//
//go:embed openapi.json
var OpenAPI []byte
