package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	if code == http.StatusNotModified {
		w.Header().Del("Content-Type") // no representation: nothing to type
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware logs each request (method, path, status, duration), counts
// it under the route that served it (mux's pattern), answers a panic with
// a plain 500 (logged with its stack, never sent), and sets
// X-Content-Type-Options on everything.
func (s *Server) middleware(next http.Handler, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.Started()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		sw.Header().Set("X-Content-Type-Options", "nosniff")
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", slog.String("path", r.URL.Path), slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				if !sw.wrote {
					writeProblem(sw, http.StatusInternalServerError, "internal error; it has been logged")
				}
			}
			d := time.Since(start)
			s.metrics.Finished()
			// The route that serves the request (what the mux sets as
			// r.Pattern), also for answers given before it (429, CORS).
			_, pattern := mux.Handler(r)
			s.metrics.Observe(pattern, r.Method, sw.status, d)
			s.log.Info("request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Duration("duration", d))
		}()
		next.ServeHTTP(sw, r)
	})
}

// limited answers 429 to a client over its rate limit (when one is set)
// and refuses request bodies.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limits != nil && !rateLimitExempt[r.URL.Path] {
			if ok, wait := s.limits.allow(r); !ok {
				s.limits.rateLimited(w, wait)
				return
			}
		}
		// The API is read-only: no request carries a body.
		if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
			writeProblem(w, http.StatusRequestEntityTooLarge, "request bodies are not accepted: every operation is a GET with query parameters")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeProblem answers with an RFC 9457 problem outside Huma's handlers.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
	_, _ = w.Write(b)
}
