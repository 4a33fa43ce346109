package bench

// BenchmarkAnswerParts splits the two big answers of the metrics
// benchmarks, the 10,000-row export of /metrics/multiple-events-repos and
// the 30-day hourly timeline of every type, into their parts, in-process
// on the same data set (no network, no second process):
//
//	<answer>/store            the store's call alone (queries and row scanning)
//	<answer>/handler          the whole answer from the HTTP handler, not compressed
//	<answer>/handler-gzip     the same, gzip-compressed as for the Go client
//	<answer>/encode           Huma's JSON encoding of the answer alone
//	<answer>/gzip-<level>     compressing the JSON alone at a gzip level
//	<answer>/gunzip           what the client spends decompressing it
//
// Each reports ms per operation and the size of what it produced (KiB).

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/store"
)

func BenchmarkAnswerParts(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	h := api.New(api.Config{Store: f.store, Version: "bench"})
	until := f.ds.End
	w := store.Window{Since: until.Add(-30 * 24 * time.Hour), Until: until}
	answers := []struct {
		name, path string
		store      func() error
		decoded    func(body []byte) (any, error)
	}{
		{
			name: "export", path: "/metrics/multiple-events-repos?event_type=PushEvent&minimal_events_count=1&limit=10000",
			store: func() error { _, _, err := f.store.TopRepos(ctx, "PushEvent", 1, 10000); return err },
			decoded: func(body []byte) (any, error) {
				var v api.MultipleEventsRepos
				return &v, json.Unmarshal(body, &v)
			},
		},
		{
			name: "timeline-30d-hour", path: "/metrics/events-timeline?offset=2592000&bucket=hour&until=" + until.Format(time.RFC3339),
			store: func() error { _, err := f.store.Timeline(ctx, w, time.Hour, store.EventFilter{}); return err },
			decoded: func(body []byte) (any, error) {
				var v api.EventsTimeline
				return &v, json.Unmarshal(body, &v)
			},
		},
	}
	serve := func(b *testing.B, path string, gz bool) []byte {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes()
	}
	kib := func(b *testing.B, n int) { b.ReportMetric(float64(n)/1024, "KiB") }
	perOp := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
	}
	for _, a := range answers {
		body := serve(b, a.path, false)
		v, err := a.decoded(body)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(a.name+"/store", func(b *testing.B) {
			start := time.Now()
			for range b.N {
				if err := a.store(); err != nil {
					b.Fatal(err)
				}
			}
			perOp(b, start)
		})
		b.Run(a.name+"/handler", func(b *testing.B) {
			start := time.Now()
			var n int
			for range b.N {
				n = len(serve(b, a.path, false))
			}
			perOp(b, start)
			kib(b, n)
		})
		b.Run(a.name+"/handler-gzip", func(b *testing.B) {
			start := time.Now()
			var n int
			for range b.N {
				n = len(serve(b, a.path, true))
			}
			perOp(b, start)
			kib(b, n)
		})
		b.Run(a.name+"/encode", func(b *testing.B) {
			var buf bytes.Buffer
			start := time.Now()
			for range b.N {
				buf.Reset()
				if err := huma.DefaultJSONFormat.Marshal(&buf, v); err != nil {
					b.Fatal(err)
				}
			}
			perOp(b, start)
			kib(b, buf.Len())
		})
		var gzBody []byte
		for _, level := range []int{kgzip.BestSpeed, 2, 3, 4, kgzip.DefaultCompression} {
			b.Run(fmt.Sprintf("%s/gzip-%d", a.name, level), func(b *testing.B) {
				var buf bytes.Buffer
				zw, _ := kgzip.NewWriterLevel(&buf, level)
				start := time.Now()
				for range b.N {
					buf.Reset()
					zw.Reset(&buf)
					_, _ = zw.Write(body)
					_ = zw.Close()
				}
				perOp(b, start)
				kib(b, buf.Len())
				if level == kgzip.DefaultCompression {
					gzBody = bytes.Clone(buf.Bytes())
				}
			})
		}
		b.Run(a.name+"/gunzip", func(b *testing.B) {
			start := time.Now()
			for range b.N {
				zr, err := gzip.NewReader(bytes.NewReader(gzBody))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, zr); err != nil {
					b.Fatal(err)
				}
			}
			perOp(b, start)
		})
	}
}
