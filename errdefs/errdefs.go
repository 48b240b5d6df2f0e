// Package errdefs is the small set of error kinds berth's packages wrap
// their errors in, so that whoever reports an error can tell its kind with
// errors.Is: the API maps each kind to its HTTP status in one place, the
// CLI to its exit status. Owners export their own sentinels (no such
// container, no such device) wrapping one of these.
package errdefs

import "errors"

// The kinds of error.
var (
	// ErrNotFound: what was named does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request clashes with the state of things, a name
	// in use or a container running (409).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request itself is wrong (400).
	ErrInvalid = errors.New("invalid argument")
	// ErrNotImplemented: berth does not carry this out (501).
	ErrNotImplemented = errors.New("not implemented")
	// ErrUnauthorized: credentials were refused (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotModified: the request asked for what already is, starting a
	// running container (304).
	ErrNotModified = errors.New("not modified")
	// ErrUnavailable: something berth needs is not there now (503).
	ErrUnavailable = errors.New("unavailable")
)

// Kind wraps err, keeping its message, so that errors.Is(result, kind).
func Kind(kind, err error) error {
	if err == nil {
		return nil
	}
	return kindError{kind, err}
}

type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }
