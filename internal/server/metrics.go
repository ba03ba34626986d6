package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics keeps one Prometheus registry per organization: a caller's
// /metrics shows its own organization's counts and nothing of the others.
type metrics struct {
	s    *Server
	mu   sync.Mutex
	orgs map[string]*orgMetrics
}

type orgMetrics struct {
	reg       *prometheus.Registry
	ingested  prometheus.Counter
	dupes     prometheus.Counter
	rejected  *prometheus.CounterVec
	queryTime *prometheus.HistogramVec
}

func (s *Server) newMetrics() *metrics { return &metrics{s: s, orgs: map[string]*orgMetrics{}} }

// of returns org's metrics, made on first use.
func (m *metrics) of(org string) *orgMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if om, ok := m.orgs[org]; ok {
		return om
	}
	om := &orgMetrics{
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
	lake := m.s.db.Lake
	om.reg.MustRegister(om.ingested, om.dupes, om.rejected, om.queryTime,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_head_events", Help: "Events in the head, not yet in parts."},
			func() float64 { return float64(lake.OrgStats(org).HeadEvents) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_parts", Help: "Parquet parts in the lake."},
			func() float64 { return float64(lake.OrgStats(org).Parts) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_part_bytes", Help: "Bytes of Parquet parts in the lake."},
			func() float64 { return float64(lake.OrgStats(org).PartBytes) }),
	)
	om.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_store_writable",
		Help: "1 while the store takes new events, 0 while it refuses them (disk below its reserve, or a failed write-ahead log); /readyz says why."},
		func() float64 {
			if lake.Writable(context.Background()) != nil {
				return 0
			}
			return 1
		}))
	if org == m.s.opts.OperatorOrg {
		// Shared by every organization: only the operator's sees it.
		om.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_wal_bytes", Help: "Bytes in the write-ahead log not yet in parts (all organizations)."},
			func() float64 { return float64(lake.Stats().WALBytes) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_disk_free_bytes", Help: "Free bytes on the data directory's filesystem."},
				func() float64 { sp, _, _ := lake.Disk(); return float64(sp.Free) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoor_disk_reserve_bytes", Help: "Free bytes kept for flushes and compaction: below them new events are refused (507)."},
				func() float64 { _, r, _ := lake.Disk(); return float64(r) }))
	}
	m.orgs[org] = om
	return om
}

// handler serves the caller's organization's registry.
func (m *metrics) handler(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(m.of(tokenOf(r).Org).reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// timed records how long h takes under kind, for the caller's organization.
func (m *metrics) timed(kind string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h(w, r)
		m.of(tokenOf(r).Org).queryTime.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	}
}

// counted adds an ingest call's counts to org.
func (m *metrics) counted(org string, stored, dupes int64, reasons map[string]int64) {
	om := m.of(org)
	om.ingested.Add(float64(stored))
	om.dupes.Add(float64(dupes))
	for r, n := range reasons {
		om.rejected.WithLabelValues(r).Add(float64(n))
	}
}
