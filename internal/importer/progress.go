package importer

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Snapshot is a file's progress so far.
type Snapshot struct {
	Name string
	// Bytes of Size read (compressed bytes for gzip; Size -1 when unknown).
	Bytes, Size int64
	// Events decoded; of them Stored, Duplicates; BadLines.
	Events, Stored, Duplicates, BadLines int64
	Elapsed                              time.Duration
}

// Progress is told how the import goes. Its methods are called from
// several goroutines.
type Progress interface {
	// FileStarted is called when a source is opened (size -1 when unknown).
	FileStarted(name string, size int64)
	// Update is called about five times a second for each file being read.
	Update(s Snapshot)
	// FileDone is called once per file, opened or not, when it is finished.
	FileDone(r FileResult)
}

// LogProgress reports one log line per file when it is finished.
func LogProgress(log *slog.Logger) Progress { return logProgress{log} }

type logProgress struct{ log *slog.Logger }

func (logProgress) FileStarted(string, int64) {}
func (logProgress) Update(Snapshot)           {}
func (p logProgress) FileDone(r FileResult) {
	attrs := []any{
		slog.String("file", r.Name), slog.Int64("lines", r.Lines), slog.Int64("events", r.Events),
		slog.Int64("stored", r.Stored), slog.Int64("duplicates", r.Duplicates), slog.Int64("filtered", r.Filtered),
		slog.Int64("bad_lines", r.BadLines), slog.Duration("elapsed", r.Elapsed.Round(time.Millisecond)),
		slog.Int64("events_per_s", perSecond(r.Events, r.Elapsed)),
	}
	switch {
	case r.Err != nil:
		// The error itself was logged when it happened.
		p.log.Warn("file imported up to an error", attrs...)
	case r.Interrupted:
		p.log.Warn("file interrupted", append(attrs, slog.Int64("done_through_line", r.Done))...)
	default:
		p.log.Info("file imported", attrs...)
	}
}

func perSecond(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// BarProgress draws a progress bar per file on w (a terminal): bytes read
// of the file's size, events/s, stored, duplicates and bad lines. When
// several files are read at once, the bar of the oldest is drawn; the
// others' bars appear, already advanced, when it is finished, so bars
// never overwrite each other. At the end of each file its bar stays on
// screen with the final counts.
func BarProgress(w io.Writer) Progress {
	return &barProgress{w: w, snaps: map[string]Snapshot{}}
}

type barProgress struct {
	w     io.Writer
	mu    sync.Mutex
	order []string // files started and not finished, oldest first
	snaps map[string]Snapshot
	cur   string
	bar   *progressbar.ProgressBar
}

func (p *barProgress) FileStarted(name string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.order = append(p.order, name)
	p.snaps[name] = Snapshot{Name: name, Size: size}
	p.show()
}

func (p *barProgress) Update(s Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.snaps[s.Name]; !ok {
		return
	}
	p.snaps[s.Name] = s
	if s.Name == p.cur && p.bar != nil {
		p.bar.Describe(describe(s))
		_ = p.bar.Set64(s.Bytes)
	}
}

func (p *barProgress) FileDone(r FileResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Name: r.Name, Bytes: r.Bytes, Size: r.Size, Events: r.Events, Stored: r.Stored,
		Duplicates: r.Duplicates, BadLines: r.BadLines, Elapsed: r.Elapsed}
	if r.Name == p.cur && p.bar != nil {
		p.bar.Describe(describe(s))
		if s.Size > 0 && r.Err == nil && !r.Interrupted {
			_ = p.bar.Set64(s.Size)
		} else {
			_ = p.bar.Set64(s.Bytes)
		}
		_ = p.bar.Exit()
		fmt.Fprintln(p.w)
		p.bar, p.cur = nil, ""
	}
	delete(p.snaps, r.Name)
	for i, n := range p.order {
		if n == r.Name {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	p.show()
}

// show starts the bar of the oldest file when none is drawn (mu held).
func (p *barProgress) show() {
	if p.bar != nil || len(p.order) == 0 {
		return
	}
	s := p.snaps[p.order[0]]
	p.cur = s.Name
	p.bar = progressbar.NewOptions64(s.Size,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetDescription(describe(s)),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
	_ = p.bar.Set64(s.Bytes)
}

func describe(s Snapshot) string {
	return fmt.Sprintf("%s  %d ev/s  stored %d  dup %d  bad %d",
		s.Name, perSecond(s.Events, s.Elapsed), s.Stored, s.Duplicates, s.BadLines)
}
