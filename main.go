// Command kluis is a Solid pod server.
//
// It reads its settings from flags, each defaulting from a KLUIS_*
// environment variable (run kluis -h for the list), opens the storage
// backend, serves HTTP until SIGINT or SIGTERM, and then shuts down
// gracefully: the listener closes at once, and requests in flight get
// -shutdown-timeout to finish.
//
// Package main wires the parts together and holds no logic of its own;
// it is the only importer of server (and of its audiences' packages, for
// their settings). run reads as the program's table of contents: load the
// settings (config.go, config_hosting.go, config_tracing.go), open the
// storage (storage.go), listen (serve.go), build the server (build.go),
// serve and shut down (serve.go). The command line's commands are in
// cli*.go. The settings files refer to nothing in the others; those read
// the settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is the Kluis release, set by .ci/build with
// -ldflags "-X main.version=..."; a plain go build leaves "dev".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one stops the process at once.
		<-ctx.Done()
		stop()
	}()
	var err error
	if isCommand(os.Args[1:]) {
		// kluis account create, kluis pod list (cli.go).
		err = runCommand(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kluis: %v\n", err)
		var ce *configError
		if errors.As(err, &ce) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// configError is a configuration that cannot be used.
type configError struct {
	err error
}

func (e *configError) Error() string {
	return "invalid configuration:\n\t" + strings.ReplaceAll(e.err.Error(), "\n", "\n\t") +
		"\n(kluis -h lists the settings)"
}

func (e *configError) Unwrap() error { return e.err }

// run is the whole program: it loads the settings from args and getenv,
// serves until ctx is done, then shuts down gracefully and closes the
// backend. It prints a line with the URL it listens on to stdout once it
// accepts connections, and logs to stderr.
//
// When args start with a command (cli.go), run runs it instead, with no
// standard input.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if isCommand(args) {
		return runCommand(ctx, args, getenv, nil, stdout, stderr)
	}
	// kluis -version, kluis -healthcheck (hosting.go).
	if done, err := hostingCommand(ctx, args, getenv, stdout); done {
		return err
	}

	// 1. Load the settings (config.go, config_hosting.go, config_tracing.go).
	cfg, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stderr, getenv)
		return nil
	}
	if err != nil {
		return &configError{err: err}
	}
	logger := newLogger(cfg, stderr)
	logger.Info("starting Kluis", "version", version, "config", cfg)

	// 2. Open the storage (storage.go).
	store, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeBackend(store, logger)

	// 3. Listen, which settles the public base URL (serve.go).
	l, err := listen(ctx, cfg)
	if err != nil {
		return err
	}

	// 4. Build the server and what it runs on (build.go).
	b, err := build(ctx, cfg, l.baseURL, store, logger)
	if err != nil {
		l.ln.Close()
		return err
	}
	defer b.close()

	// 5. Serve until ctx is done, then shut down (serve.go).
	return serve(ctx, cfg, l, b, stdout, logger)
}

// newLogger builds the one logger of the process.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
