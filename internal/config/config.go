// Package config reads ghevents' configuration from the environment.
//
// Every setting is one environment variable (also settable in the .env file
// that `make run` reads). A bad value is reported as an *Error that names the
// variable, the value and what was expected, so the program can stop before
// it does anything.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config is every setting of ghevents. The `desc` tag is the one-line meaning
// shown in .env.example and the README; the `expect` tag says what a valid
// value looks like when one is rejected.
type Config struct {
	DatabaseURL     string `env:"DATABASE_URL" secret:"true" desc:"PostgreSQL connection string; when empty, ghevents runs a private PostgreSQL cluster under DATA_DIR" expect:"a PostgreSQL URL such as postgres://user:pass@host:5432/db"`
	DatabaseReadURL string `env:"DATABASE_READ_URL" secret:"true" desc:"optional read replica (a streaming hot standby of DATABASE_URL) for the metric and chart queries of serve and run; writes always go to DATABASE_URL; while the replica cannot be reached those requests answer 503; empty means DATABASE_URL" expect:"a PostgreSQL URL such as postgres://user:pass@replica:5432/db"`
	// DataDir is empty unless the user set it: the private cluster of the
	// default (.data) may be kept elsewhere, a folder the user chose never is.
	DataDir string `env:"DATA_DIR" desc:"where the private PostgreSQL cluster lives when DATABASE_URL is empty; empty means .data, kept instead in /var/lib/ghevents/<digest of its path> when the user PostgreSQL runs as cannot enter it (run as root in a folder of mode 0700); a folder set here is never moved" expect:"a directory path"`

	HTTPAddr      string  `env:"HTTP_ADDR" envDefault:":8000" desc:"listen address of the API and charts" expect:"host:port, such as :8000 or 127.0.0.1:8000"`
	HTTPRateLimit float64 `env:"HTTP_RATE_LIMIT" envDefault:"0" desc:"requests a second one client (IP address) may make; over it, 429 with Retry-After; 0 turns the limit off (/healthz, /readyz and /internal/metrics are never limited)" expect:"a number of requests a second from 0 (off) to 1000000, such as 20"`
	HTTPRateBurst int     `env:"HTTP_RATE_BURST" envDefault:"40" desc:"requests one client may make at once above HTTP_RATE_LIMIT (a chart page with its assets is 4)" expect:"a whole number from 1 to 100000"`
	CORSOrigins   Origins `env:"CORS_ORIGINS" desc:"web pages of other origins allowed to call the API from a browser: empty (off), * (any), or a comma-separated list of origins such as https://a.example,http://localhost:3000" expect:"empty, *, or a comma-separated list of origins (scheme://host[:port], no path) such as https://a.example,http://localhost:3000"`

	GitHubEventsURL url.URL `env:"GITHUB_EVENTS_URL" envDefault:"https://api.github.com/events" desc:"the Events API to poll; any URL serving the same API (GitHub Enterprise, a mirror)" expect:"an absolute http(s) URL"`
	GitHubWatch     Watch   `env:"GITHUB_WATCH" desc:"repositories, organisations and users to poll each as its own feed besides the public one, comma-separated: repo:owner/name, org:login, user:login (resolved against GITHUB_EVENTS_URL without its final /events)" expect:"a comma-separated list of repo:owner/name, org:login or user:login"`
	GitHubFirehose  bool    `env:"GITHUB_FIREHOSE" envDefault:"true" desc:"false stops polling the public feed (GITHUB_EVENTS_URL) and polls only the GITHUB_WATCH feeds" expect:"true or false"`
	GitHubToken     Secret  `env:"GITHUB_TOKEN" secret:"true" desc:"optional token: 5,000 requests an hour instead of 60; never logged" expect:"a GitHub token"`

	GHArchiveFollow   bool          `env:"GHARCHIVE_FOLLOW" envDefault:"false" desc:"true makes the polling process (ghevents poll and run; the elected leader only) import every GH Archive hour once it is published, so every public event is stored, not only what the Events API shows" expect:"true or false"`
	GHArchivePayload  bool          `env:"GHARCHIVE_PAYLOAD" envDefault:"false" desc:"true keeps the raw JSON of the events the follower imports (tens of GB a day at 2021 activity instead of a few)" expect:"true or false"`
	GHArchiveURL      url.URL       `env:"GHARCHIVE_URL" envDefault:"https://data.gharchive.org/" desc:"where the follower fetches the hour files YYYY-MM-DD-H.json.gz: GH Archive or a mirror in the same layout" expect:"an absolute http(s) URL such as https://data.gharchive.org/"`
	GHArchiveSince    ArchiveHour   `env:"GHARCHIVE_SINCE" desc:"the first hour the follower fetches when it has fetched nothing yet from GHARCHIVE_URL (an RFC 3339 hour such as 2024-01-01T05:00:00Z, or a date), from 2015-01-01 on; empty means the last complete hour; once state exists, the state wins" expect:"empty, an RFC 3339 hour such as 2024-01-01T05:00:00Z or a date such as 2024-01-01, from 2015-01-01 on"`
	GHArchiveGapAfter time.Duration `env:"GHARCHIVE_GAP_AFTER" envDefault:"24h" desc:"an hour file still missing (404) this long after the hour's end is a gap: counted, logged, tried again once a day, and the follower moves on" expect:"a duration from 1h to 720h, such as 24h"`

	PollWorkers   int           `env:"POLL_WORKERS" envDefault:"2" desc:"insert workers taking pages from the queue" expect:"a whole number from 1 to 64"`
	PollQueueSize int           `env:"POLL_QUEUE_SIZE" envDefault:"1000" desc:"pages the queue between fetching and inserting holds before fetching waits" expect:"a whole number from 1 to 1000000"`
	PollInterval  time.Duration `env:"POLL_INTERVAL" envDefault:"60s" desc:"the least wait between two polling rounds" expect:"a duration of at least 1s, such as 60s or 2m"`
	PollFailover  time.Duration `env:"POLL_FAILOVER" envDefault:"15s" desc:"with several pollers on one database (one polls, the others stand by), a standby takes over within this long after the leader dies or loses its connection" expect:"a duration from 1s to 10m, such as 15s"`
	// PollMetricsAddr is for ghevents poll only: ghevents run serves the same endpoints on HTTP_ADDR.
	PollMetricsAddr string `env:"POLL_METRICS_ADDR" desc:"listen address of /healthz, /readyz and /internal/metrics of ghevents poll; empty serves none (ghevents run serves them on HTTP_ADDR)" expect:"empty, or host:port such as :9100"`

	DBMaxConns        int32         `env:"DB_MAX_CONNS" envDefault:"10" desc:"most connections in the database pool" expect:"a whole number from 1 to 1000"`
	DBMaxConnLifetime time.Duration `env:"DB_MAX_CONN_LIFETIME" envDefault:"1h" desc:"a pooled connection is closed and replaced after this long" expect:"a positive duration such as 30m or 1h"`
	QueryTimeout      time.Duration `env:"QUERY_TIMEOUT" envDefault:"5s" desc:"statement timeout of each API query" expect:"a positive duration such as 5s"`

	AnswerCacheMB int `env:"ANSWER_CACHE_MB" envDefault:"64" desc:"megabytes of big metric answers (the 10,000-row export, long timelines) kept in memory and sent again while the stored events are unchanged (the data version of their ETag); 0 turns the cache off" expect:"a whole number of megabytes from 0 (off) to 65536"`

	ChartMaxPoints int `env:"CHART_MAX_POINTS" envDefault:"2000" desc:"most gaps drawn per series on the time-between-events chart (the most recent; the average uses all events)" expect:"a whole number from 10 to 100000"`

	Retention RetentionPeriod `env:"RETENTION" envDefault:"off" desc:"delete events older than this (by created_at), e.g. 90d or 720h; off keeps everything" expect:"off, or a duration of at least 1h such as 90d or 720h"`

	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s" desc:"on SIGINT/SIGTERM, how long requests in flight and queued pages may take to finish" expect:"a positive duration such as 15s"`

	LogLevel  slog.Level `env:"LOG_LEVEL" envDefault:"info" desc:"least level logged: debug, info, warn or error" expect:"one of debug, info, warn, error"`
	LogFormat LogFormat  `env:"LOG_FORMAT" envDefault:"text" desc:"log line format: text (for terminals) or json (for containers)" expect:"text or json"`
}

// WatchEntry is one watched feed of GITHUB_WATCH.
type WatchEntry struct {
	// Kind is "repo", "org" or "user"; Name is owner/name or a login.
	Kind, Name string
}

// String is the entry as written: repo:owner/name.
func (w WatchEntry) String() string { return w.Kind + ":" + w.Name }

// Path is the feed's path below the API's base: /repos/{owner}/{name}/events,
// /orgs/{login}/events or /users/{login}/events/public.
func (w WatchEntry) Path() string {
	switch w.Kind {
	case "repo":
		return "/repos/" + w.Name + "/events"
	case "org":
		return "/orgs/" + w.Name + "/events"
	default:
		return "/users/" + w.Name + "/events/public"
	}
}

// Watch is GITHUB_WATCH: the entries, and the first one that is not
// valid (checked by validate, so the error can name it).
type Watch struct {
	Entries []WatchEntry
	bad     string
}

var (
	loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoPattern  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
)

// UnmarshalText parses the comma-separated entries; a bad one is kept
// for validate to report.
func (w *Watch) UnmarshalText(b []byte) error {
	*w = Watch{}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		kind, name, ok := strings.Cut(part, ":")
		kind = strings.ToLower(kind)
		valid := ok && ((kind == "repo" && repoPattern.MatchString(name) && !strings.HasSuffix(name, "/.") && !strings.HasSuffix(name, "/..")) ||
			((kind == "org" || kind == "user") && loginPattern.MatchString(name)))
		if !valid {
			if w.bad == "" {
				w.bad = part
			}
			continue
		}
		e := WatchEntry{Kind: kind, Name: name}
		if key := strings.ToLower(e.String()); !seen[key] {
			seen[key] = true
			w.Entries = append(w.Entries, e)
		}
	}
	return nil
}

// ArchiveHour is an hour of GH Archive (GHARCHIVE_SINCE); zero when unset.
type ArchiveHour time.Time

// FirstArchiveHour is the first hour GH Archive serves in the layout the
// importer reads (older dumps have another).
var FirstArchiveHour = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// UnmarshalText parses an RFC 3339 time on the hour or a date (its first
// hour).
func (h *ArchiveHour) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*h = ArchiveHour{}
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t, err = time.Parse(time.RFC3339, s)
		if err != nil {
			return err
		}
		if !t.Equal(t.Truncate(time.Hour)) {
			return fmt.Errorf("%q is not on the hour", s)
		}
	}
	*h = ArchiveHour(t.UTC())
	return nil
}

// Time is the hour (zero when unset).
func (h ArchiveHour) Time() time.Time { return time.Time(h) }

// LogFormat is how log lines are written.
type LogFormat string

// The log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// UnmarshalText accepts "text" or "json" in any case.
func (f *LogFormat) UnmarshalText(b []byte) error {
	switch v := LogFormat(strings.ToLower(strings.TrimSpace(string(b)))); v {
	case LogText, LogJSON:
		*f = v
		return nil
	default:
		return fmt.Errorf("unknown log format %q", b)
	}
}

// Origins are the origins allowed to call the API across origins (CORS):
// none (off), any ("*"), or a list.
type Origins struct {
	// Any is set by "*".
	Any bool
	// List holds the origins of a list, as scheme://host[:port], lower case.
	List []string
}

// UnmarshalText parses "", "*" or a comma-separated list of origins.
func (o *Origins) UnmarshalText(b []byte) error {
	*o = Origins{}
	s := strings.TrimSpace(string(b))
	switch s {
	case "":
		return nil
	case "*":
		o.Any = true
		return nil
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(part, "?") {
			return fmt.Errorf("bad origin %q", part)
		}
		o.List = append(o.List, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return nil
}

// Enabled says whether any other origin may call the API.
func (o Origins) Enabled() bool { return o.Any || len(o.List) > 0 }

// RetentionPeriod is how long events are kept; 0 means forever ("off").
// It accepts Go durations and whole days ("90d").
type RetentionPeriod time.Duration

// UnmarshalText parses "off", "90d" or a Go duration such as "720h".
func (r *RetentionPeriod) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	switch {
	case s == "off" || s == "0":
		*r = 0
		return nil
	case strings.HasSuffix(s, "d"):
		days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || days < 1 || days > 100*365 {
			return fmt.Errorf("bad retention %q", s)
		}
		*r = RetentionPeriod(time.Duration(days) * 24 * time.Hour)
		return nil
	default:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*r = RetentionPeriod(d)
		return nil
	}
}

// Duration is the period as a time.Duration (0: keep everything).
func (r RetentionPeriod) Duration() time.Duration { return time.Duration(r) }

// Secret is a string that never shows itself: printing, formatting or
// logging it gives "[redacted]". Use Reveal for the real value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, so %#v does not show it either.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler (JSON and the like).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Secret) UnmarshalText(b []byte) error {
	*s = Secret(strings.TrimSpace(string(b)))
	return nil
}

// Error is a configuration value that cannot be used.
type Error struct {
	// Var is the environment variable, such as POLL_INTERVAL.
	Var string
	// Value is what it was set to (empty for secrets, which are never shown).
	Value string
	// Expected says what a valid value looks like.
	Expected string
	// Secret marks a variable whose value must not be shown (a token, or a
	// connection string that may hold a password).
	Secret bool
}

func (e *Error) Error() string {
	if e.Secret {
		return fmt.Sprintf("invalid %s (value not shown): expected %s", e.Var, e.Expected)
	}
	return fmt.Sprintf("invalid %s=%q: expected %s", e.Var, e.Value, e.Expected)
}

// Errors is every bad value found, in the order of the Config fields.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Var describes one configuration variable, for documentation.
type Var struct {
	Name, Default, Description string
}

// Vars lists every variable with its default and meaning, in field order.
func Vars() []Var {
	t := reflect.TypeFor[Config]()
	vars := make([]Var, 0, t.NumField())
	for f := range t.Fields() {
		vars = append(vars, Var{Name: f.Tag.Get("env"), Default: f.Tag.Get("envDefault"), Description: f.Tag.Get("desc")})
	}
	return vars
}

// Load reads the configuration from environ (KEY=VALUE strings, as
// os.Environ returns them) and validates it. On bad values it returns Errors.
func Load(environ []string) (Config, error) {
	envMap := env.ToMap(environ)
	cfg, err := env.ParseAsWithOptions[Config](env.Options{Environment: envMap})
	var errs Errors
	if err != nil {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			return Config{}, fmt.Errorf("read configuration: %w", err)
		}
		for _, e := range agg.Errors {
			var pe env.ParseError
			if !errors.As(e, &pe) {
				return Config{}, fmt.Errorf("read configuration: %w", e)
			}
			errs = append(errs, fieldError(pe.Name, envMap))
		}
	}
	// A value that did not parse was left at its zero value: report it once.
	for _, e := range cfg.validate(envMap) {
		if !slices.ContainsFunc(errs, func(x *Error) bool { return x.Var == e.Var }) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		// In the order of the Config fields (and of .env.example).
		order := map[string]int{}
		for i, v := range Vars() {
			order[v.Name] = i
		}
		slices.SortStableFunc(errs, func(a, b *Error) int { return order[a.Var] - order[b.Var] })
		return Config{}, errs
	}
	return cfg, nil
}

// fieldError builds the Error for the Config field called name.
func fieldError(name string, envMap map[string]string) *Error {
	f, _ := reflect.TypeFor[Config]().FieldByName(name)
	key := f.Tag.Get("env")
	return &Error{
		Var:      key,
		Value:    envMap[key],
		Expected: f.Tag.Get("expect"),
		Secret:   f.Tag.Get("secret") == "true",
	}
}

// validate checks the values that parsed but are out of range.
func (c *Config) validate(envMap map[string]string) Errors {
	var errs Errors
	check := func(ok bool, field string) {
		if !ok {
			errs = append(errs, fieldError(field, envMap))
		}
	}
	check(validPostgresURL(c.DatabaseURL), "DatabaseURL")
	check(validPostgresURL(c.DatabaseReadURL), "DatabaseReadURL")
	check(validAddr(c.HTTPAddr), "HTTPAddr")
	check(c.HTTPRateLimit >= 0 && c.HTTPRateLimit <= 1_000_000, "HTTPRateLimit") // NaN fails both
	check(c.HTTPRateBurst >= 1 && c.HTTPRateBurst <= 100_000, "HTTPRateBurst")
	check((c.GitHubEventsURL.Scheme == "http" || c.GitHubEventsURL.Scheme == "https") && c.GitHubEventsURL.Host != "", "GitHubEventsURL")
	check((c.GHArchiveURL.Scheme == "http" || c.GHArchiveURL.Scheme == "https") && c.GHArchiveURL.Host != "" &&
		c.GHArchiveURL.RawQuery == "" && c.GHArchiveURL.Fragment == "", "GHArchiveURL")
	check(c.GHArchiveSince.Time().IsZero() || !c.GHArchiveSince.Time().Before(FirstArchiveHour), "GHArchiveSince")
	check(c.GHArchiveGapAfter >= time.Hour && c.GHArchiveGapAfter <= 720*time.Hour, "GHArchiveGapAfter")
	if c.GitHubWatch.bad != "" {
		e := fieldError("GitHubWatch", envMap)
		e.Value = c.GitHubWatch.bad
		e.Expected = "each entry repo:owner/name, org:login or user:login"
		errs = append(errs, e)
	}
	if !c.GitHubFirehose && len(c.GitHubWatch.Entries) == 0 {
		e := fieldError("GitHubFirehose", envMap)
		e.Expected = "true, or GITHUB_WATCH set: with neither there is nothing to poll"
		errs = append(errs, e)
	}
	check(c.PollWorkers >= 1 && c.PollWorkers <= 64, "PollWorkers")
	check(c.PollQueueSize >= 1 && c.PollQueueSize <= 1_000_000, "PollQueueSize")
	check(c.PollInterval >= time.Second, "PollInterval")
	check(c.PollFailover >= time.Second && c.PollFailover <= 10*time.Minute, "PollFailover")
	check(c.PollMetricsAddr == "" || validAddr(c.PollMetricsAddr), "PollMetricsAddr")
	check(c.DBMaxConns >= 1 && c.DBMaxConns <= 1000, "DBMaxConns")
	check(c.DBMaxConnLifetime > 0, "DBMaxConnLifetime")
	check(c.QueryTimeout > 0, "QueryTimeout")
	check(c.AnswerCacheMB >= 0 && c.AnswerCacheMB <= 65536, "AnswerCacheMB")
	check(c.ChartMaxPoints >= 10 && c.ChartMaxPoints <= 100_000, "ChartMaxPoints")
	check(c.Retention == 0 || c.Retention.Duration() >= time.Hour, "Retention")
	check(c.ShutdownGrace > 0, "ShutdownGrace")
	return errs
}

// validPostgresURL accepts an empty string (not set) or anything pgx can parse.
func validPostgresURL(s string) bool {
	if s == "" {
		return true
	}
	_, err := pgxpool.ParseConfig(s)
	return err == nil
}

// validAddr accepts host:port with a numeric port (host may be empty).
func validAddr(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// Redacted returns u with any password replaced, for logs and messages.
func Redacted(u string) string {
	if u == "" {
		return ""
	}
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		return "(unparsable connection string)"
	}
	cc := cfg.ConnConfig
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}
