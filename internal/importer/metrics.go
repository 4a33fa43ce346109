package importer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are an import's Prometheus metrics (ghevents_import_*), updated
// as the work is done. Lines and filtered events are counted when their
// file is finished; the other counters as the lines are read and stored.
type Metrics struct {
	// Files counts the sources finished, by outcome: "imported" (read to
	// the end), "bad" (missing, truncated, corrupt, pre-2015 layout...),
	// "interrupted".
	Files *prometheus.CounterVec
	// FilesInProgress is the number of sources being read.
	FilesInProgress prometheus.Gauge
	// Lines counts the lines read; EventsRead the events decoded, of which
	// EventsStored were newly stored, Duplicates already stored (or
	// repeated), Filtered left out by Types, Since or Until.
	Lines, EventsRead, EventsStored, Duplicates, Filtered prometheus.Counter
	// BadLines counts lines that are not events and events PostgreSQL
	// refused; BytesRead the bytes of the sources read (compressed bytes
	// for gzip).
	BadLines, BytesRead prometheus.Counter
	// Vacuums counts the VACUUMs of summary tables the import ran, and
	// VacuumSeconds the time they took (see Options.NoVacuum).
	Vacuums, VacuumSeconds prometheus.Counter
}

// NewMetrics makes an import's metrics and registers them on reg (nil:
// nowhere).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "ghevents_import_" + name, Help: help})
	}
	m := &Metrics{
		Files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ghevents_import_files_total",
			Help: "Sources finished, by outcome: imported (read to the end), bad (missing, truncated, corrupt, pre-2015 layout...), interrupted."},
			[]string{"outcome"}),
		FilesInProgress: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ghevents_import_files_in_progress", Help: "Sources being read."}),
		Lines:           counter("lines_total", "Lines read, counted when their file is finished."),
		EventsRead:      counter("events_read_total", "Events decoded."),
		EventsStored:    counter("events_stored_total", "Events newly stored."),
		Duplicates:      counter("duplicate_events_total", "Events already stored (or repeated)."),
		Filtered:        counter("filtered_events_total", "Events left out by --types, --since or --until, counted when their file is finished."),
		BadLines:        counter("bad_lines_total", "Lines that are not events, and events PostgreSQL refused."),
		BytesRead:       counter("bytes_read_total", "Bytes of the sources read (compressed bytes for gzip)."),
		Vacuums:         counter("vacuums_total", "VACUUMs of summary tables run during the import."),
		VacuumSeconds:   counter("vacuum_seconds_total", "Time the VACUUMs of summary tables took."),
	}
	// Every outcome is exposed from the start, at zero.
	for _, outcome := range []string{"imported", "bad", "interrupted"} {
		m.Files.WithLabelValues(outcome)
	}
	if reg != nil {
		reg.MustRegister(m.Files, m.FilesInProgress, m.Lines, m.EventsRead, m.EventsStored, m.Duplicates,
			m.Filtered, m.BadLines, m.BytesRead, m.Vacuums, m.VacuumSeconds)
	}
	return m
}

// fileDone counts a finished source; opened says whether it was counted in
// FilesInProgress.
func (m *Metrics) fileDone(r FileResult, opened bool) {
	switch {
	case r.Err != nil:
		m.Files.WithLabelValues("bad").Inc()
	case r.Interrupted:
		m.Files.WithLabelValues("interrupted").Inc()
	default:
		m.Files.WithLabelValues("imported").Inc()
	}
	if opened {
		m.FilesInProgress.Dec()
	}
	m.Lines.Add(float64(r.Lines))
	m.Filtered.Add(float64(r.Filtered))
}
