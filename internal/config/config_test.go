package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/config"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":8000" || cfg.GitHubEventsURL.String() != "https://api.github.com/events" ||
		cfg.PollWorkers != 2 || cfg.PollQueueSize != 1000 || cfg.PollInterval != 60*time.Second ||
		cfg.DBMaxConns != 10 || cfg.DBMaxConnLifetime != time.Hour || cfg.LogLevel != slog.LevelInfo ||
		cfg.LogFormat != config.LogText || cfg.DatabaseURL != "" || cfg.GitHubToken != "" || cfg.DataDir != "" || cfg.CORSOrigins.Enabled() ||
		cfg.PollFailover != 15*time.Second || cfg.PollMetricsAddr != "" || cfg.HTTPRateLimit != 0 || cfg.HTTPRateBurst != 40 {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load([]string{
		"DATABASE_URL=postgres://u:p@db:5432/x", "HTTP_ADDR=127.0.0.1:9000", "GITHUB_EVENTS_URL=http://ghe.local/api/v3/events",
		"GITHUB_TOKEN=ghp_secret", "POLL_WORKERS=4", "POLL_QUEUE_SIZE=10", "POLL_INTERVAL=2m", "DB_MAX_CONNS=3",
		"DB_MAX_CONN_LIFETIME=30m", "LOG_LEVEL=debug", "LOG_FORMAT=JSON", "RETENTION=90d",
		"POLL_FAILOVER=5s", "POLL_METRICS_ADDR=127.0.0.1:9100", "HTTP_RATE_LIMIT=2.5", "HTTP_RATE_BURST=7",
		"CORS_ORIGINS= https://A.example , http://localhost:3000/", "DATA_DIR=/srv/ghevents",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:9000" || cfg.GitHubEventsURL.Host != "ghe.local" || cfg.GitHubToken.Reveal() != "ghp_secret" ||
		cfg.PollWorkers != 4 || cfg.PollQueueSize != 10 || cfg.PollInterval != 2*time.Minute || cfg.DBMaxConns != 3 ||
		cfg.DBMaxConnLifetime != 30*time.Minute || cfg.LogLevel != slog.LevelDebug || cfg.LogFormat != config.LogJSON ||
		cfg.Retention.Duration() != 90*24*time.Hour || cfg.PollFailover != 5*time.Second || cfg.PollMetricsAddr != "127.0.0.1:9100" ||
		cfg.HTTPRateLimit != 2.5 || cfg.HTTPRateBurst != 7 || cfg.DataDir != "/srv/ghevents" ||
		cfg.CORSOrigins.Any || !slices.Equal(cfg.CORSOrigins.List, []string{"https://a.example", "http://localhost:3000"}) {
		t.Fatalf("cfg = %+v", cfg)
	}
	// The token never shows itself, however it is printed.
	for _, s := range []string{fmt.Sprint(cfg.GitHubToken), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.GitHubToken)} {
		if strings.Contains(s, "ghp_secret") {
			t.Fatalf("token leaked in %q", s)
		}
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load([]string{"GITHUB_WATCH= repo:torvalds/linux , org:golang,user:octocat,REPO:Torvalds/Linux,repo:a/b.c_d-e", "GITHUB_FIREHOSE=false"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range cfg.GitHubWatch.Entries {
		got = append(got, e.String()+" "+e.Path())
	}
	want := []string{"repo:torvalds/linux /repos/torvalds/linux/events", "org:golang /orgs/golang/events",
		"user:octocat /users/octocat/events/public", "repo:a/b.c_d-e /repos/a/b.c_d-e/events"}
	if !slices.Equal(got, want) || cfg.GitHubFirehose {
		t.Fatalf("entries %q (firehose %v), want %q", got, cfg.GitHubFirehose, want)
	}
	if cfg, err := config.Load(nil); err != nil || !cfg.GitHubFirehose || len(cfg.GitHubWatch.Entries) != 0 {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
}

func TestGHArchive(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GHArchiveFollow || cfg.GHArchivePayload || cfg.GHArchiveURL.String() != "https://data.gharchive.org/" ||
		!cfg.GHArchiveSince.Time().IsZero() || cfg.GHArchiveGapAfter != 24*time.Hour {
		t.Fatalf("defaults: %+v", cfg)
	}
	for since, want := range map[string]time.Time{
		"2015-01-01":                time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC),
		"2024-03-05T07:00:00Z":      time.Date(2024, 3, 5, 7, 0, 0, 0, time.UTC),
		"2024-03-05T09:00:00+02:00": time.Date(2024, 3, 5, 7, 0, 0, 0, time.UTC),
	} {
		cfg, err := config.Load([]string{"GHARCHIVE_FOLLOW=true", "GHARCHIVE_PAYLOAD=true", "GHARCHIVE_URL=http://mirror.local/gh/",
			"GHARCHIVE_SINCE=" + since, "GHARCHIVE_GAP_AFTER=2h"})
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.GHArchiveFollow || !cfg.GHArchivePayload || cfg.GHArchiveURL.String() != "http://mirror.local/gh/" ||
			!cfg.GHArchiveSince.Time().Equal(want) || cfg.GHArchiveGapAfter != 2*time.Hour {
			t.Errorf("GHARCHIVE_SINCE=%s: %+v, want since %v", since, cfg, want)
		}
	}
}

func TestErrorsNameVariableValueAndExpectation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  string
		want string
	}{
		{"POLL_INTERVAL=abc", `invalid POLL_INTERVAL="abc": expected a duration of at least 1s, such as 60s or 2m`},
		{"POLL_INTERVAL=10ms", `invalid POLL_INTERVAL="10ms": expected a duration of at least 1s, such as 60s or 2m`},
		{"POLL_WORKERS=-1", `invalid POLL_WORKERS="-1": expected a whole number from 1 to 64`},
		{"POLL_WORKERS=two", `invalid POLL_WORKERS="two": expected a whole number from 1 to 64`},
		{"POLL_QUEUE_SIZE=0", `invalid POLL_QUEUE_SIZE="0": expected a whole number from 1 to 1000000`},
		{"GITHUB_EVENTS_URL=ftp://x/events", `invalid GITHUB_EVENTS_URL="ftp://x/events": expected an absolute http(s) URL`},
		{"GITHUB_EVENTS_URL=api.github.com/events", `invalid GITHUB_EVENTS_URL="api.github.com/events": expected an absolute http(s) URL`},
		{"GITHUB_EVENTS_URL=http://[::1", `invalid GITHUB_EVENTS_URL="http://[::1": expected an absolute http(s) URL`},
		{"POLL_FAILOVER=500ms", `invalid POLL_FAILOVER="500ms": expected a duration from 1s to 10m, such as 15s`},
		{"POLL_FAILOVER=11m", `invalid POLL_FAILOVER="11m": expected a duration from 1s to 10m, such as 15s`},
		{"POLL_METRICS_ADDR=9100", `invalid POLL_METRICS_ADDR="9100": expected empty, or host:port such as :9100`},
		{"HTTP_ADDR=8000", `invalid HTTP_ADDR="8000": expected host:port, such as :8000 or 127.0.0.1:8000`},
		{"HTTP_RATE_LIMIT=-1", `invalid HTTP_RATE_LIMIT="-1": expected a number of requests a second from 0 (off) to 1000000, such as 20`},
		{"HTTP_RATE_LIMIT=NaN", `invalid HTTP_RATE_LIMIT="NaN": expected a number of requests a second from 0 (off) to 1000000, such as 20`},
		{"HTTP_RATE_LIMIT=fast", `invalid HTTP_RATE_LIMIT="fast": expected a number of requests a second from 0 (off) to 1000000, such as 20`},
		{"HTTP_RATE_BURST=0", `invalid HTTP_RATE_BURST="0": expected a whole number from 1 to 100000`},
		{"CORS_ORIGINS=example.com", `invalid CORS_ORIGINS="example.com": expected empty, *, or a comma-separated list of origins (scheme://host[:port], no path) such as https://a.example,http://localhost:3000`},
		{"CORS_ORIGINS=https://a.example/app", `invalid CORS_ORIGINS="https://a.example/app": expected empty, *, or a comma-separated list of origins (scheme://host[:port], no path) such as https://a.example,http://localhost:3000`},
		{"CORS_ORIGINS=https://a.example,*", `invalid CORS_ORIGINS="https://a.example,*": expected empty, *, or a comma-separated list of origins (scheme://host[:port], no path) such as https://a.example,http://localhost:3000`},
		{"CORS_ORIGINS=https://a.example,", `invalid CORS_ORIGINS="https://a.example,": expected empty, *, or a comma-separated list of origins (scheme://host[:port], no path) such as https://a.example,http://localhost:3000`},
		{"DB_MAX_CONNS=0", `invalid DB_MAX_CONNS="0": expected a whole number from 1 to 1000`},
		{"DB_MAX_CONN_LIFETIME=-1h", `invalid DB_MAX_CONN_LIFETIME="-1h": expected a positive duration such as 30m or 1h`},
		{"LOG_LEVEL=loud", `invalid LOG_LEVEL="loud": expected one of debug, info, warn, error`},
		{"LOG_FORMAT=xml", `invalid LOG_FORMAT="xml": expected text or json`},
		{"RETENTION=soon", `invalid RETENTION="soon": expected off, or a duration of at least 1h such as 90d or 720h`},
		{"RETENTION=0d", `invalid RETENTION="0d": expected off, or a duration of at least 1h such as 90d or 720h`},
		{"RETENTION=30m", `invalid RETENTION="30m": expected off, or a duration of at least 1h such as 90d or 720h`},
		{"GHARCHIVE_FOLLOW=yes please", `invalid GHARCHIVE_FOLLOW="yes please": expected true or false`},
		{"GHARCHIVE_PAYLOAD=2", `invalid GHARCHIVE_PAYLOAD="2": expected true or false`},
		{"GHARCHIVE_URL=data.gharchive.org", `invalid GHARCHIVE_URL="data.gharchive.org": expected an absolute http(s) URL such as https://data.gharchive.org/`},
		{"GHARCHIVE_SINCE=2014-12-31", `invalid GHARCHIVE_SINCE="2014-12-31": expected empty, an RFC 3339 hour such as 2024-01-01T05:00:00Z or a date such as 2024-01-01, from 2015-01-01 on`},
		{"GHARCHIVE_SINCE=2024-01-01T05:30:00Z", `invalid GHARCHIVE_SINCE="2024-01-01T05:30:00Z": expected empty, an RFC 3339 hour such as 2024-01-01T05:00:00Z or a date such as 2024-01-01, from 2015-01-01 on`},
		{"GHARCHIVE_SINCE=yesterday", `invalid GHARCHIVE_SINCE="yesterday": expected empty, an RFC 3339 hour such as 2024-01-01T05:00:00Z or a date such as 2024-01-01, from 2015-01-01 on`},
		{"GHARCHIVE_GAP_AFTER=10m", `invalid GHARCHIVE_GAP_AFTER="10m": expected a duration from 1h to 720h, such as 24h`},
		{"GITHUB_WATCH=repo:torvalds/linux,repo:nope", `invalid GITHUB_WATCH="repo:nope": expected each entry repo:owner/name, org:login or user:login`},
		{"GITHUB_WATCH=team:x", `invalid GITHUB_WATCH="team:x": expected each entry repo:owner/name, org:login or user:login`},
		{"GITHUB_WATCH=org:-bad", `invalid GITHUB_WATCH="org:-bad": expected each entry repo:owner/name, org:login or user:login`},
		{"GITHUB_WATCH=user:a/b", `invalid GITHUB_WATCH="user:a/b": expected each entry repo:owner/name, org:login or user:login`},
		{"GITHUB_WATCH=repo:a/..", `invalid GITHUB_WATCH="repo:a/..": expected each entry repo:owner/name, org:login or user:login`},
		{"GITHUB_FIREHOSE=false", `invalid GITHUB_FIREHOSE="false": expected true, or GITHUB_WATCH set: with neither there is nothing to poll`},
		{"GITHUB_FIREHOSE=maybe", `invalid GITHUB_FIREHOSE="maybe": expected true or false`},
		// A connection string may hold a password: its value is never shown.
		{"DATABASE_URL=postgres://u:hunter2@h:notaport/db", `invalid DATABASE_URL (value not shown): expected a PostgreSQL URL such as postgres://user:pass@host:5432/db`},
	}
	for _, c := range cases {
		_, err := config.Load([]string{c.env})
		var errs config.Errors
		if !errors.As(err, &errs) || len(errs) != 1 {
			t.Errorf("%s: error = %v, want exactly one config error", c.env, err)
			continue
		}
		if got := errs[0].Error(); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.env, got, c.want)
		}
	}
}

func TestSeveralErrorsOneLineEach(t *testing.T) {
	t.Parallel()
	_, err := config.Load([]string{"POLL_INTERVAL=x", "POLL_WORKERS=0", "LOG_FORMAT=yaml"})
	lines := strings.Split(err.Error(), "\n")
	want := []string{"POLL_WORKERS", "POLL_INTERVAL", "LOG_FORMAT"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), "invalid "+w+"=") {
			t.Errorf("no line names %s:\n%s", w, err)
		}
	}
}

// TestDocumented checks .env.example and the README list every variable,
// .env.example with its default.
func TestDocumented(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range config.Vars() {
		if !strings.Contains(string(example), "\n"+v.Name+"="+v.Default+"\n") {
			t.Errorf(".env.example lacks %s=%s", v.Name, v.Default)
		}
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document `%s`", v.Name)
		}
	}
}

// TestCORSOriginsAny: "*" allows any origin, and lists nothing.
func TestCORSOriginsAny(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load([]string{"CORS_ORIGINS= * "})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.CORSOrigins.Any || cfg.CORSOrigins.List != nil || !cfg.CORSOrigins.Enabled() {
		t.Fatalf("CORS_ORIGINS=* gave %+v", cfg.CORSOrigins)
	}
}
