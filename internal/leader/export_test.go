package leader

// MetricsOf is the metrics e updates, for the tests to read.
func MetricsOf(e *Elector) *Metrics { return e.metrics }
