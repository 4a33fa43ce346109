package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// BenchmarkMetricRequest is one /metrics/event-avg-time request over the
// GH Archive hour, in-process: the answer with its ETag (a read snapshot:
// the data version and the query), the 304 of a matching If-None-Match
// (the data version alone), and, for comparison, the store's query alone
// (what an answer without an ETag reads).
func BenchmarkMetricRequest(b *testing.B) {
	s := store.New(testdb.New(b))
	if _, err := importer.New(s, importer.Options{}).Run(context.Background(), []string{gharchiveHour}); err != nil {
		b.Fatal(err)
	}
	h := api.New(api.Config{Store: s, Now: func() time.Time { return time.Date(2015, 1, 1, 1, 0, 0, 0, time.UTC) }, Version: "bench"})
	const path = "/metrics/event-avg-time?event_type=PushEvent&repository_name=KenanSulayman/heartbeat"
	serve := func(b *testing.B, inm string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	tag := serve(b, "").Header().Get("ETag")
	b.Run("answer", func(b *testing.B) {
		for b.Loop() {
			if rec := serve(b, ""); rec.Code != 200 {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("not-modified", func(b *testing.B) {
		for b.Loop() {
			if rec := serve(b, tag); rec.Code != 304 {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("store-query-alone", func(b *testing.B) {
		f := store.EventFilter{EventType: "PushEvent", RepoName: "KenanSulayman/heartbeat"}
		for b.Loop() {
			if _, err := s.EventSpan(context.Background(), f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
