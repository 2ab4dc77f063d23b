package server

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/storage"
)

// DefaultReadinessTimeout bounds the backend check of the readiness probe
// when Config.ReadinessTimeout is zero.
const DefaultReadinessTimeout = 2 * time.Second

// Config is what the server needs to know about its deployment.
type Config struct {
	// BaseURL is the public URL of the pod's root, ending in "/". The
	// Location of a created resource is built from it; when it is nil,
	// Locations are relative to the request.
	BaseURL *url.URL
	// MaxBodyBytes is the largest request body accepted; a larger one is
	// answered with 413 Content Too Large. Zero or less means no limit.
	MaxBodyBytes int64
	// ReadinessTimeout bounds the backend check of the readiness probe.
	// Zero means DefaultReadinessTimeout.
	ReadinessTimeout time.Duration
}

// Server is Kluis's HTTP front over one storage.Backend. It is safe for
// concurrent use.
type Server struct {
	handler http.Handler
}

// routes is a group of handlers that registers itself on the router. Each
// is a plain struct whose fields are its dependencies.
type routes interface {
	register(e *echo.Echo)
}

// New builds the server: the middleware chain, the error responder and
// every route, wired here and nowhere else. A nil logger discards logs.
func New(cfg Config, store storage.Backend, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	readiness := cfg.ReadinessTimeout
	if readiness <= 0 {
		readiness = DefaultReadinessTimeout
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	errs := &errorResponder{logger: logger}
	e.HTTPErrorHandler = errs.respond

	// Outermost first: the id is known to every later step, the log line
	// sees the final status (errors are answered inside it), panics become
	// errors before they reach the log, and the limit guards the handlers.
	e.Use(
		requestID(),
		requestLog(logger),
		recoverPanic(),
		limitBody(cfg.MaxBodyBytes),
	)

	for _, r := range []routes{
		&health{store: store, timeout: readiness, logger: logger},
		&resources{store: store, baseURL: cfg.BaseURL},
	} {
		r.register(e)
	}
	return &Server{handler: e}
}

// Handler returns the http.Handler that serves every request.
func (s *Server) Handler() http.Handler {
	return s.handler
}
