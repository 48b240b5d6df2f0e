// Command registry is the image registry berth's tests serve inside the
// guest, as a Docker user's private registry: go-containerregistry's
// registry (the Docker registry v2 API), in memory, on 127.0.0.1, with
// basic authentication when given a user.
//
//	registry -addr 127.0.0.1:5000 [-user NAME -password SECRET]
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on")
	user := flag.String("user", "", "user of basic authentication; none when empty")
	password := flag.String("password", "", "password of basic authentication")
	flag.Parse()
	var h http.Handler = registry.New(registry.Logger(log.New(os.Stderr, "registry: ", 0)))
	if *user != "" {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != *user || p != *password {
				w.Header().Set("WWW-Authenticate", `Basic realm="berth test registry"`)
				w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	fmt.Fprintf(os.Stderr, "registry: listening on %s\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}
