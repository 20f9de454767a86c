package httpapi

import "net/http"

// Route is one endpoint of the API. The table below is the only list of
// routes: the mux is built from it and a test holds docs/openapi.json to it.
type Route struct {
	Method string
	Path   string // a ServeMux / OpenAPI path template, e.g. /files/download/{ownerSegment}/{fileID}
	Auth   bool   // requires Authorization: Bearer <access token>
	Group  Group  // rate-limit group

	handle handlerFunc
}

// handlerFunc serves one route. caller is the authenticated user ID ("" on
// public routes). A returned error goes to the one error writer.
type handlerFunc func(a *handler, w http.ResponseWriter, r *http.Request, caller string) error

var routeTable = []Route{
	{Method: "GET", Path: "/api/healthz", Group: GroupMeta, handle: (*handler).healthz},
	{Method: "GET", Path: "/api/cli/version", Group: GroupMeta, handle: (*handler).cliVersionHandler},
	{Method: "GET", Path: "/api/openapi.json", Group: GroupMeta, handle: (*handler).openAPIDocument},

	{Method: "POST", Path: "/api/user/register", Group: GroupAuth, handle: (*handler).register},
	{Method: "PATCH", Path: "/api/user/verify", Group: GroupOTP, handle: (*handler).verify},
	{Method: "POST", Path: "/api/user/login", Group: GroupAuth, handle: (*handler).login},
	{Method: "DELETE", Path: "/api/user", Auth: true, Group: GroupAuth, handle: (*handler).deleteAccount},

	{Method: "POST", Path: "/api/token/refresh", Group: GroupToken, handle: (*handler).refresh},
	{Method: "POST", Path: "/api/token/revoke", Group: GroupToken, handle: (*handler).revoke},

	{Method: "POST", Path: "/api/files/presign", Auth: true, Group: GroupFiles, handle: (*handler).presign},
	{Method: "POST", Path: "/api/files/complete", Auth: true, Group: GroupFiles, handle: (*handler).complete},
	{Method: "GET", Path: "/api/files/all", Auth: true, Group: GroupFiles, handle: (*handler).listFiles},
	{Method: "GET", Path: "/api/files/resolve", Auth: true, Group: GroupFiles, handle: (*handler).resolveFiles},
	{Method: "GET", Path: "/api/files", Auth: true, Group: GroupFiles, handle: (*handler).fileDetails},
	{Method: "GET", Path: "/api/files/hash", Auth: true, Group: GroupFiles, handle: (*handler).fileHash},
	{Method: "GET", Path: "/api/files/salt", Auth: true, Group: GroupFiles, handle: (*handler).fileSalt},
	{Method: "DELETE", Path: "/api/files", Auth: true, Group: GroupFiles, handle: (*handler).deleteFile},

	{Method: "GET", Path: "/files/download/{ownerSegment}/{fileID}", Group: GroupDownload, handle: (*handler).download},
}

// Routes returns every endpoint the API serves.
func Routes() []Route {
	out := make([]Route, len(routeTable))
	copy(out, routeTable)
	return out
}
