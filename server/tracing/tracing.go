package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// DefaultEndpoint is where spans go when neither
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is
// set: an OpenTelemetry collector on this machine, as the OTLP exporter
// specification says.
const DefaultEndpoint = "http://localhost:4318/v1/traces"

// DefaultServiceName is the service.name of the spans unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name another.
const DefaultServiceName = "kluis"

// scope is the instrumentation scope of the spans Kluis makes itself.
const scope = "github.com/weconomics/kluis/server/tracing"

// Config is what New needs. main reads it from the standard OpenTelemetry
// environment variables; the exporter reads the others it knows
// (OTEL_EXPORTER_OTLP_TIMEOUT, _COMPRESSION, _CERTIFICATE...) itself, and
// the resource OTEL_RESOURCE_ATTRIBUTES.
type Config struct {
	// Endpoint is the URL the spans are POSTed to (see Endpoint); http://
	// sends them in the clear.
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS, see
	// ParseHeaders); they often hold the collector's credentials and are
	// never logged.
	Headers map[string]string
	// ServiceName is the service.name of the spans (OTEL_SERVICE_NAME);
	// "" leaves it to OTEL_RESOURCE_ATTRIBUTES, else DefaultServiceName.
	ServiceName string
	// Version is the service.version of the spans.
	Version string
	// Sampler decides which traces are kept; the zero value is the
	// specification's default, parentbased_always_on.
	Sampler Sampler
	// Logger hears when exports start and stop failing; nil discards.
	Logger *slog.Logger
}

// Tracing makes and exports the spans of one Kluis process. It is safe for
// concurrent use. Its methods are what server.Tracer asks for, plus the
// storage and fetch wrappers that main installs.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// New builds the exporter, the batch span processor and the tracer
// provider. Nothing is sent until the first batch of spans; an unreachable
// collector is logged, never fatal.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	var errs []error
	if err := CheckEndpoint(cfg.Endpoint); err != nil {
		errs = append(errs, err)
	}
	sampler, err := cfg.Sampler.build()
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(cfg.Endpoint),
		otlptracehttp.WithHeaders(cfg.Headers))
	if err != nil {
		return nil, fmt.Errorf("tracing: the OTLP exporter: %w", err)
	}
	// Later options win: the default name, then the environment's
	// resource attributes, then the settings main read.
	opts := []resource.Option{
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceVersion(cfg.Version)),
	}
	if cfg.ServiceName != "" {
		opts = append(opts, resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)))
	}
	res, err := resource.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource attributes (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(&exporter{next: exp, logger: logger}),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
	)
	return &Tracing{
		provider: provider,
		tracer:   provider.Tracer(scope, trace.WithInstrumentationVersion(cfg.Version)),
	}, nil
}

// Shutdown ends the spans' processing: the spans still queued are
// exported, within ctx, and the exporter is closed. Call it once the HTTP
// server has shut down, so that the last requests' spans are in.
func (t *Tracing) Shutdown(ctx context.Context) error {
	return t.provider.Shutdown(ctx)
}

// Endpoint is the URL spans go to, as the OTLP exporter specification
// reads its variables: traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) as it
// is, else base (OTEL_EXPORTER_OTLP_ENDPOINT) with "v1/traces" appended to
// its path, else DefaultEndpoint.
func Endpoint(traces, base string) string {
	if s := strings.TrimSpace(traces); s != "" {
		return s
	}
	if s := strings.TrimSpace(base); s != "" {
		return strings.TrimSuffix(s, "/") + "/v1/traces"
	}
	return DefaultEndpoint
}

// CheckEndpoint accepts an absolute http or https URL with a host and no
// user information, query or fragment: credentials go in the headers,
// which are never shown, while the endpoint is logged. Its errors show
// the URL without a password.
func CheckEndpoint(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q is not an http:// or https:// URL", u.Redacted())
	case u.Host == "":
		return fmt.Errorf("%q has no host", u.Redacted())
	case u.User != nil:
		return fmt.Errorf("%q: give credentials in OTEL_EXPORTER_OTLP_HEADERS, not in the URL", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must not have a query or fragment", u.Redacted())
	}
	return nil
}

// ParseHeaders reads OTEL_EXPORTER_OTLP_HEADERS: comma-separated
// key=value pairs, each percent-decoded (the W3C Baggage format the
// specification names). Its errors never repeat a value: they are often
// credentials.
func ParseHeaders(s string) (map[string]string, error) {
	h := map[string]string{}
	var errs []error
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("header %d is not key=value", i+1))
			continue
		}
		key, err1 := url.PathUnescape(k)
		value, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil || strings.ContainsAny(key, " \t\r\n:") || strings.ContainsAny(value, "\r\n") {
			errs = append(errs, fmt.Errorf("header %d is not a valid percent-encoded key=value", i+1))
			continue
		}
		h[key] = value
	}
	return h, errors.Join(errs...)
}

// Sampler names a sampler as OTEL_TRACES_SAMPLER does, with its argument
// (OTEL_TRACES_SAMPLER_ARG): always_on, always_off, traceidratio,
// parentbased_always_on, parentbased_always_off, parentbased_traceidratio.
// The ratio samplers take a probability from 0 to 1 (default 1). The
// parent-based ones follow the sampling decision of a continued trace
// (see Tracing.Handler for which are continued).
type Sampler struct {
	Name, Arg string
}

// Check reports whether s names a sampler Kluis can build.
func (s Sampler) Check() error {
	_, err := s.build()
	return err
}

func (s Sampler) build() (sdktrace.Sampler, error) {
	ratio := func() (sdktrace.Sampler, error) {
		arg := strings.TrimSpace(s.Arg)
		if arg == "" {
			return sdktrace.TraceIDRatioBased(1), nil
		}
		p, err := strconv.ParseFloat(arg, 64)
		if err != nil || p < 0 || p > 1 {
			return nil, fmt.Errorf("sampler argument %q is not a probability from 0 to 1", s.Arg)
		}
		return sdktrace.TraceIDRatioBased(p), nil
	}
	switch strings.TrimSpace(s.Name) {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(r), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return ratio()
	}
	return nil, fmt.Errorf("sampler %q is not always_on, always_off, traceidratio, "+
		"parentbased_always_on, parentbased_always_off or parentbased_traceidratio", s.Name)
}
