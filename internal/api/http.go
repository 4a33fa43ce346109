package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/rs/cors"
)

// The HTTP layers around the routes, outermost first (New puts them
// together; middleware.go has the first, logging and recovery):
//
//	cors          cross-origin calls from web pages (CORS_ORIGINS)
//	compress      gzip for text answers when the client accepts it
//	limits        rate limit (HTTP_RATE_LIMIT) and no request bodies
//	pageProblems  errors of the chart pages as pages, for people
//	problems      404 and 405 as application/problem+json
//	routes        the ServeMux: Huma's operations, docs, assets

// corsHandler lets web pages of the origins allowed (nil: none; "*": any)
// call the API: GET and HEAD, with the headers a client of the API sends,
// reading ETag and Retry-After; never with credentials.
func corsHandler(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins:       origins,
		AllowedMethods:       []string{http.MethodGet, http.MethodHead},
		AllowedHeaders:       []string{"Accept", "Content-Type", "If-None-Match"},
		ExposedHeaders:       []string{"ETag", "Retry-After"},
		AllowCredentials:     false,
		MaxAge:               600,
		OptionsSuccessStatus: http.StatusNoContent,
	}).Handler(next)
}

// compressedTypes are the answers worth compressing: text.
var compressedTypes = []string{
	"application/json", "application/problem+json", "application/yaml", "application/openapi+json",
	"text/html", "text/css", "text/javascript", "application/javascript", "text/plain",
}

// compressHandler gzips text answers for clients that accept gzip, from
// the first byte (even a short answer: the client asked for it). The ETags
// are weak, so the compressed and the plain answer share theirs.
//
// Answers computed per request (the metrics, the chart pages) are
// compressed at gzip's fastest level: on the big ones (the 10,000-row
// export, long timelines, the larger chart pages) it takes about two thirds
// of the default level's time, for 15 to 35 % more bytes (BENCHMARKS.md,
// "The big answers"). The static files under /assets/, which browsers keep
// (a year for the versioned ones), keep the default level: sent once, smaller.
func compressHandler(next http.Handler) http.Handler {
	fast := gzipWrapper(gzip.BestSpeed)(next)
	small := gzipWrapper(gzip.DefaultCompression)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			small.ServeHTTP(w, r)
			return
		}
		fast.ServeHTTP(w, r)
	})
}

func gzipWrapper(level int) func(http.Handler) http.HandlerFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.ContentTypes(compressedTypes), gzhttp.MinSize(0), gzhttp.CompressionLevel(level))
	if err != nil {
		panic(err) // constant options
	}
	return wrap
}

// problems answers the ServeMux's own errors, an unknown path (404) and a
// method a route does not take (405), and those of the file servers, with
// an RFC 9457 problem like every other error instead of net/http's plain
// text.
func problems(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&problemWriter{ResponseWriter: w, r: r}, r)
	})
}

// problemWriter replaces a plain-text 404 or 405 with a problem.
type problemWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (w *problemWriter) WriteHeader(code int) {
	if w.replaced {
		return
	}
	if (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.replaced = true
		detail := "no such path: " + w.r.URL.Path + " (the API is described at /docs and /openapi.json; the charts are at /visualization)"
		if code == http.StatusMethodNotAllowed {
			detail = fmt.Sprintf("%s is not allowed on %s; it takes %s", w.r.Method, w.r.URL.Path, w.Header().Get("Allow"))
		}
		writeProblem(w.ResponseWriter, code, detail)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *problemWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // net/http's text, replaced
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *problemWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wantsJSON says whether the client asked for JSON (a program, not a
// browser, which asks for text/html).
func wantsJSON(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || mt == "application/problem+json") {
			return true
		}
	}
	return false
}

// pageProblems turns the problems of the chart pages (a bad parameter, a
// page that does not exist, the database away) into pages for people,
// keeping the status: the usual navigation, one line per bad parameter in
// words, and the chart's form filled with what was asked. A client that
// asks for JSON gets the problem itself.
func (s *Server) pageProblems(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/visualization" && !strings.HasPrefix(r.URL.Path, "/visualization/") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Accept")
		if wantsJSON(r) {
			next.ServeHTTP(w, r)
			return
		}
		pw := &pageProblemWriter{ResponseWriter: w}
		next.ServeHTTP(pw, r)
		if !pw.captured {
			return
		}
		var problem huma.ErrorModel
		if err := json.Unmarshal(pw.body.Bytes(), &problem); err != nil {
			s.log.Error("read a page's problem", "error", err.Error())
			return // nothing was written: the client sees the status alone
		}
		page, err := s.problemPage(r, pw.status, &problem, w.Header())
		if err != nil {
			s.log.Error("render a problem page", "error", err.Error())
			writeProblem(w, pw.status, problem.Detail)
			return
		}
		h := w.Header()
		h.Del("Content-Length")
		h.Set("Content-Type", "text/html; charset=utf-8")
		setPageHeaders(w)
		w.WriteHeader(pw.status)
		_, _ = w.Write(page)
	})
}

// pageProblemWriter holds back a problem+json answer.
type pageProblemWriter struct {
	http.ResponseWriter
	status   int
	captured bool
	body     bytes.Buffer
}

func (w *pageProblemWriter) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
		w.status, w.captured = code, true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *pageProblemWriter) Write(b []byte) (int, error) {
	if w.captured {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *pageProblemWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// redirectTo answers with a permanent redirect to path, keeping the query.
func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		target := path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	}
}

// refuseRepeatedParameters is a Huma middleware: a query parameter given
// more than once is refused with 422, as an unknown one is, rather than
// silently answered for its first value.
func refuseRepeatedParameters(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		q, err := url.ParseQuery(ctx.URL().RawQuery)
		if err != nil {
			next(ctx) // Huma reports what it cannot read
			return
		}
		var errs []error
		for name, values := range q {
			if len(values) > 1 {
				errs = append(errs, &huma.ErrorDetail{
					Location: "query." + name,
					Message:  fmt.Sprintf("given %d times; give it once", len(values)),
					Value:    values,
				})
			}
		}
		if len(errs) == 0 {
			next(ctx)
			return
		}
		sortDetails(errs)
		_ = huma.WriteErr(api, ctx, http.StatusUnprocessableEntity, "validation failed", errs...)
	}
}

// sortDetails orders error details by location, so an answer is the same
// whatever the order of a map.
func sortDetails(errs []error) {
	slices.SortFunc(errs, func(a, b error) int {
		return strings.Compare(a.(*huma.ErrorDetail).Location, b.(*huma.ErrorDetail).Location)
	})
}
