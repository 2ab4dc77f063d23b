package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/mail"
	"github.com/weconomics/kluis/server/notify/natsbus"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/idp"
)

// Defaults of the settings that have one.
const (
	defaultAddr            = ":3000"
	defaultStorage         = "fs"
	defaultData            = "./data"
	defaultLogFormat       = "text"
	defaultMaxBody         = 1 << 30 // 1 GiB: large media, still bounded
	defaultShutdownTimeout = 30 * time.Second
	defaultPodMode         = "path"
	defaultWACOrigin       = "named"
	defaultDataBrowser     = "embedded"
	// defaultAccessLogMaxAge is server.DefaultAccessLogMaxAge; the most is
	// how long the credential service publishes a key after it stops
	// signing (credential.DefaultKeyRotation + DefaultMaxLifetime), so that
	// every entry kept can still be verified.
	defaultAccessLogMaxAge = server.DefaultAccessLogMaxAge
	maxAccessLogAge        = credential.DefaultKeyRotation + credential.DefaultMaxLifetime
	// The limits that bound a request's work before it is done (issue 13):
	// server.Config says what each one bounds.
	defaultBodyTimeout       = server.DefaultBodyTimeout
	defaultBodyMinRate       = server.DefaultBodyMinRate
	defaultMaxPatch          = server.DefaultMaxPatchBytes
	defaultMaxConnsPerClient = server.DefaultMaxConnsPerClient
	defaultMaxRDF            = ldp.DefaultMaxRDFBytes
	defaultMaxTriples        = ldp.DefaultMaxTriples
)

// Config is every setting of a Kluis process. Each comes from a flag whose
// default is read from an environment variable; the S3 keys come from the
// environment only, so they never show in a process list.
type Config struct {
	// Addr is the TCP address to listen on (-addr, KLUIS_ADDR).
	Addr string
	// BaseURL is the public URL of the pod's root, ending in "/"
	// (-base-url, KLUIS_BASE_URL). It defaults to the listening address;
	// it is empty only when the port is chosen at listening time (":0").
	BaseURL string
	// Storage names the backend: "fs" or "s3" (-storage, KLUIS_STORAGE).
	Storage string
	// Data is the folder of the fs backend (-data, KLUIS_DATA).
	Data string
	// S3 configures the s3 backend.
	S3 S3Config
	// LogLevel is the least level logged (-log-level, KLUIS_LOG_LEVEL).
	LogLevel slog.Level
	// LogFormat is "text" or "json" (-log-format, KLUIS_LOG_FORMAT).
	LogFormat string
	// MaxBody is the largest request body in bytes (-max-body,
	// KLUIS_MAX_BODY; units such as 10MiB or 1GB are accepted).
	MaxBody int64
	// BodyTimeout is the longest pause in a request body, and the head
	// start before BodyMinRate applies (-body-timeout, KLUIS_BODY_TIMEOUT).
	BodyTimeout time.Duration
	// BodyMinRate is the least average rate of a request body, in bytes per
	// second, once BodyTimeout has passed (-body-min-rate,
	// KLUIS_BODY_MIN_RATE; units such as 1KiB are accepted).
	BodyMinRate int64
	// MaxPatch is the largest PATCH body read and parsed, in bytes
	// (-max-patch, KLUIS_MAX_PATCH).
	MaxPatch int64
	// MaxConnsPerClient bounds the connections one client address holds at
	// once; 0 means no bound (-max-conns-per-client,
	// KLUIS_MAX_CONNS_PER_CLIENT).
	MaxConnsPerClient int
	// MaxRDF is the largest RDF document stored, served or patched, in
	// bytes, before and after serialising (-max-rdf, KLUIS_MAX_RDF).
	MaxRDF int64
	// MaxTriples is the most triples an RDF document or a patch may hold
	// (-max-triples, KLUIS_MAX_TRIPLES).
	MaxTriples int
	// ShutdownTimeout is how long requests in flight may take to finish
	// once the process is told to stop (-shutdown-timeout,
	// KLUIS_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// RootACL is a Turtle file whose content becomes the root container's
	// ACL when the storage has none yet (-root-acl, KLUIS_ROOT_ACL).
	RootACL string
	// FetchAllow lists the CIDR ranges of otherwise forbidden addresses
	// (loopback, private, link-local) that WebID, issuer and group fetches
	// may reach (-fetch-allow, KLUIS_FETCH_ALLOW), e.g. "127.0.0.0/8,::1/128"
	// for local development.
	FetchAllow string
	// PodMode is where pods live: "path" (https://host/<pod>/, the
	// default), "subdomain" (https://<pod>.host/) or "none" (the server
	// root is the one storage) (-pod-mode, KLUIS_POD_MODE).
	PodMode string
	// PodQuota is the most bytes a pod may hold unless it has a quota of
	// its own (kluis pod quota); 0 means no limit (-pod-quota,
	// KLUIS_POD_QUOTA; units such as 10GiB are accepted).
	PodQuota int64
	// WACOrigin is how acl:origin restricts apps on other origins
	// (-wac-origin, KLUIS_WAC_ORIGIN): "named" (the default) restricts only
	// the authorizations that name an origin; "strict" is WAC 1.0 §5.3.2
	// as written, where the pod owner admits an app with acl:trustedApp.
	WACOrigin string
	// DataBrowser is the SolidOS data browser that browsers get for a
	// pod's containers and RDF documents (-data-browser,
	// KLUIS_DATA_BROWSER): "embedded" (the default: the mashlib release
	// built into Kluis), "off", a folder holding a mashlib build, or the
	// http(s) URL of one (server/databrowser).
	DataBrowser string
	// AccessLog keeps each pod's access log (-access-log,
	// KLUIS_ACCESS_LOG; on by default); AccessLogOwners records the pod
	// owners' own requests in it too (-access-log-owners,
	// KLUIS_ACCESS_LOG_OWNERS). AccessLogMaxAge and AccessLogMaxSize are
	// what is kept of each pod's log (-access-log-max-age,
	// -access-log-max-size; an owner may ask for less).
	AccessLog        bool
	AccessLogOwners  bool
	AccessLogMaxAge  time.Duration
	AccessLogMaxSize int64
	// Hosting is how the server is reached: TLS, ACME, the HTTP redirect
	// listener, trusted proxies and metrics (hosting.go).
	Hosting HostingConfig
	// NATS carries change events between the processes that share one
	// storage, so that each one's notification subscribers hear of the
	// writes made through the others.
	NATS NATSConfig
	// SecretKey seals the identity provider's secrets in storage (its
	// token signing keys and CSRF key): 32 random bytes in base64, from
	// KLUIS_SECRET_KEY only; empty stores them in the clear.
	// PreviousSecretKey (KLUIS_PREVIOUS_SECRET_KEY) opens what the key
	// before it sealed, while the secrets are sealed again with SecretKey.
	SecretKey, PreviousSecretKey secret
	// Mail sends the accounts' password reset mails; without it, passwords
	// cannot be reset by e-mail.
	Mail MailConfig
	// Tracing is OpenTelemetry tracing: off, or spans exported over
	// OTLP/HTTP (tracing.go).
	Tracing TracingConfig

	// loadErrs are the settings whose text did not parse, in flag order;
	// Validate reports them with the rest.
	loadErrs []error
}

// S3Config is the part of Config that only the s3 backend reads.
type S3Config struct {
	// Endpoint is the server's host[:port], without a scheme
	// (-s3-endpoint, KLUIS_S3_ENDPOINT).
	Endpoint string
	// Bucket is the bucket holding the pods (-s3-bucket, KLUIS_S3_BUCKET).
	Bucket string
	// Prefix is prepended to every key (-s3-prefix, KLUIS_S3_PREFIX).
	Prefix string
	// Region is the bucket's region, if the server needs one (-s3-region,
	// KLUIS_S3_REGION).
	Region string
	// TLS makes the connection HTTPS (-s3-tls, KLUIS_S3_TLS).
	TLS bool
	// PathStyle addresses the bucket in the path instead of the host name
	// (-s3-path-style, KLUIS_S3_PATH_STYLE).
	PathStyle bool
	// AccessKey is the access key id, from KLUIS_S3_ACCESS_KEY only.
	AccessKey secret
	// SecretKey is the secret access key, from KLUIS_S3_SECRET_KEY only.
	SecretKey secret
}

// NATSConfig is the part of Config that connects notifications to NATS.
type NATSConfig struct {
	// URL is the NATS server, nats://host:port or tls://host:port, or a
	// comma-separated list of them; "" keeps notifications in process
	// (-nats-url, KLUIS_NATS_URL). It may hold credentials, so it is
	// never logged.
	URL secret
	// Prefix starts the subject of the change events, <prefix>.changes:
	// the processes of one storage share it (-nats-prefix,
	// KLUIS_NATS_PREFIX, default "kluis").
	Prefix string
}

// MailConfig is the part of Config that sends e-mail (server/mail).
type MailConfig struct {
	// SMTPURL is the SMTP server, smtp://[user:password@]host[:port]
	// (STARTTLS, required unless the host is loopback) or
	// smtps://[user:password@]host[:port] (TLS from the first byte), from
	// KLUIS_SMTP_URL only: it holds the password.
	SMTPURL secret
	// From is the sender of the mails, e.g. "Kluis <noreply@pods.example>"
	// (-mail-from, KLUIS_MAIL_FROM).
	From string
}

// on reports whether mail is set up.
func (m MailConfig) on() bool { return m.SMTPURL != "" }

// secret is a string that never shows itself in print, logs or JSON.
type secret string

const redacted = "[redacted]"

// String returns "[redacted]", or "" when the secret is empty.
func (s secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, so that %#v does not print the secret either.
func (s secret) GoString() string { return s.String() }

// LogValue is String, for log/slog.
func (s secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText is String, for encoders such as encoding/json.
func (s secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// loadConfig reads the settings from args (flags, without the program
// name) over the environment as seen through getenv, and validates them.
// It returns flag.ErrHelp when -h or -help was asked for.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	return loadConfigWith(args, getenv, nil)
}

// loadConfigWith is loadConfig with more flags, which declare adds to the
// flag set (a subcommand's own flags).
func loadConfigWith(args []string, getenv func(string) string, declare func(*flag.FlagSet)) (Config, error) {
	var cfg Config
	l := newLoader(&cfg, getenv)
	if declare != nil {
		declare(l.fs)
	}
	l.fs.SetOutput(io.Discard)
	if err := l.fs.Parse(args); err != nil {
		return cfg, err
	}
	if n := l.fs.NArg(); n > 0 {
		// The arguments themselves are not repeated: one may be a secret
		// given where it does not belong.
		return cfg, fmt.Errorf("%d unexpected argument(s) after the flags", n)
	}
	cfg.loadErrs = l.errors()
	derivedBase := strings.TrimSpace(cfg.BaseURL) == ""
	cfg.BaseURL = normaliseBaseURL(cfg.BaseURL, cfg.Addr)
	cfg.normaliseHosting(derivedBase) // config_hosting.go
	cfg.S3.Prefix = strings.TrimSpace(cfg.S3.Prefix)
	if cfg.S3.Prefix != "" && !strings.HasSuffix(cfg.S3.Prefix, "/") {
		cfg.S3.Prefix += "/"
	}
	return cfg, cfg.Validate()
}

// printUsage writes the flags, their variables and defaults to w.
func printUsage(w io.Writer, getenv func(string) string) {
	var cfg Config
	l := newLoader(&cfg, getenv)
	fmt.Fprintf(w, "Usage: kluis [flags]\n\nEvery flag defaults from the environment variable named in its help.\n"+
		"The S3 keys are read from KLUIS_S3_ACCESS_KEY and KLUIS_S3_SECRET_KEY only, and the SMTP server of\n"+
		"password reset mails from KLUIS_SMTP_URL only (smtp://user:password@host:port, or smtps://).\n"+
		"kluis -version prints the version; kluis -healthcheck [flags] asks the liveness probe of the\n"+
		"server those settings describe and exits 0 when it answers, 1 when not.\n"+
		"With -tracing otlp, the standard OpenTelemetry variables set the exporter: OTEL_EXPORTER_OTLP_ENDPOINT\n"+
		"(or _TRACES_ENDPOINT), OTEL_EXPORTER_OTLP_HEADERS (or _TRACES_HEADERS), OTEL_SERVICE_NAME,\n"+
		"OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.\n\n")
	l.fs.SetOutput(w)
	l.fs.PrintDefaults()
}

// loader declares the flags of Config, each defaulting from its
// environment variable, and collects the values that do not parse instead
// of stopping at the first.
type loader struct {
	fs     *flag.FlagSet
	getenv func(string) string
	order  []string
	errs   map[string]error
}

func newLoader(cfg *Config, getenv func(string) string) *loader {
	l := &loader{
		fs:     flag.NewFlagSet("kluis", flag.ContinueOnError),
		getenv: getenv,
		errs:   map[string]error{},
	}
	l.str(&cfg.Addr, "addr", "KLUIS_ADDR", defaultAddr, "TCP `address` to listen on")
	l.str(&cfg.BaseURL, "base-url", "KLUIS_BASE_URL", "",
		"public `URL` of the pod's root (default: from -addr, e.g. http://localhost:3000/)")
	l.str(&cfg.Storage, "storage", "KLUIS_STORAGE", defaultStorage, "storage backend: fs or s3")
	l.str(&cfg.Data, "data", "KLUIS_DATA", defaultData, "`folder` of the fs backend")
	l.str(&cfg.S3.Endpoint, "s3-endpoint", "KLUIS_S3_ENDPOINT", "", "S3 server `host[:port]`, without a scheme")
	l.str(&cfg.S3.Bucket, "s3-bucket", "KLUIS_S3_BUCKET", "", "S3 `bucket`")
	l.str(&cfg.S3.Prefix, "s3-prefix", "KLUIS_S3_PREFIX", "", "`prefix` of every S3 key")
	l.str(&cfg.S3.Region, "s3-region", "KLUIS_S3_REGION", "", "S3 `region`")
	parsedVar(l, &cfg.S3.TLS, "s3-tls", "KLUIS_S3_TLS", true, parseBool, strconv.FormatBool,
		"connect to S3 over HTTPS")
	parsedVar(l, &cfg.S3.PathStyle, "s3-path-style", "KLUIS_S3_PATH_STYLE", true, parseBool, strconv.FormatBool,
		"address the S3 bucket in the path (MinIO), not the host name")
	parsedVar(l, &cfg.LogLevel, "log-level", "KLUIS_LOG_LEVEL", slog.LevelInfo, parseLevel, formatLevel,
		"least `level` logged: debug, info, warn or error")
	l.str(&cfg.LogFormat, "log-format", "KLUIS_LOG_FORMAT", defaultLogFormat, "log `format`: text or json")
	parsedVar(l, &cfg.MaxBody, "max-body", "KLUIS_MAX_BODY", defaultMaxBody, parseSize, formatSize,
		"largest request body: a byte count or a `size` with a unit, e.g. 10MiB or 1GB")
	parsedVar(l, &cfg.BodyTimeout, "body-timeout", "KLUIS_BODY_TIMEOUT", defaultBodyTimeout, parseDuration, time.Duration.String,
		"longest pause in a request body, and the head start before -body-min-rate applies: a `duration`, e.g. 30s")
	parsedVar(l, &cfg.BodyMinRate, "body-min-rate", "KLUIS_BODY_MIN_RATE", defaultBodyMinRate, parseSize, formatSize,
		"least average rate of a request body, per second, after -body-timeout: a `size` such as 1KiB; a slower body is cut (408)")
	parsedVar(l, &cfg.MaxPatch, "max-patch", "KLUIS_MAX_PATCH", defaultMaxPatch, parseSize, formatSize,
		"largest PATCH body (N3 Patch, SPARQL Update) parsed: a `size` such as 1MiB")
	parsedVar(l, &cfg.MaxConnsPerClient, "max-conns-per-client", "KLUIS_MAX_CONNS_PER_CLIENT", defaultMaxConnsPerClient, parseCount, strconv.Itoa,
		"most connections one client address (an IPv6 /64) holds at once, trusted proxies apart: a `count`; 0: no bound")
	parsedVar(l, &cfg.MaxRDF, "max-rdf", "KLUIS_MAX_RDF", defaultMaxRDF, parseSize, formatSize,
		"largest RDF document stored, served or patched, before and after serialising: a `size` such as 16MiB (413 above)")
	parsedVar(l, &cfg.MaxTriples, "max-triples", "KLUIS_MAX_TRIPLES", defaultMaxTriples, parseCount, strconv.Itoa,
		"most triples an RDF document or a patch may hold: a `count` (413 above)")
	parsedVar(l, &cfg.ShutdownTimeout, "shutdown-timeout", "KLUIS_SHUTDOWN_TIMEOUT", defaultShutdownTimeout,
		parseDuration, time.Duration.String, "how long requests in flight may take to finish on SIGTERM: a `duration`, e.g. 30s")
	l.str(&cfg.FetchAllow, "fetch-allow", "KLUIS_FETCH_ALLOW", "",
		"comma-separated CIDR `ranges` of private addresses that WebID and issuer fetches may reach")
	l.str(&cfg.PodMode, "pod-mode", "KLUIS_POD_MODE", defaultPodMode,
		"where pods live: path (https://host/<pod>/), subdomain (https://<pod>.host/) or none (the root is the one storage)")
	l.str(&cfg.RootACL, "root-acl", "KLUIS_ROOT_ACL", "",
		"Turtle `file` seeded as the root container's ACL when there is none yet")
	parsedVar(l, &cfg.PodQuota, "pod-quota", "KLUIS_POD_QUOTA", 0, parseSize, formatSize,
		"most bytes a pod may hold unless it has a quota of its own: a `size` such as 10GiB; 0: no limit")
	l.str(&cfg.WACOrigin, "wac-origin", "KLUIS_WAC_ORIGIN", defaultWACOrigin,
		"how acl:origin restricts apps on other origins: named (only authorizations that name an origin) or strict (WAC 1.0, with the owner's acl:trustedApp)")
	l.str(&cfg.DataBrowser, "data-browser", "KLUIS_DATA_BROWSER", defaultDataBrowser,
		"the SolidOS data browser for browsers on a pod: embedded (the copy built in), off, or a `folder` or URL of another mashlib build")
	parsedVar(l, &cfg.AccessLog, "access-log", "KLUIS_ACCESS_LOG", true, parseBool, strconv.FormatBool,
		"keep each pod's access log: every request by someone other than its owner, readable by the owner at <pod>/.access-log")
	parsedVar(l, &cfg.AccessLogOwners, "access-log-owners", "KLUIS_ACCESS_LOG_OWNERS", false, parseBool, strconv.FormatBool,
		"record the pod owners' own requests in the access log too")
	parsedVar(l, &cfg.AccessLogMaxAge, "access-log-max-age", "KLUIS_ACCESS_LOG_MAX_AGE", defaultAccessLogMaxAge, parseDuration, time.Duration.String,
		"how long access log entries are kept: a `duration` such as 4320h (180 days), at most 9480h while the signing keys stay published")
	parsedVar(l, &cfg.AccessLogMaxSize, "access-log-max-size", "KLUIS_ACCESS_LOG_MAX_SIZE", 0, parseSize, formatSize,
		"most bytes of each pod's access log kept, the oldest removed first: a `size` such as 100MiB; 0: no bound")
	declareHosting(l, &cfg.Hosting) // config_hosting.go
	parsedVar(l, &cfg.NATS.URL, "nats-url", "KLUIS_NATS_URL", "", func(s string) (secret, error) {
		return secret(strings.TrimSpace(s)), nil
	}, func(secret) string { return "" }, "NATS server `URL` (nats:// or tls://) that carries change events between the processes of one storage; empty: in process")
	l.str(&cfg.NATS.Prefix, "nats-prefix", "KLUIS_NATS_PREFIX", natsbus.DefaultPrefix,
		"`prefix` of the NATS subject of change events (<prefix>.changes), shared by the processes of one storage")
	l.str(&cfg.Mail.From, "mail-from", "KLUIS_MAIL_FROM", "",
		"sender `address` of password reset mails, e.g. \"Kluis <noreply@pods.example>\"; with $KLUIS_SMTP_URL")
	declareTracing(l, &cfg.Tracing) // tracing.go
	// Secrets: the environment only, never a flag.
	cfg.S3.AccessKey = secret(getenv("KLUIS_S3_ACCESS_KEY"))
	cfg.S3.SecretKey = secret(getenv("KLUIS_S3_SECRET_KEY"))
	cfg.SecretKey = secret(strings.TrimSpace(getenv("KLUIS_SECRET_KEY")))
	cfg.PreviousSecretKey = secret(strings.TrimSpace(getenv("KLUIS_PREVIOUS_SECRET_KEY")))
	cfg.Mail.SMTPURL = secret(strings.TrimSpace(getenv("KLUIS_SMTP_URL")))
	return l
}

// str declares a string flag defaulting from env, then from def.
func (l *loader) str(dst *string, name, env, def, usage string) {
	if v := l.getenv(env); v != "" {
		def = v
	}
	l.fs.StringVar(dst, name, def, usage+" ($"+env+")")
}

// parsedVar declares a flag whose text parses into a T, defaulting from
// env, then from def. Text that does not parse is recorded for Validate,
// and the setting keeps its previous value.
func parsedVar[T any](l *loader, dst *T, name, env string, def T, parse func(string) (T, error), format func(T) string, usage string) {
	*dst = def
	v := &parsedValue[T]{dst: dst, parse: parse, format: format, name: name, env: env, errs: l.errs}
	l.order = append(l.order, name)
	if s := l.getenv(env); s != "" {
		v.set(s, "$"+env)
	}
	l.fs.Var(v, name, usage+" ($"+env+")")
}

// errors returns the recorded parse errors in flag order.
func (l *loader) errors() []error {
	var errs []error
	for _, name := range l.order {
		if err := l.errs[name]; err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// parsedValue is the flag.Value of parsedVar.
type parsedValue[T any] struct {
	dst       *T
	parse     func(string) (T, error)
	format    func(T) string
	name, env string
	errs      map[string]error
}

// Set never fails, so that parsing goes on and every bad value is known.
func (v *parsedValue[T]) Set(s string) error {
	v.set(s, "")
	return nil
}

func (v *parsedValue[T]) set(s, source string) {
	x, err := v.parse(s)
	if err != nil {
		from := ""
		if source != "" {
			from = " from " + source
		}
		v.errs[v.name] = fmt.Errorf("-%s: invalid value %q%s: %v", v.name, s, from, err)
		return
	}
	*v.dst = x
	delete(v.errs, v.name) // a good flag overrides a bad environment value
}

func (v *parsedValue[T]) String() string {
	if v == nil || v.dst == nil {
		return ""
	}
	return v.format(*v.dst)
}

// IsBoolFlag lets a boolean flag stand alone, as in -s3-tls.
func (v *parsedValue[T]) IsBoolFlag() bool {
	_, ok := any(*new(T)).(bool)
	return ok
}

func parseBool(s string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errors.New("want debug, info, warn or error")
}

func formatLevel(l slog.Level) string { return strings.ToLower(l.String()) }

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("want a whole number such as 100")
	}
	return n, nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("want a duration such as 30s or 1m")
	}
	return d, nil
}

// sizeUnits are the units parseSize accepts, in lower case.
func sizeUnits() map[string]int64 {
	return map[string]int64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "kib": 1 << 10,
		"m": 1e6, "mb": 1e6, "mib": 1 << 20,
		"g": 1e9, "gb": 1e9, "gib": 1 << 30,
		"t": 1e12, "tb": 1e12, "tib": 1 << 40,
	}
}

// parseSize parses a byte count: digits, then an optional unit (B, kB,
// MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("want a size such as 1048576, 10MiB or 1GB")
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, errors.New("size too large")
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := sizeUnits()[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q; use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB", s[i:])
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("size too large")
	}
	return n * mult, nil
}

// formatSize writes n in the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n > 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// normaliseBaseURL trims the base URL and makes it end in "/"; an empty one
// is derived from the listening address, unless the port is chosen at
// listening time.
func normaliseBaseURL(base, addr string) string {
	base = strings.TrimSpace(base)
	if base == "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || port == "0" {
			return ""
		}
		return listenURL(host, port)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base
}

// listenURL is the http URL of a listening address, with "localhost" for
// an unspecified host.
func listenURL(host, port string) string {
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Validate reports every bad setting at once, each naming its flag and
// variable; nil means the configuration can be used.
func (c Config) Validate() error {
	errs := slices.Clone(c.loadErrs)
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format, a...))
	}

	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("-addr ($KLUIS_ADDR): %q is not host:port or :port", c.Addr)
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			bad("-base-url ($KLUIS_BASE_URL): %v", err)
		}
	}
	if _, err := fetch.ParseAllowList(c.FetchAllow); err != nil {
		bad("-fetch-allow ($KLUIS_FETCH_ALLOW): %v", err)
	}
	switch c.PodMode {
	case "path", "none", "subdomain":
	default:
		bad("-pod-mode ($KLUIS_POD_MODE): %q is not path, subdomain or none", c.PodMode)
	}
	switch c.WACOrigin {
	case "named", "strict":
	default:
		bad("-wac-origin ($KLUIS_WAC_ORIGIN): %q is not named or strict", c.WACOrigin)
	}
	switch db := c.DataBrowser; {
	case db == "embedded" || db == "off":
	case strings.HasPrefix(db, "https://") || strings.HasPrefix(db, "http://"):
		if u, err := url.Parse(db); err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			bad("-data-browser ($KLUIS_DATA_BROWSER): %q is not a plain http(s) URL of a folder", db)
		}
	default:
		if st, err := os.Stat(db); err != nil || !st.IsDir() {
			bad("-data-browser ($KLUIS_DATA_BROWSER): %q is not embedded, off, a URL or a folder", db)
		}
	}
	if c.RootACL != "" {
		if st, err := os.Stat(c.RootACL); err != nil || !st.Mode().IsRegular() {
			bad("-root-acl ($KLUIS_ROOT_ACL): %q is not a readable file", c.RootACL)
		}
	}
	switch c.Storage {
	case "fs":
		if strings.TrimSpace(c.Data) == "" {
			bad("-data ($KLUIS_DATA): a folder is required when -storage is fs")
		}
	case "s3":
		required := func(v, what string) {
			if strings.TrimSpace(v) == "" {
				bad("%s is required when -storage is s3", what)
			}
		}
		required(c.S3.Endpoint, "-s3-endpoint ($KLUIS_S3_ENDPOINT)")
		required(c.S3.Bucket, "-s3-bucket ($KLUIS_S3_BUCKET)")
		required(string(c.S3.AccessKey), "$KLUIS_S3_ACCESS_KEY")
		required(string(c.S3.SecretKey), "$KLUIS_S3_SECRET_KEY")
		if strings.Contains(c.S3.Endpoint, "://") || strings.ContainsAny(c.S3.Endpoint, "/?#") {
			bad("-s3-endpoint ($KLUIS_S3_ENDPOINT): give host[:port] without a scheme or path, and -s3-tls for https")
		}
		if c.S3.Prefix != "" && storage.ValidatePrefix(c.S3.Prefix) != nil {
			bad("-s3-prefix ($KLUIS_S3_PREFIX): %q is not a valid key prefix such as kluis/", c.S3.Prefix)
		}
	default:
		bad("-storage ($KLUIS_STORAGE): %q is not fs or s3", c.Storage)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("-log-format ($KLUIS_LOG_FORMAT): %q is not text or json", c.LogFormat)
	}
	if c.MaxBody <= 0 {
		bad("-max-body ($KLUIS_MAX_BODY): must be more than 0 bytes")
	}
	if c.BodyTimeout <= 0 {
		bad("-body-timeout ($KLUIS_BODY_TIMEOUT): must be more than 0")
	}
	if c.BodyMinRate <= 0 {
		bad("-body-min-rate ($KLUIS_BODY_MIN_RATE): must be more than 0 bytes")
	}
	if c.MaxPatch <= 0 {
		bad("-max-patch ($KLUIS_MAX_PATCH): must be more than 0 bytes")
	}
	if c.MaxRDF <= 0 {
		bad("-max-rdf ($KLUIS_MAX_RDF): must be more than 0 bytes")
	}
	if c.MaxTriples <= 0 {
		bad("-max-triples ($KLUIS_MAX_TRIPLES): must be more than 0")
	}
	if c.MaxConnsPerClient < 0 {
		bad("-max-conns-per-client ($KLUIS_MAX_CONNS_PER_CLIENT): must not be negative (0: no bound)")
	}
	if c.ShutdownTimeout <= 0 {
		bad("-shutdown-timeout ($KLUIS_SHUTDOWN_TIMEOUT): must be more than 0")
	}
	if c.PodQuota < 0 {
		bad("-pod-quota ($KLUIS_POD_QUOTA): must not be negative")
	}
	if c.AccessLogMaxAge <= 0 || c.AccessLogMaxAge > maxAccessLogAge {
		bad("-access-log-max-age ($KLUIS_ACCESS_LOG_MAX_AGE): must be more than 0 and at most %s, while the keys that sign the log stay published", maxAccessLogAge)
	}
	if c.AccessLogMaxSize < 0 {
		bad("-access-log-max-size ($KLUIS_ACCESS_LOG_MAX_SIZE): must not be negative (0: no bound)")
	}
	if c.NATS.URL != "" {
		if err := checkNATSURL(string(c.NATS.URL)); err != nil {
			bad("-nats-url ($KLUIS_NATS_URL): %v", err)
		}
		if err := natsbus.ValidPrefix(c.NATS.Prefix); err != nil {
			bad("-nats-prefix ($KLUIS_NATS_PREFIX): %v", err)
		}
	}
	for _, k := range []struct {
		env string
		v   secret
	}{{"KLUIS_SECRET_KEY", c.SecretKey}, {"KLUIS_PREVIOUS_SECRET_KEY", c.PreviousSecretKey}} {
		if _, err := k.v.bytes(); err != nil {
			bad("$%s: %v", k.env, err)
		}
	}
	if c.PreviousSecretKey != "" && c.SecretKey == "" {
		bad("$KLUIS_PREVIOUS_SECRET_KEY is set without $KLUIS_SECRET_KEY")
	}
	switch {
	case c.Mail.on():
		if err := mail.CheckURL(string(c.Mail.SMTPURL)); err != nil {
			bad("$KLUIS_SMTP_URL: %v", err)
		}
		if err := mail.CheckFrom(c.Mail.From); err != nil {
			bad("-mail-from ($KLUIS_MAIL_FROM): %v (required with $KLUIS_SMTP_URL)", err)
		}
	case strings.TrimSpace(c.Mail.From) != "":
		bad("-mail-from ($KLUIS_MAIL_FROM): set, but $KLUIS_SMTP_URL is not: without an SMTP server no mail is sent")
	}
	errs = append(errs, c.hostingProblems()...) // config_hosting.go
	errs = append(errs, c.tracingProblems()...) // tracing.go
	return errors.Join(errs...)
}

// bytes decodes a secret key: nil for an empty one, else exactly 32 bytes
// in base64 (standard or URL alphabet, padded or not). Its errors never
// repeat the key.
func (s secret) bytes() ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	t := strings.TrimRight(string(s), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil {
			if len(b) != idp.SecretKeySize {
				return nil, fmt.Errorf("decodes to %d bytes, not %d (make one with: openssl rand -base64 32)", len(b), idp.SecretKeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("is not base64 (make one with: openssl rand -base64 32)")
}

// checkNATSURL accepts a comma-separated list of nats:// or tls:// URLs
// with a host and nothing after it. Its errors never repeat the URL, which
// may hold credentials.
func checkNATSURL(s string) error {
	for i, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		switch {
		case err != nil:
			return fmt.Errorf("URL %d is not a URL", i+1)
		case u.Scheme != "nats" && u.Scheme != "tls":
			return fmt.Errorf("URL %d is not a nats:// or tls:// URL", i+1)
		case u.Host == "":
			return fmt.Errorf("URL %d has no host", i+1)
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			return fmt.Errorf("URL %d must be nats://[user:password@]host:port with no path or query", i+1)
		}
	}
	return nil
}

// checkBaseURL accepts an absolute http(s) URL ending in "/", with no user
// information, query or fragment.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q is not an absolute http or https URL", u.Redacted())
	case u.Host == "":
		return fmt.Errorf("%q has no host", u.Redacted())
	case u.User != nil:
		return errors.New("must not hold a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("%q must not have a query or fragment", u.Redacted())
	case u.Path != "" && u.Path != "/":
		return fmt.Errorf("%q: Kluis must be served at the root path of its host (use a host of its own)", u.Redacted())
	}
	return nil
}

// LogValue lists the settings for log/slog, with the S3 keys redacted.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("addr", c.Addr),
		slog.String("base_url", c.BaseURL),
		slog.String("storage", c.Storage),
	}
	if c.Storage == "s3" {
		attrs = append(attrs, slog.Group("s3",
			slog.String("endpoint", c.S3.Endpoint),
			slog.String("bucket", c.S3.Bucket),
			slog.String("prefix", c.S3.Prefix),
			slog.String("region", c.S3.Region),
			slog.Bool("tls", c.S3.TLS),
			slog.Bool("path_style", c.S3.PathStyle),
			slog.String("access_key", c.S3.AccessKey.String()),
			slog.String("secret_key", c.S3.SecretKey.String()),
		))
	} else {
		attrs = append(attrs, slog.String("data", c.Data))
	}
	attrs = append(attrs,
		slog.String("log_level", formatLevel(c.LogLevel)),
		slog.String("log_format", c.LogFormat),
		slog.String("fetch_allow", c.FetchAllow),
		slog.String("root_acl", c.RootACL),
		slog.String("pod_mode", c.PodMode),
		slog.String("wac_origin", c.WACOrigin),
		slog.String("data_browser", c.DataBrowser),
		slog.String("max_body", formatSize(c.MaxBody)),
		slog.String("pod_quota", formatSize(c.PodQuota)),
		slog.Bool("access_log", c.AccessLog),
		slog.Bool("access_log_owners", c.AccessLogOwners),
		slog.Duration("access_log_max_age", c.AccessLogMaxAge),
		slog.String("access_log_max_size", formatSize(c.AccessLogMaxSize)),
		slog.Duration("body_timeout", c.BodyTimeout),
		slog.String("body_min_rate", formatSize(c.BodyMinRate)),
		slog.String("max_patch", formatSize(c.MaxPatch)),
		slog.Int("max_conns_per_client", c.MaxConnsPerClient),
		slog.String("max_rdf", formatSize(c.MaxRDF)),
		slog.Int("max_triples", c.MaxTriples),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	)
	attrs = append(attrs, c.Hosting.hostingAttrs()...)
	attrs = append(attrs, c.Tracing.tracingAttrs())
	if c.NATS.URL != "" {
		attrs = append(attrs, slog.Group("nats", slog.String("url", c.NATS.URL.String()), slog.String("prefix", c.NATS.Prefix)))
	}
	if c.SecretKey != "" {
		attrs = append(attrs, slog.String("secret_key", c.SecretKey.String()))
	}
	if c.PreviousSecretKey != "" {
		attrs = append(attrs, slog.String("previous_secret_key", c.PreviousSecretKey.String()))
	}
	if c.Mail.on() {
		attrs = append(attrs, slog.Group("mail", slog.String("smtp_url", c.Mail.SMTPURL.String()), slog.String("from", c.Mail.From)))
	}
	return slog.GroupValue(attrs...)
}

// String lists the settings as key=value pairs, with the S3 keys
// redacted.
func (c Config) String() string {
	var b strings.Builder
	var walk func(prefix string, attrs []slog.Attr)
	walk = func(prefix string, attrs []slog.Attr) {
		for _, a := range attrs {
			if a.Value.Kind() == slog.KindGroup {
				walk(prefix+a.Key+".", a.Value.Group())
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s%s=%s", prefix, a.Key, strconv.Quote(a.Value.String()))
		}
	}
	walk("", c.LogValue().Group())
	return b.String()
}

// GoString is String, so that %#v does not print the secrets either.
func (c Config) GoString() string { return "main.Config{" + c.String() + "}" }
