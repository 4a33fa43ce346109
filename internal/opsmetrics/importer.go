package opsmetrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/importer"
)

// ImportProgress is an importer.Progress that counts what an import has
// done so far, for Prometheus, and passes every call on to another
// Progress (the bar or the log lines). Counters of files being read
// advance with their progress updates (about five a second); lines and
// filtered events are known when a file is finished.
type ImportProgress struct {
	next importer.Progress

	mu   sync.Mutex
	live map[string]importer.Snapshot // files being read
	// finished files: a progress update racing with the end of its file
	// is ignored.
	finished map[string]bool
	done     importTotals // files finished
	// shown is the last value exposed of each counter: a counter never
	// goes back, even when a file's final count is below its last update.
	shown importTotals

	files, inProgress                 *prometheus.Desc
	lines, events, stored, duplicates *prometheus.Desc
	filtered, badLines, bytes         *prometheus.Desc
}

type importTotals struct {
	imported, bad, interrupted                                   int64
	lines, events, stored, duplicates, filtered, badLines, bytes int64
}

// NewImportProgress counts an import's progress and passes it on to next
// (nil: nowhere).
func NewImportProgress(next importer.Progress) *ImportProgress {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ghevents_import_"+name, help, labels, nil)
	}
	return &ImportProgress{
		next:       next,
		live:       map[string]importer.Snapshot{},
		finished:   map[string]bool{},
		files:      d("files_total", "Sources finished, by outcome: imported (read to the end), bad (missing, truncated, corrupt, pre-2015 layout...), interrupted.", "outcome"),
		inProgress: d("files_in_progress", "Sources being read."),
		lines:      d("lines_total", "Lines read, counted when their file is finished."),
		events:     d("events_read_total", "Events decoded."),
		stored:     d("events_stored_total", "Events newly stored."),
		duplicates: d("duplicate_events_total", "Events already stored (or repeated)."),
		filtered:   d("filtered_events_total", "Events left out by --types, --since or --until, counted when their file is finished."),
		badLines:   d("bad_lines_total", "Lines that are not events, and events PostgreSQL refused."),
		bytes:      d("bytes_read_total", "Bytes of the sources read (compressed bytes for gzip)."),
	}
}

// FileStarted implements importer.Progress.
func (p *ImportProgress) FileStarted(name string, size int64) {
	p.mu.Lock()
	delete(p.finished, name)
	p.live[name] = importer.Snapshot{Name: name, Size: size}
	p.mu.Unlock()
	if p.next != nil {
		p.next.FileStarted(name, size)
	}
}

// Update implements importer.Progress.
func (p *ImportProgress) Update(s importer.Snapshot) {
	p.mu.Lock()
	if !p.finished[s.Name] {
		p.live[s.Name] = s
	}
	p.mu.Unlock()
	if p.next != nil {
		p.next.Update(s)
	}
}

// FileDone implements importer.Progress.
func (p *ImportProgress) FileDone(r importer.FileResult) {
	p.mu.Lock()
	delete(p.live, r.Name)
	p.finished[r.Name] = true
	d := &p.done
	switch {
	case r.Err != nil:
		d.bad++
	case r.Interrupted:
		d.interrupted++
	default:
		d.imported++
	}
	d.lines += r.Lines
	d.events += r.Events
	d.stored += r.Stored
	d.duplicates += r.Duplicates
	d.filtered += r.Filtered
	d.badLines += r.BadLines
	d.bytes += r.Bytes
	p.mu.Unlock()
	if p.next != nil {
		p.next.FileDone(r)
	}
}

// Describe implements prometheus.Collector.
func (p *ImportProgress) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.files, p.inProgress, p.lines, p.events, p.stored, p.duplicates,
		p.filtered, p.badLines, p.bytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *ImportProgress) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	t := p.done
	for _, s := range p.live {
		t.events += s.Events
		t.stored += s.Stored
		t.duplicates += s.Duplicates
		t.badLines += s.BadLines
		t.bytes += s.Bytes
	}
	s := &p.shown
	for _, f := range []struct{ shown, now *int64 }{
		{&s.imported, &t.imported}, {&s.bad, &t.bad}, {&s.interrupted, &t.interrupted},
		{&s.lines, &t.lines}, {&s.events, &t.events}, {&s.stored, &t.stored}, {&s.duplicates, &t.duplicates},
		{&s.filtered, &t.filtered}, {&s.badLines, &t.badLines}, {&s.bytes, &t.bytes},
	} {
		*f.shown = max(*f.shown, *f.now)
	}
	t, live := *s, len(p.live)
	p.mu.Unlock()

	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(p.files, t.imported, "imported")
	counter(p.files, t.bad, "bad")
	counter(p.files, t.interrupted, "interrupted")
	ch <- prometheus.MustNewConstMetric(p.inProgress, prometheus.GaugeValue, float64(live))
	counter(p.lines, t.lines)
	counter(p.events, t.events)
	counter(p.stored, t.stored)
	counter(p.duplicates, t.duplicates)
	counter(p.filtered, t.filtered)
	counter(p.badLines, t.badLines)
	counter(p.bytes, t.bytes)
}
