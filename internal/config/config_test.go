package config_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/config"
)

const dbURL = "DATABASE_URL=postgres://sis:hunter2@db.example:5432/sis?sslmode=disable"

// defaults is the configuration of an environment that sets only
// DATABASE_URL, as docs/configuration.md lists it.
func defaults() config.Config {
	return config.Config{
		DatabaseURL:      "postgres://sis:hunter2@db.example:5432/sis?sslmode=disable",
		Addr:             ":8080",
		Role:             config.RoleAll,
		Workers:          2,
		MaxUploadBytes:   1073741824,
		MaxUnzippedBytes: 10737418240,
		MaxZipRatio:      1000,
		MaxFieldBytes:    1048576,
		MaxColumns:       1000,
		MaxRowsPerFile:   20000000,
		KeysInMemory:     200000,
		RateLimit:        1000,
		RateBurst:        2000,
		LogLevel:         slog.LevelInfo,
		RetentionDays:    30,
		HoldDays:         7,
		Lease:            30 * time.Second,
		Poll:             2 * time.Second,
		ShutdownGrace:    30 * time.Second,
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	// Variables that are not the service's are none of its business.
	got, err := config.Load([]string{"HOME=/root", "PATH=/usr/bin:/bin", dbURL, "SISIMPORTER=1", "LANG"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got != defaults() {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, defaults())
	}
}

func TestLoadParsesEveryVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  string
		want func(*config.Config)
	}{
		{"SISIMPORT_ADDR=127.0.0.1:9000", func(c *config.Config) { c.Addr = "127.0.0.1:9000" }},
		{"SISIMPORT_METRICS_ADDR=:9100", func(c *config.Config) { c.MetricsAddr = ":9100" }},
		{"SISIMPORT_ROLE=all", func(c *config.Config) { c.Role = config.RoleAll }},
		{"SISIMPORT_ROLE=api", func(c *config.Config) { c.Role = config.RoleAPI }},
		{"SISIMPORT_ROLE=worker", func(c *config.Config) { c.Role = config.RoleWorker }},
		{"SISIMPORT_WORKERS=1", func(c *config.Config) { c.Workers = 1 }},
		{"SISIMPORT_WORKERS=1000", func(c *config.Config) { c.Workers = 1000 }},
		{"SISIMPORT_MAX_UPLOAD_BYTES=1", func(c *config.Config) { c.MaxUploadBytes = 1 }},
		{"SISIMPORT_MAX_UPLOAD_BYTES=5368709120", func(c *config.Config) { c.MaxUploadBytes = 5 << 30 }},
		{"SISIMPORT_MAX_UNZIPPED_BYTES=21474836480", func(c *config.Config) { c.MaxUnzippedBytes = 20 << 30 }},
		{"SISIMPORT_MAX_ZIP_RATIO=50", func(c *config.Config) { c.MaxZipRatio = 50 }},
		{"SISIMPORT_MAX_FIELD_BYTES=4096", func(c *config.Config) { c.MaxFieldBytes = 4096 }},
		{"SISIMPORT_MAX_COLUMNS=20", func(c *config.Config) { c.MaxColumns = 20 }},
		{"SISIMPORT_MAX_ROWS_PER_FILE=2147483647", func(c *config.Config) { c.MaxRowsPerFile = 1<<31 - 1 }},
		{"SISIMPORT_KEYS_IN_MEMORY=1", func(c *config.Config) { c.KeysInMemory = 1 }},
		{"SISIMPORT_RATE_LIMIT=0", func(c *config.Config) { c.RateLimit = 0 }},
		{"SISIMPORT_RATE_LIMIT=2.5", func(c *config.Config) { c.RateLimit = 2.5 }},
		{"SISIMPORT_RATE_BURST=10", func(c *config.Config) { c.RateBurst = 10 }},
		{"SISIMPORT_LOG_LEVEL=debug", func(c *config.Config) { c.LogLevel = slog.LevelDebug }},
		{"SISIMPORT_LOG_LEVEL=info", func(c *config.Config) { c.LogLevel = slog.LevelInfo }},
		{"SISIMPORT_LOG_LEVEL=warn", func(c *config.Config) { c.LogLevel = slog.LevelWarn }},
		{"SISIMPORT_LOG_LEVEL=error", func(c *config.Config) { c.LogLevel = slog.LevelError }},
		{"SISIMPORT_RETENTION_DAYS=90", func(c *config.Config) { c.RetentionDays = 90 }},
		{"SISIMPORT_HOLD_DAYS=1", func(c *config.Config) { c.HoldDays = 1 }},
		{"SISIMPORT_LEASE_SECONDS=5", func(c *config.Config) { c.Lease = 5 * time.Second }},
		{"SISIMPORT_LEASE_SECONDS=0.5", func(c *config.Config) { c.Lease = 500 * time.Millisecond }},
		{"SISIMPORT_POLL_SECONDS=0.2", func(c *config.Config) { c.Poll = 200 * time.Millisecond }},
		{"SISIMPORT_SHUTDOWN_GRACE_SECONDS=120", func(c *config.Config) { c.ShutdownGrace = 2 * time.Minute }},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			t.Parallel()
			got, err := config.Load([]string{dbURL, c.env})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := defaults()
			c.want(&want)
			if got != want {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadKeepsTheWholeDatabaseURL(t *testing.T) {
	t.Parallel()
	// The value holds "=" itself: only the first one ends the name.
	got, err := config.Load([]string{"DATABASE_URL=postgres://h/db?sslmode=disable&application_name=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	if got.DatabaseURL != "postgres://h/db?sslmode=disable&application_name=a=b" {
		t.Errorf("DatabaseURL = %q", got.DatabaseURL)
	}
}

// TestLoadStopsOnAnUnknownOrInvalidSetting: the program stops at start with
// a message naming the variable (docs/configuration.md).
func TestLoadStopsOnAnUnknownOrInvalidSetting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  []string
		name string // the variable the message must name
	}{
		{env: []string{}, name: "DATABASE_URL"},
		{env: []string{"DATABASE_URL="}, name: "DATABASE_URL"},
		{env: []string{"DATABASE_URL=postgres://%zz"}, name: "DATABASE_URL"},
		{env: []string{dbURL, "SISIMPORT_WORKER=3"}, name: "SISIMPORT_WORKER"},
		{env: []string{dbURL, "SISIMPORT_PROPERTY_SEED=1"}, name: "SISIMPORT_PROPERTY_SEED"},
		{env: []string{dbURL, "SISIMPORT_="}, name: "SISIMPORT_"},
		{env: []string{dbURL, "SISIMPORT_ROLE=both"}, name: "SISIMPORT_ROLE"},
		{env: []string{dbURL, "SISIMPORT_ROLE=API"}, name: "SISIMPORT_ROLE"},
		{env: []string{dbURL, "SISIMPORT_ROLE="}, name: "SISIMPORT_ROLE"},
		{env: []string{dbURL, "SISIMPORT_WORKERS=0"}, name: "SISIMPORT_WORKERS"},
		{env: []string{dbURL, "SISIMPORT_WORKERS=1001"}, name: "SISIMPORT_WORKERS"},
		{env: []string{dbURL, "SISIMPORT_WORKERS=two"}, name: "SISIMPORT_WORKERS"},
		{env: []string{dbURL, "SISIMPORT_WORKERS="}, name: "SISIMPORT_WORKERS"},
		{env: []string{dbURL, "SISIMPORT_WORKERS=2.0"}, name: "SISIMPORT_WORKERS"},
		{env: []string{dbURL, "SISIMPORT_MAX_UPLOAD_BYTES=0"}, name: "SISIMPORT_MAX_UPLOAD_BYTES"},
		{env: []string{dbURL, "SISIMPORT_MAX_UPLOAD_BYTES=1G"}, name: "SISIMPORT_MAX_UPLOAD_BYTES"},
		{env: []string{dbURL, "SISIMPORT_MAX_UPLOAD_BYTES=-1"}, name: "SISIMPORT_MAX_UPLOAD_BYTES"},
		{env: []string{dbURL, "SISIMPORT_MAX_UNZIPPED_BYTES=0"}, name: "SISIMPORT_MAX_UNZIPPED_BYTES"},
		{env: []string{dbURL, "SISIMPORT_MAX_ZIP_RATIO=0"}, name: "SISIMPORT_MAX_ZIP_RATIO"},
		{env: []string{dbURL, "SISIMPORT_MAX_FIELD_BYTES=0"}, name: "SISIMPORT_MAX_FIELD_BYTES"},
		{env: []string{dbURL, "SISIMPORT_MAX_COLUMNS=0"}, name: "SISIMPORT_MAX_COLUMNS"},
		{env: []string{dbURL, "SISIMPORT_MAX_ROWS_PER_FILE=2147483648"}, name: "SISIMPORT_MAX_ROWS_PER_FILE"},
		{env: []string{dbURL, "SISIMPORT_KEYS_IN_MEMORY=0"}, name: "SISIMPORT_KEYS_IN_MEMORY"},
		{env: []string{dbURL, "SISIMPORT_RATE_LIMIT=-1"}, name: "SISIMPORT_RATE_LIMIT"},
		{env: []string{dbURL, "SISIMPORT_RATE_LIMIT=fast"}, name: "SISIMPORT_RATE_LIMIT"},
		{env: []string{dbURL, "SISIMPORT_RATE_LIMIT=NaN"}, name: "SISIMPORT_RATE_LIMIT"},
		{env: []string{dbURL, "SISIMPORT_RATE_BURST=0"}, name: "SISIMPORT_RATE_BURST"},
		{env: []string{dbURL, "SISIMPORT_LOG_LEVEL=loud"}, name: "SISIMPORT_LOG_LEVEL"},
		{env: []string{dbURL, "SISIMPORT_LOG_LEVEL="}, name: "SISIMPORT_LOG_LEVEL"},
		{env: []string{dbURL, "SISIMPORT_RETENTION_DAYS=0"}, name: "SISIMPORT_RETENTION_DAYS"},
		{env: []string{dbURL, "SISIMPORT_HOLD_DAYS=0"}, name: "SISIMPORT_HOLD_DAYS"},
		{env: []string{dbURL, "SISIMPORT_HOLD_DAYS=100001"}, name: "SISIMPORT_HOLD_DAYS"},
		{env: []string{dbURL, "SISIMPORT_LEASE_SECONDS=0"}, name: "SISIMPORT_LEASE_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_LEASE_SECONDS=-5"}, name: "SISIMPORT_LEASE_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_LEASE_SECONDS=30s"}, name: "SISIMPORT_LEASE_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_LEASE_SECONDS=NaN"}, name: "SISIMPORT_LEASE_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_LEASE_SECONDS=Inf"}, name: "SISIMPORT_LEASE_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_LEASE_SECONDS=1e10"}, name: "SISIMPORT_LEASE_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_LEASE_SECONDS=1e-12"}, name: "SISIMPORT_LEASE_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_POLL_SECONDS=0"}, name: "SISIMPORT_POLL_SECONDS"},
		{env: []string{dbURL, "SISIMPORT_SHUTDOWN_GRACE_SECONDS=soon"}, name: "SISIMPORT_SHUTDOWN_GRACE_SECONDS"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.env, " "), func(t *testing.T) {
			t.Parallel()
			got, err := config.Load(c.env)
			if err == nil {
				t.Fatalf("Load accepted it: %+v", got)
			}
			if !strings.HasPrefix(err.Error(), c.name+":") && !strings.HasPrefix(err.Error(), c.name+"=") {
				t.Errorf("the message %q does not begin with the variable %s", err, c.name)
			}
		})
	}
}

// TestLoadNamesTheInvalidValue: the message quotes what was set, so an
// operator sees the typo.
func TestLoadNamesTheInvalidValue(t *testing.T) {
	t.Parallel()
	_, err := config.Load([]string{dbURL, "SISIMPORT_WORKERS=tow"})
	if err == nil || !strings.Contains(err.Error(), `SISIMPORT_WORKERS="tow"`) || !strings.Contains(err.Error(), "1 to 1000") {
		t.Errorf("error %v, want it to quote SISIMPORT_WORKERS=\"tow\" and the range 1 to 1000", err)
	}
}

// TestLogValueMasksThePassword: logging the configuration never shows the
// database password, and still shows where the database is.
func TestLogValueMasksThePassword(t *testing.T) {
	t.Parallel()
	c, err := config.Load([]string{dbURL})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", slog.Any("config", c))
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("the password is logged: %s", out)
	}
	if !strings.Contains(out, "sis:xxxxx@db.example:5432") {
		t.Errorf("the database's user and host are not logged: %s", out)
	}
}

// TestABadDatabaseURLIsNotRepeated: the message names the problem, never
// the URL, which holds the password.
func TestABadDatabaseURLIsNotRepeated(t *testing.T) {
	t.Parallel()
	_, err := config.Load([]string{"DATABASE_URL=postgres://sis:s3cret@%zz/db"})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.HasPrefix(err.Error(), "DATABASE_URL:") {
		t.Errorf("error %v: want one that names DATABASE_URL and not the password", err)
	}
}
