package api

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/ghevents/ghevents/internal/charts"
)

// SwaggerUIVersion is the vendored swagger-ui-dist (scripts/vendor-assets.sh).
const SwaggerUIVersion = "5.35.0"

//go:embed assets
var assets embed.FS

// assetsPrefix carries the version, so the files can be cached for a year.
const assetsPrefix = "/assets/swagger-ui/" + SwaggerUIVersion + "/"

// docsPage is the interactive documentation: swagger-ui served from the
// binary, initialised by docs.js (no inline script, so the page's CSP allows
// only our own scripts).
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ghevents API</title>
<link rel="icon" href="` + charts.FaviconPath + `">
<link rel="stylesheet" href="` + assetsPrefix + `swagger-ui.css">
<link rel="stylesheet" href="/assets/docs.css">
</head>
<body>
<nav class="ghevents-nav">
<strong>ghevents</strong>
<a href="/visualization">Charts</a>
<a href="/openapi.json">OpenAPI 3.1 (JSON)</a>
<a href="/openapi.yaml">OpenAPI 3.1 (YAML)</a>
<a href="/openapi-3.0.json">OpenAPI 3.0</a>
</nav>
<div id="swagger-ui"></div>
<script src="` + assetsPrefix + `swagger-ui-bundle.js"></script>
<script src="/assets/docs.js"></script>
</body>
</html>
`

// docsJS starts swagger-ui on our document. validatorUrl null: no badge
// fetched from validator.swagger.io.
const docsJS = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: true,
    displayRequestDuration: true
  });
});
`

const docsCSS = `.ghevents-nav { font-family: sans-serif; padding: 10px 20px; background: #1b1f23; color: #fff; }
.ghevents-nav a { color: #8cc8ff; margin-left: 18px; }
`

// registerPages adds the docs, the assets and the / redirect to mux.
func (s *Server) registerPages(mux *http.ServeMux) {
	// Only "/" itself redirects; unknown paths still get 404.
	mux.HandleFunc("GET /{$}", redirectTo("/docs"))
	// A trailing slash is the same page.
	mux.HandleFunc("GET /docs/{$}", redirectTo("/docs"))
	mux.HandleFunc("GET /visualization/{$}", redirectTo("/visualization"))
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(docsPage))
	})
	mux.HandleFunc("GET /assets/docs.js", staticText("text/javascript; charset=utf-8", docsJS))
	mux.HandleFunc("GET /assets/docs.css", staticText("text/css; charset=utf-8", docsCSS))
	sub, err := fs.Sub(assets, "assets/swagger-ui")
	if err != nil {
		panic(err) // a constant path into our own embed
	}
	mux.Handle("GET "+assetsPrefix, immutable(http.StripPrefix(assetsPrefix, http.FileServerFS(sub))))
	chartAssets := charts.AssetsHandler()
	mux.Handle("GET /assets/echarts/", chartAssets)
	mux.Handle("GET /assets/charts.js", chartAssets)
	mux.Handle("GET /assets/charts.css", chartAssets)
	mux.Handle("GET "+charts.FaviconPath, chartAssets)
}

func staticText(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write([]byte(body))
	}
}

// immutable marks versioned assets cacheable for a year, and refuses
// directory listings.
func immutable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		h.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy lets pages load only our own scripts, styles, images
// and data. Inline styles are allowed: swagger-ui and echarts set them.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// setPageHeaders adds the security headers every HTML page gets.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}
