package api

import (
	"fmt"
	"io"
	"strings"

	"berth/errdefs"
)

// DetachKeys reads detach keys as Docker does ("ctrl-p,ctrl-q": each
// key a character or ctrl- and one of a-z @ [ \\ ] ^ _); empty is
// Docker's default, ctrl-p ctrl-q.
func DetachKeys(keys string) ([]byte, error) {
	if keys == "" {
		return []byte{0x10, 0x11}, nil
	}
	var out []byte
	for _, k := range strings.Split(keys, ",") {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case len(k) == 6 && strings.HasPrefix(strings.ToLower(k), "ctrl-"):
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c >= 'A' && c <= 'Z':
				out = append(out, c-'A'+1)
			case c == '@':
				out = append(out, 0)
			case c >= '[' && c <= '_':
				out = append(out, c-'['+27)
			default:
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Unknown character: '%s'", k))
			}
		default:
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Unknown character: '%s'", k))
		}
	}
	return out, nil
}

// CopyInput copies a client's input to dst until it ends or the client
// types the detach keys; it reports whether it did. Keys that begin the
// sequence are held back until the sequence is complete or broken.
func CopyInput(dst io.Writer, src io.Reader, keys []byte) (detached bool) {
	buf := make([]byte, 32*1024)
	matched := 0
	for {
		n, err := src.Read(buf)
		var out []byte
		for _, b := range buf[:n] {
			if len(keys) > 0 && b == keys[matched] {
				matched++
				if matched == len(keys) {
					if len(out) > 0 {
						dst.Write(out)
					}
					return true
				}
				continue
			}
			if matched > 0 {
				out = append(out, keys[:matched]...)
				matched = 0
				if b == keys[0] {
					matched = 1
					continue
				}
			}
			out = append(out, b)
		}
		if len(out) > 0 {
			if _, werr := dst.Write(out); werr != nil {
				return false
			}
		}
		if err != nil {
			return false
		}
	}
}
