// Package web holds the example static site and the JavaScript client that
// `make dev` serves. The files are plain HTML and an ES module: no build step.
package web

import (
	"embed"
	"net/http"
)

//go:embed static
var files embed.FS

// Handler serves the example site with the headers a static host should
// send with login pages: a restrictive CSP, no framing, no sniffing.
func Handler() http.Handler {
	static := http.FileServerFS(mustSub("static"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		static.ServeHTTP(w, r)
	})
}
