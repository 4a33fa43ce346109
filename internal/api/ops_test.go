package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/telemetry"
)

func TestHealthReadyAndPrometheus(t *testing.T) {
	f := setup(t, handWorked)
	reg := telemetry.NewRegistry()
	reg.MustRegister(telemetry.NewPoolCollector("primary", f.pool))
	srv := httptest.NewServer(api.New(api.Config{Store: f.store, Now: func() time.Time { return now }, Registry: reg}))
	defer srv.Close()

	status, _, body := get(t, srv.URL, "/healthz")
	if status != 200 {
		t.Fatalf("/healthz = %d", status)
	}
	assertJSON(t, "/healthz", body, `{"status":"ok"}`)
	status, _, body = get(t, srv.URL, "/readyz")
	if status != 200 {
		t.Fatalf("/readyz = %d %s", status, body)
	}
	assertJSON(t, "/readyz", body, `{"status":"ok","checks":{"database":"ok"}}`)

	for range 2 {
		get(t, srv.URL, "/metrics/event-avg-time?event_type=PushEvent")
	}
	get(t, srv.URL, "/metrics/event-avg-time?event_type=Nope")
	get(t, srv.URL, "/no/such/page")
	_, ctype, body := get(t, srv.URL, telemetry.MetricsPath)
	text := string(body)
	for _, want := range []string{
		`ghevents_http_requests_total{method="GET",route="GET /metrics/event-avg-time",status="200"} 2`,
		`ghevents_http_requests_total{method="GET",route="GET /metrics/event-avg-time",status="422"} 1`,
		`ghevents_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`ghevents_http_request_duration_seconds_count{route="GET /metrics/event-avg-time"} 3`,
		`ghevents_db_pool_max_connections{pool="primary"}`,
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", telemetry.MetricsPath, want)
		}
	}
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("exposition content type %q", ctype)
	}
	// Outside the OpenAPI document.
	_, _, doc := get(t, srv.URL, "/openapi.json")
	for _, p := range []string{"/healthz", "/readyz", telemetry.MetricsPath} {
		if strings.Contains(string(doc), `"`+p+`"`) {
			t.Errorf("%s is in the OpenAPI document", p)
		}
	}
}

func TestReadyzDatabaseDown(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:"+closedPort(t)+"/postgres?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := httptest.NewServer(api.New(api.Config{Store: store.New(pool), Registry: prometheus.NewRegistry()}))
	defer srv.Close()
	status, _, body := get(t, srv.URL, "/readyz")
	if status != 503 {
		t.Fatalf("/readyz = %d", status)
	}
	assertJSON(t, "/readyz", body, `{"status":"unavailable","checks":{"database":"database unreachable"}}`)
	if status, _, _ := get(t, srv.URL, "/healthz"); status != 200 {
		t.Fatalf("/healthz = %d while the database is down; the process is up", status)
	}
}
