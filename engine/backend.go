package engine

import "berth/api"

// The engine is the backend of berth's Docker Engine API.
var _ api.Backend = (*Engine)(nil)
