package poller

// MetricsOf is the metrics p updates, for the tests to read.
func MetricsOf(p *Poller) *Metrics { return p.metrics }
