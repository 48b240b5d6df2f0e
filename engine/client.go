package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to the engine's API over its unix socket; the CLI uses
// nothing else.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{path: path, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}}}
}

// APIError is an error the engine answered with.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Do sends a request; a JSON body is encoded from in unless it is an
// io.Reader; a 2xx JSON answer is decoded into out when out is not nil.
// The caller closes the returned response's body when out is nil.
func (c *Client) Do(method, path string, query url.Values, in any, out any) (*http.Response, error) {
	var body io.Reader
	switch b := in.(type) {
	case nil:
	case io.Reader:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(j)
	}
	u := "http://berth" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the berth engine at %s: %w (is it running? the console shows its messages)", SocketPath, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var m struct{ Message string }
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &m) != nil || m.Message == "" {
			m.Message = strings.TrimSpace(string(b))
		}
		return nil, &APIError{Status: resp.StatusCode, Message: m.Message}
	}
	if out != nil {
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNoContent {
			return resp, nil
		}
		return resp, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp, nil
}

// Hijack sends a request that turns the connection into a raw stream
// both ways, as attach and exec start do, and returns the connection and
// a reader of what the engine sends.
func (c *Client) Hijack(method, path string, query url.Values, in any) (*net.UnixConn, io.Reader, error) {
	conn, err := net.Dial("unix", c.path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach the berth engine at %s: %w (is it running? the console shows its messages)", c.path, err)
	}
	var body []byte
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	u := "http://berth" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode >= 400 {
		defer conn.Close()
		var m struct{ Message string }
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &m) != nil || m.Message == "" {
			m.Message = strings.TrimSpace(string(b))
		}
		return nil, nil, &APIError{Status: resp.StatusCode, Message: m.Message}
	}
	return conn.(*net.UnixConn), br, nil
}

// Demux copies Docker's multiplexed stream to stdout and stderr.
func Demux(r io.Reader, stdout, stderr io.Writer) error {
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return err
		}
		w := stdout
		if hdr[0] == streamStderr {
			w = stderr
		}
		if _, err := io.CopyN(w, r, int64(binary.BigEndian.Uint32(hdr[4:]))); err != nil {
			return err
		}
	}
}

// JSONMessages prints the progress messages of load and import, and
// returns the error one of them carries.
func JSONMessages(r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Stream, Status, Error string
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return fmt.Errorf("%s", m.Error)
		}
		io.WriteString(w, m.Stream)
		if m.Status != "" {
			fmt.Fprintln(w, m.Status)
		}
	}
}
