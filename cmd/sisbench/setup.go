package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/postgres"
)

// buildService builds cmd/sisimport of the module sisbench runs in.
func buildService(ctx context.Context, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the service: %w", err)
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run sisbench inside the sisimport module (make bench)")
	}
	bin := filepath.Join(dir, "sisimport")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/sisimport")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sisimport: %w\n%s", err, out)
	}
	return bin, nil
}

// database is the PostgreSQL the benchmark uses.
type database struct {
	url     string
	cluster *postgres.Cluster // nil when DATABASE_URL was given
}

// openDatabase takes DATABASE_URL, or else starts a private cluster in
// dir/pg with a database sisbench.
func openDatabase(ctx context.Context, dir string) (*database, error) {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		step("using DATABASE_URL (it must be an empty database)")
		return &database{url: u}, nil
	}
	step("starting a private PostgreSQL")
	c, err := postgres.StartCluster(filepath.Join(dir, "pg"))
	if err != nil {
		return nil, err
	}
	db := &database{url: c.URL("sisbench"), cluster: c}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err == nil {
		_, err = conn.Exec(ctx, "CREATE DATABASE sisbench")
		conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		db.close()
		return nil, fmt.Errorf("create database sisbench: %w", err)
	}
	return db, nil
}

// close stops the private cluster, if sisbench started one.
func (d *database) close() {
	if d.cluster == nil {
		return
	}
	if err := d.cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "sisbench: stop the private PostgreSQL:", err)
	}
}

// pgPid is the postmaster's pid of the private cluster, 0 when unknown.
func (d *database) pgPid() int {
	if d.cluster == nil {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(d.cluster.Dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// childEnv is this process's environment with DATABASE_URL and the given
// variables replaced.
func childEnv(dbURL string, extra ...string) []string {
	set := append([]string{"DATABASE_URL=" + dbURL}, extra...)
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for _, s := range set {
			if strings.HasPrefix(s, k+"=") {
				replaced = true
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return append(env, set...)
}

// migrate runs `sisimport migrate up`.
func migrate(ctx context.Context, bin, dbURL string) error {
	_, err := runService(ctx, bin, dbURL, "migrate", "up")
	return err
}

// createToken creates an admin token for account 1; it returns the secret,
// the last line of the command's output.
func createToken(ctx context.Context, bin, dbURL string) (string, error) {
	out, err := runService(ctx, bin, dbURL, "tokens", "create", "--account", "1", "--role", "admin", "--name", "sisbench")
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := strings.TrimSpace(lines[len(lines)-1])
	if secret == "" {
		return "", errors.New("tokens create printed no secret")
	}
	return secret, nil
}

func runService(ctx context.Context, bin, dbURL string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv(dbURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("sisimport %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// server is the `sisimport serve` child process.
type server struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	err    error // the exit error, once exited is closed
}

// startServer starts `sisimport serve` on a free port and waits until
// /readyz answers 200. Its log (level warn) goes to stderr.
func startServer(ctx context.Context, bin, dbURL string) (*server, error) {
	port, err := postgres.FreePort()
	if err != nil {
		return nil, err
	}
	s := &server{addr: fmt.Sprintf("127.0.0.1:%d", port), exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = childEnv(dbURL, "SISIMPORT_ADDR="+s.addr, "SISIMPORT_LOG_LEVEL=warn")
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	// Its own process group: Ctrl-C reaches sisbench, which stops the server.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sisimport serve: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ready(ctx, "http://"+s.addr+"/readyz") {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("sisimport serve exited before it was ready: %v", s.err)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("sisimport serve: /readyz did not answer 200 within 30 s")
		}
	}
}

func ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports whether the server is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, and SIGKILL if the server has not exited 15 s later
// (a running import would otherwise get the service's whole grace period).
func (s *server) stop() {
	if !s.alive() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}
