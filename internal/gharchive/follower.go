// Package gharchive follows GH Archive (GHARCHIVE_FOLLOW): it imports each
// hour file (YYYY-MM-DD-H.json.gz under a base URL) once it is published,
// through the importer, so that every public event is stored, not only the
// sample the Events API shows.
//
// What it has done is kept in the database per base URL (gharchive_hours):
// an hour is recorded once, after all its lines are stored, so an hour
// interrupted midway is imported again from its start (the import skips
// what is stored) and none is imported twice. From the hour after the
// newest one recorded (or GHARCHIVE_SINCE, or the last complete hour) it
// catches up to the present, then waits for each new hour.
//
// An hour not published yet (404) is asked again with a bounded backoff;
// still 404 GapAfter after its end, it is a gap: recorded, counted, logged
// once per run of consecutive gaps, tried again once a day, and the follower
// moves on. A download cut short or a corrupt file is fetched again from its
// start a few times, then recorded as a gap the same way.
package gharchive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghevents/ghevents/internal/backoff"
	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/model"
)

// First is the first hour GH Archive serves in the layout the importer
// reads: older dumps (from the Timeline API) have another.
var First = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// Store is what the follower needs of the database; *store.Store has it.
type Store interface {
	importer.Sink
	GHArchiveNewestHour(ctx context.Context, baseURL string) (time.Time, bool, error)
	GHArchiveNewestDone(ctx context.Context, baseURL string) (time.Time, bool, error)
	GHArchiveGapsDue(ctx context.Context, baseURL string, now time.Time, limit int) ([]time.Time, error)
	GHArchiveHourDone(ctx context.Context, baseURL string, hour time.Time, archiveEvents, seenBefore int64) (bool, error)
	GHArchiveHourGap(ctx context.Context, baseURL string, hour time.Time, reason string, retryAt time.Time) (bool, error)
	GHArchiveCounts(ctx context.Context, baseURL string) (done, gaps int64, err error)
	EventsSeenBeforeArchive(ctx context.Context, ids []int64, createdAts []time.Time) (int64, error)
}

// Defaults of the Config fields left zero.
const (
	DefaultGapAfter    = 24 * time.Hour
	DefaultGapRetry    = 24 * time.Hour
	DefaultAttempts    = 3
	DefaultRetryBase   = time.Minute
	DefaultRetryMax    = 10 * time.Minute
	DefaultDBTimeout   = 30 * time.Second
	defaultGapsPerPass = 24
	// waitStep is the longest single wait for an hour to end.
	waitStep = 5 * time.Minute
)

// Config configures a Follower. BaseURL and Store are required.
type Config struct {
	// BaseURL is where the hour files are (GHARCHIVE_URL), ending in "/".
	BaseURL string
	// Since is the first hour fetched when nothing was fetched from
	// BaseURL yet (GHARCHIVE_SINCE; zero: the last complete hour). Once
	// the database holds state for BaseURL, the state wins.
	Since time.Time
	// GapAfter is how long after an hour's end a missing file becomes a
	// gap (GHARCHIVE_GAP_AFTER).
	GapAfter time.Duration
	// GapRetry is how long after a failed try a gap is tried again.
	GapRetry time.Duration
	// Retention, when positive, keeps the follower from fetching hours
	// older than now - Retention (RETENTION).
	Retention time.Duration
	// Payload keeps the raw JSON of the events (GHARCHIVE_PAYLOAD).
	Payload bool
	// Attempts is how many times a file cut short or corrupt is
	// downloaded before it counts as a gap.
	Attempts int
	// RetryBase and RetryMax bound the backoff between two requests for
	// an hour not published yet (or a server error).
	RetryBase, RetryMax time.Duration
	// DBTimeout bounds each database call of the follower's own.
	DBTimeout time.Duration
	// Store keeps the events and the follower's state.
	Store Store
	// HTTPClient fetches the files (default: a client whose only limit is
	// 30 s to the response headers).
	HTTPClient *http.Client
	// UserAgent is sent with each request.
	UserAgent string
	// Log receives the follower's lines (nil: discard).
	Log *slog.Logger
	// Metrics receives the counters (nil: a new set, registered nowhere).
	// Pass the same set to the followers of successive terms.
	Metrics *Metrics
	// Now is the clock (default time.Now); Sleep waits d or until ctx
	// ends (default: a timer). Tests pass a fake clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Follower imports GH Archive hours as they are published. Run it once.
type Follower struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	started atomic.Bool

	// gapRun is the run of consecutive gaps not yet logged.
	gapFrom, gapTo time.Time
	gapCount       int
}

// New checks cfg, fills in the defaults and returns a Follower.
func New(cfg Config) (*Follower, error) {
	if cfg.BaseURL == "" || cfg.Store == nil {
		return nil, errors.New("gharchive: BaseURL and Store are required")
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	cfg.GapAfter = cmp.Or(cfg.GapAfter, DefaultGapAfter)
	cfg.GapRetry = cmp.Or(cfg.GapRetry, DefaultGapRetry)
	cfg.Attempts = cmp.Or(cfg.Attempts, DefaultAttempts)
	cfg.RetryBase = cmp.Or(cfg.RetryBase, DefaultRetryBase)
	cfg.RetryMax = cmp.Or(cfg.RetryMax, DefaultRetryMax)
	cfg.DBTimeout = cmp.Or(cfg.DBTimeout, DefaultDBTimeout)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = importer.NewHTTPClient()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = backoff.Sleep
	}
	f := &Follower{cfg: cfg, log: cfg.Log, metrics: cfg.Metrics}
	f.metrics.baseURL.Store(&cfg.BaseURL)
	return f, nil
}

// FileURL is where the file of hour is under baseURL (ending in "/"):
// GH Archive names hours without a leading zero (2015-01-01-0.json.gz).
func FileURL(baseURL string, hour time.Time) string {
	hour = hour.UTC()
	return baseURL + hour.Format("2006-01-02-") + strconv.Itoa(hour.Hour()) + ".json.gz"
}

// outcome is what one try at an hour gave.
type outcome int

const (
	imported    outcome = iota
	notFound            // 404: not published (yet)
	badDownload         // cut short or corrupt, Attempts times
	failed              // a server error, the network, the database: try again later
)

// Run follows GH Archive until ctx ends (then it returns nil). Failures
// of the network or the database are logged and retried; Run returns an
// error only when the follower cannot work at all.
func (f *Follower) Run(ctx context.Context) error {
	if f.started.Swap(true) {
		return errors.New("gharchive: Run called twice")
	}
	defer f.flushGaps()
	next, err := f.start(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	f.log.Info("following GH Archive", slog.String("url", f.cfg.BaseURL), slog.Time("from", next),
		slog.Bool("payload", f.cfg.Payload), slog.Duration("gap_after", f.cfg.GapAfter))
	tries := 0 // failed tries of next
	for ctx.Err() == nil {
		now := f.cfg.Now()
		if floor := f.floor(now); next.Before(floor) {
			f.flushGaps()
			f.log.Info("skipping hours older than the retention limit", slog.Time("from", next), slog.Time("to", floor))
			next = floor
		}
		f.retryGaps(ctx, now)
		f.refreshMetrics(ctx, now)
		if !next.Add(time.Hour).After(now) {
			f.metrics.setState("catching up: " + next.Format(time.RFC3339))
		}
		if next.Add(time.Hour).After(now) {
			// The hour has not ended: wait for its end (in steps, so the
			// lag and the gaps due are looked at meanwhile).
			f.flushGaps()
			f.metrics.setState("waiting for " + next.Format(time.RFC3339) + " to end")
			if err := f.cfg.Sleep(ctx, min(next.Add(time.Hour).Sub(now), waitStep)); err != nil {
				return nil
			}
			continue
		}
		out, why := f.importHour(ctx, next)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case out == imported:
			f.flushGaps()
			next, tries = next.Add(time.Hour), 0
			continue
		case out == badDownload, out == notFound && !now.Before(next.Add(time.Hour+f.cfg.GapAfter)):
			if err := f.gap(ctx, next, why, now); err != nil {
				f.log.Warn("cannot record a GH Archive gap: trying again", slog.Time("hour", next), slog.String("error", err.Error()))
				tries++
				break
			}
			next, tries = next.Add(time.Hour), 0
			continue
		default:
			tries++
		}
		// Not published yet, or failed: ask again after a backoff, never
		// past the moment the hour would become a gap.
		d := backoff.Step(f.cfg.RetryBase, f.cfg.RetryMax, tries)
		if out == notFound {
			d = min(d, max(next.Add(time.Hour+f.cfg.GapAfter).Sub(now), time.Second))
		}
		f.metrics.Retries.WithLabelValues(retryReason(out)).Inc()
		if err := f.cfg.Sleep(ctx, d); err != nil {
			return nil
		}
	}
	return nil
}

func retryReason(out outcome) string {
	if out == notFound {
		return "not_published"
	}
	return "error"
}

// start is the first hour to fetch: the one after the newest settled from
// this base URL, else Since, else the last complete hour. Database
// failures are retried until ctx ends.
func (f *Follower) start(ctx context.Context) (time.Time, error) {
	for attempt := 1; ; attempt++ {
		dbctx, cancel := context.WithTimeout(ctx, f.cfg.DBTimeout)
		newest, ok, err := f.cfg.Store.GHArchiveNewestHour(dbctx, f.cfg.BaseURL)
		cancel()
		if err == nil {
			switch {
			case ok:
				return newest.Add(time.Hour), nil
			case !f.cfg.Since.IsZero():
				return f.cfg.Since.UTC().Truncate(time.Hour), nil
			default:
				return f.cfg.Now().UTC().Truncate(time.Hour).Add(-time.Hour), nil
			}
		}
		d := backoff.Step(f.cfg.RetryBase, f.cfg.RetryMax, attempt)
		f.log.Warn("cannot read the GH Archive state: trying again", slog.String("error", err.Error()), slog.Duration("wait", d))
		if err := f.cfg.Sleep(ctx, d); err != nil {
			return time.Time{}, err
		}
	}
}

// floor is the oldest hour retention lets the follower fetch (zero:
// none): the first whole hour at or after now - Retention.
func (f *Follower) floor(now time.Time) time.Time {
	if f.cfg.Retention <= 0 {
		return time.Time{}
	}
	limit := now.Add(-f.cfg.Retention).UTC()
	h := limit.Truncate(time.Hour)
	if h.Before(limit) {
		h = h.Add(time.Hour)
	}
	return h
}

// gap records hour as a gap, to be tried again after GapRetry.
func (f *Follower) gap(ctx context.Context, hour time.Time, why string, now time.Time) error {
	dbctx, cancel := context.WithTimeout(ctx, f.cfg.DBTimeout)
	defer cancel()
	if _, err := f.cfg.Store.GHArchiveHourGap(dbctx, f.cfg.BaseURL, hour, why, now.Add(f.cfg.GapRetry)); err != nil {
		return err
	}
	f.metrics.Gaps.Inc()
	if f.gapCount == 0 {
		f.gapFrom = hour
	}
	f.gapTo = hour
	f.gapCount++
	return nil
}

// flushGaps logs the run of consecutive gaps that just ended, in one line.
func (f *Follower) flushGaps() {
	if f.gapCount == 0 {
		return
	}
	f.log.Warn("GH Archive hours missing: recorded as gaps, tried again once a day",
		slog.String("url", f.cfg.BaseURL), slog.Time("from", f.gapFrom), slog.Time("to", f.gapTo), slog.Int("hours", f.gapCount))
	f.gapCount = 0
}

// retryGaps tries once each gap whose daily retry is due.
func (f *Follower) retryGaps(ctx context.Context, now time.Time) {
	dbctx, cancel := context.WithTimeout(ctx, f.cfg.DBTimeout)
	due, err := f.cfg.Store.GHArchiveGapsDue(dbctx, f.cfg.BaseURL, now, defaultGapsPerPass)
	cancel()
	if err != nil {
		f.log.Warn("cannot list the GH Archive gaps due for a retry", slog.String("error", err.Error()))
		return
	}
	floor := f.floor(now)
	for _, hour := range due {
		if ctx.Err() != nil {
			return
		}
		f.metrics.Retries.WithLabelValues("gap").Inc()
		var out outcome
		why := "older than the retention limit"
		if !hour.Before(floor) {
			out, why = f.importHour(ctx, hour)
		}
		if out == imported {
			f.log.Info("GH Archive gap filled", slog.Time("hour", hour))
			continue
		}
		dbctx, cancel := context.WithTimeout(ctx, f.cfg.DBTimeout)
		_, err := f.cfg.Store.GHArchiveHourGap(dbctx, f.cfg.BaseURL, hour, why, now.Add(f.cfg.GapRetry))
		cancel()
		if err != nil {
			f.log.Warn("cannot postpone a GH Archive gap", slog.Time("hour", hour), slog.String("error", err.Error()))
		}
	}
}

// importHour downloads and imports the file of hour, trying a download
// cut short or corrupt up to Attempts times. why says what went wrong.
func (f *Follower) importHour(ctx context.Context, hour time.Time) (outcome, string) {
	url := FileURL(f.cfg.BaseURL, hour)
	for attempt := 1; ; attempt++ {
		out, why := f.tryHour(ctx, hour, url)
		if out != badDownload || ctx.Err() != nil {
			return out, why
		}
		if attempt >= f.cfg.Attempts {
			return badDownload, fmt.Sprintf("%s (%d downloads)", why, attempt)
		}
		f.metrics.Retries.WithLabelValues("bad_download").Inc()
		f.log.Warn("GH Archive file cut short or corrupt: downloading it again from its start",
			slog.String("file", url), slog.Int("attempt", attempt), slog.String("error", why))
	}
}

// tryHour is one download and import of hour's file.
func (f *Follower) tryHour(ctx context.Context, hour time.Time, url string) (outcome, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return failed, err.Error()
	}
	if f.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", f.cfg.UserAgent)
	}
	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("GH Archive download failed", slog.String("file", url), slog.String("error", err.Error()))
		}
		return failed, err.Error()
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return notFound, "not published (HTTP 404)"
	case resp.StatusCode != http.StatusOK:
		f.log.Warn("GH Archive download failed", slog.String("file", url), slog.String("status", resp.Status))
		return failed, "HTTP " + resp.Status
	}
	sink := &recorder{Sink: f.cfg.Store, ids: map[identity]struct{}{}}
	im := importer.New(sink, importer.Options{
		Source:    model.SourceArchive,
		NoPayload: !f.cfg.Payload,
		Jobs:      1,
		Log:       f.log,
	})
	sum, err := im.RunReader(ctx, url, resp.Body, resp.ContentLength)
	// What this download stored is stored, whatever becomes of the hour (a
	// file cut short is downloaded again, and only its rest is new then;
	// a failed bookkeeping step below retries the hour, which then stores
	// nothing): count it now, or the counter misses it for good.
	f.metrics.EventsStored.Add(float64(sum.Stored))
	if err != nil {
		return failed, err.Error()
	}
	res := sum.Files[0]
	switch {
	case res.Interrupted:
		return failed, "interrupted"
	case res.Err != nil:
		return badDownload, res.Err.Error()
	case res.Events == 0 && res.BadLines > 0:
		return badDownload, "no line is an event"
	}
	ids, ats := sink.identities()
	dbctx, cancel := context.WithTimeout(ctx, f.cfg.DBTimeout)
	defer cancel()
	seen, err := f.cfg.Store.EventsSeenBeforeArchive(dbctx, ids, ats)
	if err != nil {
		f.log.Warn("cannot count the events seen before the archive", slog.Time("hour", hour), slog.String("error", err.Error()))
		return failed, err.Error()
	}
	if _, err := f.cfg.Store.GHArchiveHourDone(dbctx, f.cfg.BaseURL, hour, int64(len(ids)), seen); err != nil {
		f.log.Warn("cannot record a GH Archive hour as done", slog.Time("hour", hour), slog.String("error", err.Error()))
		return failed, err.Error()
	}
	// The events were counted first: a reader that sees the hour counted
	// sees its events.
	f.metrics.HoursImported.Inc()
	f.log.Info("GH Archive hour imported", slog.Time("hour", hour), slog.Int("events", len(ids)),
		slog.Int64("stored", res.Stored), slog.Int64("seen_before", seen), slog.Int64("bad_lines", res.BadLines))
	return imported, ""
}

// refreshMetrics sets the lag and the counts of the state from the
// database.
func (f *Follower) refreshMetrics(ctx context.Context, now time.Time) {
	dbctx, cancel := context.WithTimeout(ctx, f.cfg.DBTimeout)
	defer cancel()
	newest, ok, err := f.cfg.Store.GHArchiveNewestDone(dbctx, f.cfg.BaseURL)
	if err != nil {
		return
	}
	done, gaps, err := f.cfg.Store.GHArchiveCounts(dbctx, f.cfg.BaseURL)
	if err != nil {
		return
	}
	f.metrics.observe(now, newest, ok, done, gaps)
}

// identity is an event's (id, created_at).
type identity struct {
	id int64
	at time.Time
}

// recorder is the importer's sink: it stores through the store and keeps
// the distinct identities of the file's stored batches.
type recorder struct {
	importer.Sink
	mu  sync.Mutex
	ids map[identity]struct{}
}

func (r *recorder) InsertEvents(ctx context.Context, events []model.Event) (int64, error) {
	n, err := r.Sink.InsertEvents(ctx, events)
	if err != nil {
		return n, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		r.ids[identity{e.ID, e.CreatedAt.UTC()}] = struct{}{}
	}
	return n, nil
}

func (r *recorder) identities() ([]int64, []time.Time) {
	ids := make([]int64, 0, len(r.ids))
	ats := make([]time.Time, 0, len(r.ids))
	for k := range r.ids {
		ids = append(ids, k.id)
		ats = append(ats, k.at)
	}
	return ids, ats
}
