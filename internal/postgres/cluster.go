package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Cluster is a private PostgreSQL server started with the machine's initdb
// and pg_ctl, listening on 127.0.0.1 only.
type Cluster struct {
	Dir  string // the data directory
	Port int
	bin  string
	as   string // the user the server runs as, when we run as root
}

// URL is the connection string of database name in the cluster.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

// StartCluster starts the cluster in dir, creating it with initdb when dir
// holds none. The server listens on a free 127.0.0.1 port. initdb refuses to
// run as root, so as root the cluster runs as the "postgres" user.
func StartCluster(dir string) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		// initdb refuses root: run the server as postgres, else as nobody.
		for _, name := range []string{"postgres", "nobody"} {
			if _, err := user.Lookup(name); err == nil {
				c.as = name
				break
			}
		}
		if c.as == "" {
			return nil, fmt.Errorf("running as root, PostgreSQL must run as another user, and neither postgres nor nobody exists: run as another user or create one (useradd -r postgres)")
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := c.chown(dir); err != nil {
		return nil, err
	}
	if err := c.reachable(dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if out, err := c.run("initdb", "-D", dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
			return nil, fmt.Errorf("initdb: %w\n%s", err, out)
		}
	}
	if c.Port, err = FreePort(); err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// Start starts the server of a cluster that Stop or Kill stopped, on the
// same port and data directory, and waits until it accepts connections.
func (c *Cluster) Start() error {
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB -c max_wal_size=4GB", c.Port, c.Dir)
	logFile := filepath.Join(c.Dir, "server.log")
	if out, err := c.run("pg_ctl", "-D", c.Dir, "-l", logFile, "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, tail(log, 2000))
	}
	return nil
}

// Stop shuts the server down (fast mode).
func (c *Cluster) Stop() error {
	if out, err := c.run("pg_ctl", "-D", c.Dir, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Kill stops the server at once, as a crash would (immediate mode).
func (c *Cluster) Kill() error {
	if out, err := c.run("pg_ctl", "-D", c.Dir, "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// chown gives dir and its parent chain's last element to the server's user.
func (c *Cluster) chown(dir string) error {
	if c.as == "" {
		return nil
	}
	u, err := user.Lookup(c.as)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// reachable lets the server's user pass through the directories above dir
// (a clone in a 0700 mktemp directory, say): as root, it adds the search
// bit for others — not the right to list — to those that lack it.
func (c *Cluster) reachable(dir string) error {
	if c.as == "" {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check %s: %w", p, err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("let the %s user reach %s: %w", c.as, dir, err)
			}
			fmt.Fprintf(os.Stderr, "postgres: added o+x to %s so that the %s user can reach %s\n", p, c.as, dir)
		}
		if p == "/" {
			return nil
		}
	}
}

// findBinaries looks for initdb on PATH, then in Debian's and other
// distributions' versioned directories, newest version first.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "pg_ctl")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin"} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's server binaries (initdb, pg_ctl) were not found on PATH or in /usr/lib/postgresql/*/bin: " +
		"install them (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server; macOS: brew install postgresql@15), " +
		"or set DATABASE_URL / TEST_DATABASE_URL to a server of your own")
}

func versionOf(dir string) int {
	for _, part := range strings.FieldsFunc(dir, func(r rune) bool { return r < '0' || r > '9' }) {
		if n, err := strconv.Atoi(part); err == nil {
			return n
		}
	}
	return 0
}

// FreePort is a TCP port on 127.0.0.1 that nothing listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
