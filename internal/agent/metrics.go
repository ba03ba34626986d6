package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// collector exposes the agent's status to Prometheus.
type collector struct{ a *Agent }

var (
	descSpoolBytes  = prometheus.NewDesc("spoor_agent_spool_bytes", "Bytes the disk spool holds.", nil, nil)
	descSpoolEvents = prometheus.NewDesc("spoor_agent_spool_events", "Events spooled and not yet acknowledged by the server.", nil, nil)
	descLag         = prometheus.NewDesc("spoor_agent_lag_seconds", "Age of the oldest event not yet sent.", nil, nil)
	descSent        = prometheus.NewDesc("spoor_agent_sent_events_total", "Events the server took.", nil, nil)
	descLastSend    = prometheus.NewDesc("spoor_agent_last_send_timestamp_seconds", "When a batch was last delivered.", nil, nil)
	descLost        = prometheus.NewDesc("spoor_agent_lost_events_total", "Events lost, by reason.", []string{"reason"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSpoolBytes, descSpoolEvents, descLag, descSent, descLastSend, descLost} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.a.Status()
	ch <- prometheus.MustNewConstMetric(descSpoolBytes, prometheus.GaugeValue, float64(st.SpoolBytes))
	ch <- prometheus.MustNewConstMetric(descSpoolEvents, prometheus.GaugeValue, float64(st.SpoolEvents))
	ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(st.LagMS)/1000)
	ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(st.Sent))
	ch <- prometheus.MustNewConstMetric(descLastSend, prometheus.GaugeValue, float64(st.LastSend)/1000)
	for k, v := range st.Losses {
		ch <- prometheus.MustNewConstMetric(descLost, prometheus.CounterValue, float64(v), k)
	}
}

// ServeMetrics serves /metrics on addr (keep it a local address) until ctx
// ends.
func (a *Agent) ServeMetrics(ctx context.Context, addr string) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{a})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
