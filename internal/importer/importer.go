// Package importer streams GH Archive dumps (one GitHub event per line,
// gzip or plain; files, directories, standard input or URLs) into the store.
//
// The data flows through a pipeline with flat memory: up to Jobs sources
// are read at once, each line decoded by github.Decoder and gathered into
// batches; up to Jobs writers store the batches at once (each on one
// database connection) with store.InsertEvents (the identities already
// stored looked up, the rest COPYed into events), so importing the same
// dump twice, or a dump that overlaps what the poller stored, leaves every
// event stored once. Reading and writing overlap.
//
// Bad input never stops the import: a line that is not an event is
// counted and reported with its file and line number; a file that is
// missing, truncated or in the pre-2015 layout is reported once; a row
// PostgreSQL refuses is isolated from its batch and the rest stored. When
// the database is unreachable a batch is retried with backoff for
// Options.RetryFor, then the import stops and says where.
package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

// Sink stores batches of events; *store.Store is the real one.
type Sink interface {
	// InsertEvents stores the batch as a whole or not at all and returns
	// how many events were newly stored (see store.Store.InsertEvents).
	InsertEvents(ctx context.Context, events []model.Event) (int64, error)
}

// Options tune an import. The zero value of a field means its default.
type Options struct {
	// Types keeps only events of these types (nil: every type).
	Types []string
	// Since keeps only events created at or after it (zero: no bound).
	Since time.Time
	// Until keeps only events created before it (zero: no bound).
	Until time.Time
	// NoPayload stores the events without their raw JSON (NULL raw column).
	NoPayload bool
	// Source is recorded with the events the import stores first (default
	// model.SourceImport; the GH Archive follower's are model.SourceArchive).
	Source model.Source
	// BatchSize is the most events stored per statement (default 100,000
	// with NoPayload, else 5,000). A batch is also sent when its raw JSON
	// reaches 8 MiB. The large batches without payload are what keeps an
	// import fast into a store of millions: each statement updates a
	// repository's summary rows once for all of its events in the batch,
	// and the WAL of those updates (full-page images of the pages they
	// dirty) shrinks with it (BENCHMARKS.md); they cost memory (a peak Go
	// heap of about 400 MiB, against 28 MiB with 5,000).
	BatchSize int
	// Jobs is how many sources are read at once and how many batches are
	// written at once, each on one database connection (default 2). Keep
	// it at most DB_MAX_CONNS.
	Jobs int
	// MaxLineBytes is the longest line accepted (default 16 MiB); longer
	// lines are reported as bad and skipped.
	MaxLineBytes int
	// RetryFor is how long a batch is retried while the database is
	// unreachable before the import gives up (default 1 minute).
	RetryFor time.Duration
	// HTTPClient fetches http(s) sources (default: a client whose only
	// limit is 30 s to the response headers; bodies stream for as long
	// as they take).
	HTTPClient *http.Client
	// Stdin is what "-" reads (default os.Stdin).
	Stdin io.Reader
	// Progress is told about each file (default: one log line per file).
	Progress Progress
	// Log receives warnings about bad input and retries (default: discarded).
	Log *slog.Logger
	// Metrics receives the import's counters (default: a new set,
	// registered nowhere).
	Metrics *Metrics
	// NoVacuum turns off the VACUUM of the summary tables during the
	// import. By default, when the sink is a Vacuumer (the store), the
	// summary tables holding more dead row versions than live rows are
	// vacuumed every VacuumEvery events stored, beside the writers, and
	// once more at the end (see vacuumRule).
	NoVacuum bool
	// VacuumEvery is how many events are stored between two looks at the
	// summary tables' dead rows (default 200,000).
	VacuumEvery int64
	// RankIndexRule is when the import's end rebuilds the ranking index of
	// a sink that keeps one (zero: store.DefaultRankIndexRule); NoVacuum
	// turns that off too.
	RankIndexRule store.RankIndexRule
}

const (
	defaultBatchSize          = 5000
	defaultBatchSizeNoPayload = 100_000
	maxBatchBytes             = 8 << 20
	defaultMaxLine            = 16 << 20
	// maxBadShown is how many bad lines of one file are logged and kept in
	// FileResult.Bad; the counts are always exact.
	maxBadShown = 20
)

// BadLine is one line that could not be stored.
type BadLine struct {
	// Line is its 1-based line number in the (decompressed) file.
	Line int64
	// Reason says what is wrong with it.
	Reason string
}

// FileResult is what happened to one source.
type FileResult struct {
	// Name is the source as given (path, "-" or URL).
	Name string
	// Lines is how many lines were read (blank lines included).
	Lines int64
	// Events is how many lines were events (decoded); Filtered of them
	// were left out by Types/Since/Until.
	Events, Filtered int64
	// Stored were newly stored; Duplicates were already stored (or
	// repeated in the file).
	Stored, Duplicates int64
	// BadLines counts lines that are not events and events PostgreSQL
	// refused; Bad lists the first of them.
	BadLines int64
	Bad      []BadLine
	// Err is why the file was not read to its end (missing, truncated,
	// corrupt, pre-2015 layout, HTTP error); nil when it was, or when the
	// import was interrupted.
	Err error
	// Done is the last line up to which every line was handled (stored,
	// found a duplicate, filtered or reported bad). When the file was
	// read to its end, Done == Lines.
	Done int64
	// Interrupted is set when the import stopped (SIGINT, or the database
	// gone for good) before the file's end.
	Interrupted bool
	// Bytes is how many bytes of the source were read (compressed bytes
	// for a gzip file); Size is its size, -1 when unknown.
	Bytes, Size int64
	// Elapsed is the time from opening the file to its last batch stored.
	Elapsed time.Duration
}

// Summary is the outcome of an import.
type Summary struct {
	// Files are the sources, in the order given.
	Files []FileResult
	// BadFiles counts files with an Err.
	BadFiles int
	// The totals over Files.
	Lines, Events, Filtered, Stored, Duplicates, BadLines int64
	// Elapsed is the wall time of the whole import.
	Elapsed time.Duration
	// Interrupted is set when the import stopped before the end.
	Interrupted bool
}

// EventsPerSecond is the rate of events read over the whole import.
func (s Summary) EventsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}

// Clean reports whether everything given was read and stored or found a
// duplicate: no bad file, no bad line, no interruption.
func (s Summary) Clean() bool {
	return s.BadFiles == 0 && s.BadLines == 0 && !s.Interrupted
}

// Importer runs imports into a Sink.
type Importer struct {
	sink  Sink
	o     Options
	types map[string]bool
}

// New returns an importer storing into sink.
func New(sink Sink, o Options) *Importer {
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
		if o.NoPayload {
			o.BatchSize = defaultBatchSizeNoPayload
		}
	}
	o.Source = cmp.Or(o.Source, model.SourceImport)
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = defaultMaxLine
	}
	if o.RetryFor <= 0 {
		o.RetryFor = time.Minute
	}
	if o.HTTPClient == nil {
		o.HTTPClient = NewHTTPClient()
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = LogProgress(o.Log)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.VacuumEvery <= 0 {
		o.VacuumEvery = defaultVacuumEvery
	}
	im := &Importer{sink: sink, o: o}
	if len(o.Types) > 0 {
		im.types = make(map[string]bool, len(o.Types))
		for _, t := range o.Types {
			im.types[t] = true
		}
	}
	return im
}

// ErrStopped is returned (wrapped) when the import gave up because the
// database stayed unreachable.
var ErrStopped = errors.New("import stopped")

// Run imports the sources in order ("-" for Stdin, http(s) URLs, files,
// directories; {A..B} ranges expanded) and returns what happened. Bad input
// is reported in the Summary, not as an error. The error is non-nil when
// the sources cannot be listed, or when the database stayed unreachable
// (ErrStopped). When ctx is cancelled, the lines read so far are stored
// (with a fresh context), reading stops, and the Summary says where
// (Interrupted, FileResult.Done).
func (im *Importer) Run(ctx context.Context, sources []string) (Summary, error) {
	srcs, err := expand(sources)
	if err != nil {
		return Summary{}, err
	}
	return im.run(ctx, srcs)
}

// RunReader imports one source already opened by the caller (an HTTP body
// whose status the caller judged, say): name is how reports call it, size
// its length in bytes (-1: unknown). body is closed when the import ends.
// Otherwise as Run.
func (im *Importer) RunReader(ctx context.Context, name string, body io.ReadCloser, size int64) (Summary, error) {
	return im.run(ctx, []source{{name: name, body: body, size: size}})
}

func (im *Importer) run(ctx context.Context, srcs []source) (Summary, error) {
	start := time.Now()
	r := &run{
		im:      im,
		ctx:     ctx,
		batches: make(chan *batch, im.o.Jobs),
		free:    make(chan *batch, 3*im.o.Jobs),
		abort:   make(chan struct{}),
		files:   make([]*fileState, len(srcs)),
	}
	for i, s := range srcs {
		r.files[i] = &fileState{src: s, res: FileResult{Name: s.name, Size: -1}, metrics: im.o.Metrics}
	}
	stopTicker := r.tick()
	r.vacuum = startVacuumer(r)

	var readers, writers sync.WaitGroup
	next := make(chan *fileState)
	for range im.o.Jobs {
		readers.Go(func() {
			var rd reader
			for f := range next {
				rd.readFile(r, f)
			}
		})
		writers.Go(func() {
			for b := range r.batches {
				r.write(b)
			}
		})
	}
feed:
	for _, f := range r.files {
		select {
		case next <- f:
		case <-ctx.Done():
			break feed
		case <-r.abort:
			break feed
		}
	}
	close(next)
	readers.Wait()
	close(r.batches)
	writers.Wait()
	// No last round when the database is gone for good.
	r.vacuum.finish(ctx, !r.aborted())
	stopTicker()

	sum := Summary{Elapsed: time.Since(start)}
	for _, f := range r.files {
		if !f.started {
			// Never reached: the import stopped first.
			f.res.Interrupted = true
		}
		res := f.res
		sum.Files = append(sum.Files, res)
		if res.Err != nil {
			sum.BadFiles++
		}
		if res.Interrupted {
			sum.Interrupted = true
		}
		sum.Lines += res.Lines
		sum.Events += res.Events
		sum.Filtered += res.Filtered
		sum.Stored += res.Stored
		sum.Duplicates += res.Duplicates
		sum.BadLines += res.BadLines
	}
	if r.fatal != nil {
		return sum, fmt.Errorf("%w: %w", ErrStopped, r.fatal)
	}
	return sum, nil
}

// run is the state of one Run.
type run struct {
	im      *Importer
	ctx     context.Context
	batches chan *batch
	free    chan *batch
	files   []*fileState

	// vacuum vacuums the summary tables as the batches are stored (nil:
	// not at all); storedTotal counts the events stored so far for it.
	vacuum      *vacuumer
	storedTotal atomic.Int64

	abortOnce sync.Once
	abort     chan struct{} // closed when the database is gone for good
	fatal     error         // why; set before abort is closed
}

// stop ends the import because of err (the database is unreachable).
func (r *run) stop(err error) {
	r.abortOnce.Do(func() {
		r.fatal = err
		close(r.abort)
	})
}

func (r *run) aborted() bool {
	select {
	case <-r.abort:
		return true
	default:
		return false
	}
}

// fileState is the shared state of one source while it is imported.
type fileState struct {
	src     source
	started bool
	opened  bool // counted in files_in_progress until done
	start   time.Time

	// Live counters, read by the progress ticker.
	bytes, events, filtered, stored, dups, bad atomic.Int64
	metrics                                    *Metrics

	mu       sync.Mutex
	res      FileResult
	ends     []int64 // per batch: the last line it covers
	ok       []bool  // per batch: stored
	pending  int     // batches sent and not yet written
	readDone bool
	done     bool
}

// addBad records a bad line (mu held).
func (f *fileState) addBad(log *slog.Logger, line int64, reason string) {
	f.res.BadLines++
	f.bad.Add(1)
	f.metrics.BadLines.Inc()
	if len(f.res.Bad) < maxBadShown {
		f.res.Bad = append(f.res.Bad, BadLine{Line: line, Reason: reason})
		log.Warn("bad line", slog.String("file", f.src.name), slog.Int64("line", line), slog.String("reason", reason))
	}
}

// finishLocked completes the file's result once it is read and every batch
// written (mu held), and tells the progress reporter.
func (f *fileState) finishLocked(r *run) {
	if f.done || !f.readDone || f.pending > 0 {
		return
	}
	f.done = true
	f.res.Elapsed = time.Since(f.start)
	f.res.Bytes = f.bytes.Load()
	// Done: up to the end of the last batch before the first one not
	// stored; everything read when all were stored.
	f.res.Done = f.res.Lines
	for i, ok := range f.ok {
		if !ok {
			f.res.Interrupted = true
			if i == 0 {
				f.res.Done = 0
			} else {
				f.res.Done = f.ends[i-1]
			}
			break
		}
	}
	slices.SortFunc(f.res.Bad, func(a, b BadLine) int { return cmp.Compare(a.Line, b.Line) })
	if hidden := f.res.BadLines - int64(len(f.res.Bad)); hidden > 0 {
		r.im.o.Log.Warn("more bad lines not shown", slog.String("file", f.src.name), slog.Int64("count", hidden))
	}
	f.metrics.fileDone(f.res, f.opened)
	r.im.o.Progress.FileDone(f.res)
}

// snapshot is a file's progress so far. The caller holds f.mu (its size
// is set under it when the file opens).
func (f *fileState) snapshot() Snapshot {
	return Snapshot{
		Name: f.src.name, Size: f.res.Size, Bytes: f.bytes.Load(), Events: f.events.Load(),
		Stored: f.stored.Load(), Duplicates: f.dups.Load(), BadLines: f.bad.Load(), Elapsed: time.Since(f.start),
	}
}

// tick reports the progress of the files being imported five times a
// second; the returned function stops it.
func (r *run) tick() func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			for _, f := range r.files {
				f.mu.Lock()
				active := f.started && !f.done
				var snap Snapshot
				if active {
					snap = f.snapshot()
				}
				f.mu.Unlock()
				if active {
					r.im.o.Progress.Update(snap)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// keep reports whether an event passes the Types/Since/Until filters.
func (im *Importer) keep(e *model.Event) bool {
	if im.types != nil && !im.types[e.Type] {
		return false
	}
	if !im.o.Since.IsZero() && e.CreatedAt.Before(im.o.Since) {
		return false
	}
	if !im.o.Until.IsZero() && !e.CreatedAt.Before(im.o.Until) {
		return false
	}
	return true
}

// NewHTTPClient is the client dump files are downloaded with when none is
// given: the environment's proxy, and bounded waits for the TLS handshake
// and the response headers (a body may stream for as long as it takes).
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		ResponseHeaderTimeout: 30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
	}}
}
