package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/weconomics/kluis/server/tracing"
)

// This file reads the tracing settings: one Kluis switch (-tracing,
// KLUIS_TRACING) and, when it is on, the standard OpenTelemetry variables
// (environment only, as every OpenTelemetry SDK reads them), checked by
// Validate with the rest. server/tracing does the work, which hosting.go
// starts (newTracing).

// Tracing modes.
const (
	tracingOff  = "off"
	tracingOTLP = "otlp"
)

// TracingConfig is the part of Config about OpenTelemetry tracing.
type TracingConfig struct {
	// Mode is "off" (the default) or "otlp": spans exported over
	// OTLP/HTTP (-tracing, KLUIS_TRACING).
	Mode string
	// Endpoint is the URL spans are POSTed to, from
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT
	// with /v1/traces, else http://localhost:4318/v1/traces; EndpointVar
	// names the variable it came from ("" for the default).
	Endpoint, EndpointVar string
	// Headers go with every export, from OTEL_EXPORTER_OTLP_TRACES_HEADERS
	// or else OTEL_EXPORTER_OTLP_HEADERS (HeadersVar): often the
	// collector's credentials, so never shown.
	Headers    secret
	HeadersVar string
	// ServiceName is OTEL_SERVICE_NAME ("" for kluis, or the service.name
	// of OTEL_RESOURCE_ATTRIBUTES).
	ServiceName string
	// Sampler is OTEL_TRACES_SAMPLER with OTEL_TRACES_SAMPLER_ARG.
	Sampler tracing.Sampler
	// Protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or else
	// OTEL_EXPORTER_OTLP_PROTOCOL (ProtocolVar); Kluis speaks
	// http/protobuf only.
	Protocol, ProtocolVar string
}

// declareTracing declares -tracing and reads the OpenTelemetry variables.
func declareTracing(l *loader, t *TracingConfig) {
	l.str(&t.Mode, "tracing", "KLUIS_TRACING", tracingOff,
		"`mode` of OpenTelemetry tracing: off, or otlp to export spans over OTLP/HTTP as the OTEL_* variables say")
	first := func(names ...string) (string, string) {
		for _, n := range names {
			if v := strings.TrimSpace(l.getenv(n)); v != "" {
				return v, n
			}
		}
		return "", ""
	}
	traces, tracesVar := first("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	base, baseVar := first("OTEL_EXPORTER_OTLP_ENDPOINT")
	t.Endpoint = tracing.Endpoint(traces, base)
	t.EndpointVar = tracesVar
	if tracesVar == "" {
		t.EndpointVar = baseVar
	}
	var headers string
	headers, t.HeadersVar = first("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
	t.Headers = secret(headers)
	t.ServiceName, _ = first("OTEL_SERVICE_NAME")
	t.Sampler.Name, _ = first("OTEL_TRACES_SAMPLER")
	t.Sampler.Arg, _ = first("OTEL_TRACES_SAMPLER_ARG")
	t.Protocol, t.ProtocolVar = first("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
}

// tracingProblems are the bad tracing settings, for Validate. The
// OpenTelemetry variables are checked only when tracing is on: other
// programs of the same environment may read them too.
func (c Config) tracingProblems() []error {
	t := c.Tracing
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch t.Mode {
	case tracingOff, "":
		return nil
	case tracingOTLP:
	default:
		bad("-tracing ($KLUIS_TRACING): %q is not off or otlp", t.Mode)
		return errs
	}
	if err := tracing.CheckEndpoint(t.Endpoint); err != nil {
		bad("$%s: %v", t.EndpointVar, err)
	}
	if _, err := tracing.ParseHeaders(string(t.Headers)); err != nil {
		bad("$%s: %v", t.HeadersVar, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if err := t.Sampler.Check(); err != nil {
		bad("$OTEL_TRACES_SAMPLER ($OTEL_TRACES_SAMPLER_ARG): %v", err)
	}
	if t.Protocol != "" && t.Protocol != "http/protobuf" {
		bad("$%s: %q: Kluis exports spans over OTLP/HTTP with protobuf only (http/protobuf)", t.ProtocolVar, t.Protocol)
	}
	return errs
}

// tracingAttrs are the tracing settings for the log, the headers
// redacted and the endpoint without a password.
func (t TracingConfig) tracingAttrs() slog.Attr {
	if t.Mode != tracingOTLP {
		return slog.Group("tracing", slog.String("mode", tracingOff))
	}
	return slog.Group("tracing",
		slog.String("mode", t.Mode),
		slog.String("endpoint", t.redactedEndpoint()),
		slog.String("headers", t.Headers.String()),
		slog.String("service_name", t.ServiceName),
		slog.String("sampler", t.Sampler.Name),
		slog.String("sampler_arg", t.Sampler.Arg),
	)
}

// redactedEndpoint is the endpoint without a password.
func (t TracingConfig) redactedEndpoint() string {
	if u, err := url.Parse(t.Endpoint); err == nil {
		return u.Redacted()
	}
	return ""
}
