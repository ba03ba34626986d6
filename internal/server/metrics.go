package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus counters, in a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	ingested  prometheus.Counter
	dupes     prometheus.Counter
	rejected  *prometheus.CounterVec
	queryTime *prometheus.HistogramVec
}

func (s *Server) newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spoor_ingested_events_total", Help: "Events stored (durable) through the API."}),
		dupes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spoor_duplicate_events_total", Help: "Events received whose _id was already stored."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spoor_rejected_events_total", Help: "Events refused, by reason."}, []string{"reason"}),
		queryTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "spoor_query_seconds", Help: "Latency of search and SQL answers.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"kind"}),
	}
	m.reg.MustRegister(m.ingested, m.dupes, m.rejected, m.queryTime,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_wal_bytes", Help: "Bytes in the write-ahead log not yet in parts."},
			func() float64 { return float64(s.db.Lake.Stats().WALBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_head_events", Help: "Events in the head, not yet in parts."},
			func() float64 { return float64(s.db.Lake.Stats().HeadEvents) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_parts", Help: "Parquet parts in the lake."},
			func() float64 { return float64(s.db.Lake.Stats().Parts) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_part_bytes", Help: "Bytes of Parquet parts in the lake."},
			func() float64 { return float64(s.db.Lake.Stats().PartBytes) }),
	)
	return m
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// timed records how long h takes under kind.
func (m *metrics) timed(kind string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h(w, r)
		m.queryTime.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	}
}

// counted adds an ingest call's counts.
func (m *metrics) counted(stored, dupes int64, reasons map[string]int64) {
	m.ingested.Add(float64(stored))
	m.dupes.Add(float64(dupes))
	for r, n := range reasons {
		m.rejected.WithLabelValues(r).Add(float64(n))
	}
}
