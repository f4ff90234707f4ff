// Package metrics defines the service's Prometheus collectors (docs/operations.md#metrics).
package metrics

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const ns = "sisimport"

// Metrics holds every collector; one is made per process (tests make their own).
type Metrics struct {
	Registry       *prometheus.Registry
	ImportsTotal   *prometheus.CounterVec
	ImportDuration prometheus.Histogram
	ImportRows     *prometheus.CounterVec
	WorkersBusy    prometheus.Gauge
	HTTPRequests   *prometheus.CounterVec
	HTTPDuration   *prometheus.HistogramVec
}

// New registers the collectors, the Go and process collectors, the pool's
// gauges and the queue gauges read from the database at scrape time.
func New(db *pgxpool.Pool) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		ImportsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "imports_total", Help: "Imports that reached a final state.",
		}, []string{"state", "dry_run"}),
		ImportDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "import_duration_seconds", Help: "Time from start to end of an import run.",
			Buckets: []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}),
		ImportRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "import_rows_total", Help: "Results of imports, by entity and action.",
		}, []string{"entity", "action", "dry_run"}),
		WorkersBusy: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "workers_busy", Help: "Workers of this process running an import.",
		}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "http_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"method", "route"}),
	}
	m.Registry.MustRegister(m.ImportsTotal, m.ImportDuration, m.ImportRows, m.WorkersBusy, m.HTTPRequests, m.HTTPDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.Registry.MustRegister(&dbCollector{db: db})
	}
	return m
}

var (
	queueJobsDesc = prometheus.NewDesc(ns+"_queue_jobs", "Imports by workflow state, across all replicas.", []string{"state"}, nil)
	oldestDesc    = prometheus.NewDesc(ns+"_queue_oldest_queued_age_seconds", "Age of the oldest queued import.", nil, nil)
	awaitingDesc  = prometheus.NewDesc(ns+"_imports_awaiting_approval", "Imports held for approval.", nil, nil)
	poolTotal     = prometheus.NewDesc(ns+"_db_pool_connections", "Connections of the pool by state.", []string{"state"}, nil)
	poolMax       = prometheus.NewDesc(ns+"_db_pool_max_connections", "Size limit of the pool.", nil, nil)
	poolWaits     = prometheus.NewDesc(ns+"_db_pool_acquire_waits_total", "Acquires that had to wait for a connection.", nil, nil)
)

// dbCollector reads the queue from the database when scraped, so every
// replica reports the same shared queue.
type dbCollector struct{ db *pgxpool.Pool }

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueJobsDesc, oldestDesc, awaitingDesc, poolTotal, poolMax, poolWaits} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stat()
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts := map[string]float64{"created": 0, "importing": 0, "awaiting_approval": 0}
	rows, err := c.db.Query(ctx, `SELECT workflow_state, count(*) FROM sis_imports
		WHERE workflow_state IN ('created', 'importing', 'awaiting_approval') GROUP BY 1`)
	if err != nil {
		return
	}
	for rows.Next() {
		var s string
		var n int64
		if rows.Scan(&s, &n) == nil {
			counts[s] = float64(n)
		}
	}
	rows.Close()
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(queueJobsDesc, prometheus.GaugeValue, n, s)
	}
	ch <- prometheus.MustNewConstMetric(awaitingDesc, prometheus.GaugeValue, counts["awaiting_approval"])
	var age float64
	_ = c.db.QueryRow(ctx, `SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
		FROM sis_imports WHERE workflow_state = 'created'`).Scan(&age)
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
