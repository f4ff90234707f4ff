package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/console"
	"github.com/sisimport/sisimport/internal/httpapi"
	"github.com/sisimport/sisimport/internal/importer"
	"github.com/sisimport/sisimport/internal/metrics"
	"github.com/sisimport/sisimport/internal/postgres"
	"github.com/sisimport/sisimport/internal/queue"
)

// serve wires the service in order — config, pool, metrics, workers, router,
// server — and shuts it down in reverse order when ctx ends.
func serve(ctx context.Context, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(environ)
	if err != nil {
		return err
	}
	return serveConfig(ctx, cfg, nil)
}

// serveConfig serves with cfg; ready, when set, is told the listener's
// address once it accepts connections.
func serveConfig(ctx context.Context, cfg config.Config, ready func(addr string)) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.Info("starting", slog.Any("config", cfg))
	db, err := postgres.Open(ctx, cfg.DatabaseURL, int32(4*cfg.Workers+16))
	if err != nil {
		return err
	}
	defer db.Close()
	m := metrics.New(db)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	return serveOn(ctx, cfg, log, db, m, ln)
}

// serveOn runs the configured halves on an open listener until ctx ends.
func serveOn(ctx context.Context, cfg config.Config, log *slog.Logger, db *pgxpool.Pool, m *metrics.Metrics, ln net.Listener) error {
	var wg sync.WaitGroup
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	if cfg.Role != config.RoleAPI {
		runner := &importer.Runner{DB: db, Log: log, Metrics: m, Lease: cfg.Lease, MaxUnzippedBytes: cfg.MaxUnzippedBytes,
			MaxZipRatio: cfg.MaxZipRatio, MaxFieldBytes: cfg.MaxFieldBytes, MaxColumns: cfg.MaxColumns, MaxRowsPerFile: cfg.MaxRowsPerFile,
			KeysInMemory: cfg.KeysInMemory}
		pool := &queue.Pool{DB: db, Log: log, Workers: cfg.Workers, Lease: cfg.Lease, Poll: cfg.Poll,
			Handle: runner.Handle, Busy: m.WorkersBusy.Add}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool.Run(ctx, workCtx)
		}()
		go queue.RunRetention(ctx, db, log, cfg.RetentionDays, cfg.HoldDays)
		go importer.RunScrubber(ctx, db, log)
	}

	// Workers serve /healthz, /readyz and /metrics too; the API only with the api half.
	api := httpapi.New(db, log, m, cfg.MaxUploadBytes, cfg.Role != config.RoleWorker)
	api.LimitRate(cfg.RateLimit, cfg.RateBurst)
	api.BoundCSV(cfg.MaxFieldBytes, cfg.MaxColumns, cfg.MaxRowsPerFile)
	api.BoundZip(cfg.MaxUnzippedBytes, cfg.MaxZipRatio)
	if cfg.Role != config.RoleWorker {
		api.MountConsole(console.New(db, log, api.Handler(), cfg.ConsoleSecureCookie)) // docs/console.md
	}
	if cfg.MetricsAddr != "" {
		api.MetricsElsewhere = true
		mux := http.NewServeMux()
		mux.Handle("/metrics", api.MetricsHandler())
		msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener failed", slog.String("addr", cfg.MetricsAddr), slog.Any("err", err))
			}
		}()
		defer msrv.Close()
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("role", string(cfg.Role)))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
	}
	log.Info("shutting down", slog.Duration("grace", cfg.ShutdownGrace))
	// Workers stopped claiming when ctx ended; running imports get the grace
	// period, counted from now, while the HTTP server drains beside them.
	grace := time.NewTimer(cfg.ShutdownGrace)
	defer grace.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), min(cfg.ShutdownGrace, 10*time.Second))
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close() // requests still running (a slow upload) are cut off
	}
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-grace.C:
		log.Warn("grace period over: handing running imports back to the queue")
		stopWork()
		<-done
	}
	log.Info("stopped")
	return nil
}
