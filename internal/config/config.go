// Package config turns the process environment into one validated Config.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Role says which halves of the service a process runs.
type Role string

// The roles of SISIMPORT_ROLE.
const (
	RoleAll    Role = "all"
	RoleAPI    Role = "api"
	RoleWorker Role = "worker"
)

// Config is everything the service reads from its environment.
type Config struct {
	DatabaseURL string
	Addr        string
	// MetricsAddr, when set, serves /metrics on a listener of its own instead of Addr.
	MetricsAddr    string
	Role           Role
	Workers        int
	MaxUploadBytes int64
	// MaxUnzippedBytes bounds what the CSVs of a zip upload may add up to.
	MaxUnzippedBytes int64
	// MaxZipRatio bounds how many times its compressed size a zip member may
	// expand to (a zip bomb's ratio is in the thousands).
	MaxZipRatio int
	// MaxFieldBytes, MaxColumns and MaxRowsPerFile bound one CSV file.
	MaxFieldBytes  int
	MaxColumns     int
	MaxRowsPerFile int
	// KeysInMemory is how many keys (ids seen, logins claimed, a diffing
	// base's rows) one key set of an import keeps in memory; past it they
	// move to PostgreSQL, so an import's memory grows by 3 bytes a key
	// instead of about 35.
	KeysInMemory int
	// RateLimit is the requests per second a token may make on average, with
	// bursts of RateBurst; 0 turns rate limiting off.
	RateLimit     float64
	RateBurst     int
	LogLevel      slog.Level
	RetentionDays int
	HoldDays      int
	// Lease is how long a claimed import stays with its worker without a heartbeat.
	Lease time.Duration
	// Poll is how often idle workers look for work when no notification came.
	Poll time.Duration
	// ShutdownGrace is how long SIGTERM waits for running imports before handing them back.
	ShutdownGrace time.Duration
	// ConsoleSecureCookie marks the console's cookies Secure even when a
	// request did not come over TLS here: behind a proxy that ends TLS.
	ConsoleSecureCookie bool
}

// Load reads the configuration from getenv. Unknown SISIMPORT_ variables and
// invalid values are errors that name the variable.
func Load(environ []string) (Config, error) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	c := Config{
		DatabaseURL:      env["DATABASE_URL"],
		Addr:             ":8080",
		Role:             RoleAll,
		Workers:          2,
		MaxUploadBytes:   1 << 30,
		MaxUnzippedBytes: 10 << 30,
		MaxZipRatio:      1000,
		MaxFieldBytes:    1 << 20,
		MaxColumns:       1000,
		MaxRowsPerFile:   20_000_000,
		KeysInMemory:     200_000,
		RateLimit:        1000,
		RateBurst:        2000,
		LogLevel:         slog.LevelInfo,
		RetentionDays:    30,
		HoldDays:         7,
		Lease:            30 * time.Second,
		Poll:             2 * time.Second,
		ShutdownGrace:    30 * time.Second,
	}
	known := map[string]func(string) error{
		"SISIMPORT_ADDR":         func(v string) error { c.Addr = v; return nil },
		"SISIMPORT_METRICS_ADDR": func(v string) error { c.MetricsAddr = v; return nil },
		"SISIMPORT_ROLE": func(v string) error {
			switch r := Role(v); r {
			case RoleAll, RoleAPI, RoleWorker:
				c.Role = r
				return nil
			}
			return fmt.Errorf("want all, api or worker")
		},
		"SISIMPORT_WORKERS":            intVar(&c.Workers, 1, 1000),
		"SISIMPORT_MAX_UPLOAD_BYTES":   int64Var(&c.MaxUploadBytes),
		"SISIMPORT_MAX_UNZIPPED_BYTES": int64Var(&c.MaxUnzippedBytes),
		"SISIMPORT_MAX_ZIP_RATIO":      intVar(&c.MaxZipRatio, 1, 1<<30),
		"SISIMPORT_MAX_FIELD_BYTES":    intVar(&c.MaxFieldBytes, 1, 1<<30),
		"SISIMPORT_MAX_COLUMNS":        intVar(&c.MaxColumns, 1, 1<<20),
		"SISIMPORT_MAX_ROWS_PER_FILE":  intVar(&c.MaxRowsPerFile, 1, 1<<31-1),
		"SISIMPORT_KEYS_IN_MEMORY":     intVar(&c.KeysInMemory, 1, 1<<30),
		"SISIMPORT_RATE_LIMIT": func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f <= 1e9) { // NaN fails both
				return fmt.Errorf("want requests per second from 0 (no limit) to 1e9")
			}
			c.RateLimit = f
			return nil
		},
		"SISIMPORT_RATE_BURST": intVar(&c.RateBurst, 1, 1<<30),
		"SISIMPORT_CONSOLE_SECURE_COOKIE": func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			c.ConsoleSecureCookie = b
			return nil
		},
		"SISIMPORT_LOG_LEVEL": func(v string) error {
			return c.LogLevel.UnmarshalText([]byte(v))
		},
		"SISIMPORT_RETENTION_DAYS":         intVar(&c.RetentionDays, 1, 100000),
		"SISIMPORT_HOLD_DAYS":              intVar(&c.HoldDays, 1, 100000),
		"SISIMPORT_LEASE_SECONDS":          secondsVar(&c.Lease),
		"SISIMPORT_POLL_SECONDS":           secondsVar(&c.Poll),
		"SISIMPORT_SHUTDOWN_GRACE_SECONDS": secondsVar(&c.ShutdownGrace),
	}
	for k, v := range env {
		if !strings.HasPrefix(k, "SISIMPORT_") {
			continue
		}
		set, ok := known[k]
		if !ok {
			return c, fmt.Errorf("%s: unknown setting", k)
		}
		if err := set(v); err != nil {
			return c, fmt.Errorf("%s=%q: %w", k, v, err)
		}
	}
	if c.DatabaseURL == "" {
		return c, fmt.Errorf("DATABASE_URL: not set")
	}
	if _, err := url.Parse(c.DatabaseURL); err != nil {
		// url.Error repeats the whole URL, password and all: name only the problem.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return c, fmt.Errorf("DATABASE_URL: not a URL: %w", err)
	}
	return c, nil
}

// LogValue masks the database password when the config is logged.
func (c Config) LogValue() slog.Value {
	dsn := c.DatabaseURL
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		dsn = u.String()
	}
	return slog.GroupValue(
		slog.String("database_url", dsn), slog.String("addr", c.Addr),
		slog.String("role", string(c.Role)), slog.Int("workers", c.Workers),
		slog.Int64("max_upload_bytes", c.MaxUploadBytes), slog.Int64("max_unzipped_bytes", c.MaxUnzippedBytes),
		slog.Int("max_zip_ratio", c.MaxZipRatio), slog.Int("max_field_bytes", c.MaxFieldBytes), slog.Int("max_columns", c.MaxColumns),
		slog.Int("max_rows_per_file", c.MaxRowsPerFile), slog.Int("keys_in_memory", c.KeysInMemory), slog.Float64("rate_limit", c.RateLimit), slog.Int("rate_burst", c.RateBurst), slog.Bool("console_secure_cookie", c.ConsoleSecureCookie),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int("retention_days", c.RetentionDays), slog.Duration("lease", c.Lease),
		slog.Duration("poll", c.Poll), slog.Duration("shutdown_grace", c.ShutdownGrace),
	)
}

func intVar(p *int, min, max int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return fmt.Errorf("want an integer from %d to %d", min, max)
		}
		*p = n
		return nil
	}
}

func int64Var(p *int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("want a positive integer")
		}
		*p = n
		return nil
	}
}

// secondsVar reads a number of seconds, from a millisecond to a year: a
// zero lease would stop the workers' ticker, and NaN, Inf or 1e10 seconds
// would overflow a time.Duration.
func secondsVar(p *time.Duration) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0.001 && f <= 365*24*3600) { // NaN fails both
			return fmt.Errorf("want a number of seconds from 0.001 to 31536000")
		}
		*p = time.Duration(f * float64(time.Second))
		return nil
	}
}
