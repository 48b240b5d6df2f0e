package engine

import (
	"net/http"
	"testing"

	"berth/config"
)

func TestProxyTransport(t *testing.T) {
	tr := ProxyTransport(config.Network{HTTPProxy: "http://proxy.example:3128", HTTPSProxy: "http://secure.example:3129",
		NoProxy: "localhost,10.0.0.0/8,registry.local"}).(*http.Transport)
	for url, want := range map[string]string{
		"http://registry.example/v2/":     "http://proxy.example:3128",
		"https://registry.example/v2/":    "http://secure.example:3129",
		"http://10.1.2.3:5000/v2/":        "",
		"https://registry.local:5000/v2/": "",
	} {
		req, _ := http.NewRequest("GET", url, nil)
		got, err := tr.Proxy(req)
		if err != nil {
			t.Fatal(err)
		}
		gotS := ""
		if got != nil {
			gotS = got.String()
		}
		if gotS != want {
			t.Errorf("%s: proxy %q, want %q", url, gotS, want)
		}
	}
}
