package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/storage"
)

// The probe endpoints, under a prefix that no resource may use.
const (
	probePrefix = "/.well-known/kluis/"
	livePath    = probePrefix + "live"
	readyPath   = probePrefix + "ready"
	// probeKey is the key the readiness probe stats on backends that are
	// not a storage.Checker; it is never written.
	probeKey = ".well-known/kluis/readiness-probe"
)

// health serves the liveness and readiness probes.
type health struct {
	store   storage.Backend
	timeout time.Duration
	logger  *slog.Logger
}

func (h *health) Mount(e *echo.Echo) {
	e.GET(livePath, h.live)
	e.HEAD(livePath, h.live)
	e.GET(readyPath, h.ready)
	e.HEAD(readyPath, h.ready)
}

// live answers 200 whenever the process serves requests at all.
func (h *health) live(c echo.Context) error {
	return probeAnswer(c, http.StatusOK, "ok")
}

// ready answers 200 when the backend answers, and 503 when it does not. A
// storage.Checker is asked directly; any other backend must answer a Stat
// of a key that does not exist with ErrNotFound.
func (h *health) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), h.timeout)
	defer cancel()
	var err error
	if checker, ok := h.store.(storage.Checker); ok {
		err = checker.Check(ctx)
	} else if _, err = h.store.Stat(ctx, probeKey); errors.Is(err, storage.ErrNotFound) {
		err = nil
	}
	if err != nil {
		h.logger.LogAttrs(ctx, slog.LevelWarn, "backend not ready",
			slog.String("request_id", request.ID(c)), slog.String("error", err.Error()))
		return probeAnswer(c, http.StatusServiceUnavailable, "not ready")
	}
	return probeAnswer(c, http.StatusOK, "ready")
}

func probeAnswer(c echo.Context, status int, text string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set("Content-Type", "text/plain; charset=utf-8")
		return c.NoContent(status)
	}
	return c.String(status, text+"\n")
}
