package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where Handler serves the metrics.
const Path = "/metrics"

// Metrics holds every collector of one Kluis process and the registry
// they are registered in. It is safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	storageDuration *prometheus.HistogramVec
	storageErrors   *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
}

// Latency buckets, in seconds. Storage operations are mostly far quicker
// than whole requests, so their buckets start lower.
var (
	requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	storageBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
)

// New makes the collectors and registers them, with the Go runtime and
// process collectors and kluis_build_info carrying version, in a registry
// of their own.
func New(version string) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kluis_http_requests_total",
			Help: "HTTP requests answered, by method, route class and status.",
		}, []string{"method", "route", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kluis_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by method and route class.",
			Buckets: requestBuckets,
		}, []string{"method", "route"}),
		storageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kluis_storage_operation_duration_seconds",
			Help:    "Time the storage backend took per operation, errors included; a listing counts the backend's time only.",
			Buckets: storageBuckets,
		}, []string{"backend", "operation"}),
		storageErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kluis_storage_operation_errors_total",
			Help: "Storage operations that returned an error, by backend, operation and kind of error " +
				"(not_found and precondition_failed are part of normal work).",
		}, []string{"backend", "operation", "error"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kluis_auth_failures_total",
			Help: "Credentials refused, by reason.",
		}, []string{"reason"}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "kluis_build_info",
		Help:        "Always 1; the labels say which Kluis is running.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	m.registry.MustRegister(
		m.requests, m.requestDuration, m.storageDuration, m.storageErrors, m.authFailures, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics at Path (GET and HEAD) and answers 404 to
// anything else, so that the metrics listener exposes nothing but them.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, promhttp.InstrumentMetricHandler(m.registry,
		promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})))
	return mux
}

// ObserveRequest counts one answered request and its latency. The server
// passes a bounded method and route class (server.Observer).
func (m *Metrics) ObserveRequest(method, route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// ObserveAuthFailure counts credentials refused for reason, one of a
// small fixed set the server chooses (server.Observer).
func (m *Metrics) ObserveAuthFailure(reason string) {
	m.authFailures.WithLabelValues(reason).Inc()
}

// Levels are counters and levels that the server keeps itself, read when
// the metrics are scraped.
type Levels struct {
	// Channels is the notification channels and legacy connections open.
	Channels int
	// Cache lookups: compiled ACL documents, and fetched documents
	// (WebID profiles, issuers, group documents).
	ACLCacheHits, ACLCacheMisses     uint64
	FetchCacheHits, FetchCacheMisses uint64
}

// Watch registers read, called at each scrape, as the source of
// kluis_notification_channels and kluis_cache_lookups_total{cache,result}
// (whose ratio is the cache hit ratio). Call it once.
func (m *Metrics) Watch(read func() Levels) {
	lookups := func(cache, result string, pick func(Levels) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "kluis_cache_lookups_total",
			Help:        "Cache lookups by cache and result (hit or miss).",
			ConstLabels: prometheus.Labels{"cache": cache, "result": result},
		}, func() float64 { return float64(pick(read())) })
	}
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kluis_notification_channels",
			Help: "Notification channels and legacy notification connections open.",
		}, func() float64 { return float64(read().Channels) }),
		lookups("acl", "hit", func(l Levels) uint64 { return l.ACLCacheHits }),
		lookups("acl", "miss", func(l Levels) uint64 { return l.ACLCacheMisses }),
		lookups("fetch", "hit", func(l Levels) uint64 { return l.FetchCacheHits }),
		lookups("fetch", "miss", func(l Levels) uint64 { return l.FetchCacheMisses }),
	)
}
