// Package web holds the example static site and the JavaScript client that
// `make dev` serves. The files are plain HTML and an ES module: no build step.
package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

//go:embed static
var files embed.FS

// ConfigPath is the path of the example page's SiteConfig, as JSON.
const ConfigPath = "/example-config.json"

// SiteConfig is the example page's configuration: where the login API is.
type SiteConfig struct {
	// API is the login API's base URL, such as http://localhost:3000; empty
	// means the origin that serves the page.
	API string `json:"api"`
	// Mode is the API's SESSION_MODE; the page only displays it.
	Mode string `json:"mode"`
}

// Handler serves the example site with the headers a static host should
// send with login pages. The CSP allows scripts from the site's own origin
// only, so no inline script, and connections to the login API only. Framing,
// MIME sniffing and caching are off.
func Handler(cfg SiteConfig) (http.Handler, error) {
	connect := "'self'"
	if cfg.API != "" {
		apiOrigin, err := originOf(cfg.API)
		if err != nil {
			return nil, err
		}
		connect += " " + apiOrigin
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; connect-src " + connect +
		"; img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

	configJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	static := http.FileServerFS(mustSub("static"))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.URL.Path == ConfigPath {
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(configJSON)
			return
		}
		static.ServeHTTP(w, r)
	}), nil
}

// originOf returns scheme://host[:port] of an absolute http or https URL, the
// form a CSP source expression needs.
func originOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("web: the API URL %q is not an absolute http or https URL", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}
