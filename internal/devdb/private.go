package devdb

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Database is the name of the database ghevents creates in its private
// cluster.
const Database = "ghevents"

// DefaultDataDir is where the private cluster lives when DATA_DIR is not
// set: .data in the folder ghevents runs in (the clone, for `make run`).
const DefaultDataDir = ".data"

// PrivateConfig says where ghevents' own cluster lives.
type PrivateConfig struct {
	// DataDir is the folder of the cluster, DataDir/postgres ("":
	// DefaultDataDir).
	DataDir string
	// Chosen says the user chose DataDir (set DATA_DIR): it is never moved.
	Chosen bool
	// Homes are folders of ghevents' own where the cluster of a DataDir not
	// chosen is kept instead when the user PostgreSQL runs as cannot enter
	// a folder above DataDir (run as root in a home folder of mode 0700):
	// Homes[i]/<key>/postgres, key a digest of DataDir's absolute path, so
	// each clone has its own and finds it again. nil: /var/lib/ghevents,
	// then /var/tmp/ghevents.
	Homes []string
	// Log receives where the cluster is and what is done (nil: discarded).
	Log *slog.Logger
}

func defaultHomes() []string { return []string{"/var/lib/ghevents", "/var/tmp/ghevents"} }

// StartPrivate starts ghevents' private cluster, as StartCluster does, and
// creates the ghevents database in it; URL(Database) connects to it.
//
// Where: DataDir/postgres, except that the cluster of a DataDir not chosen
// is kept in one of Homes when the user PostgreSQL runs as cannot reach
// DataDir (logged, and reused on every later start from the same folder).
// A DataDir the user set is never moved: if it cannot be reached, the
// error says so.
func StartPrivate(ctx context.Context, cfg PrivateConfig) (*Cluster, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := privateDir(cfg, log)
	if err != nil {
		return nil, err
	}
	c, err := StartCluster(ctx, Config{Dir: dir, Log: log, Settings: BigStoreSettings(memTotal())})
	if err != nil {
		return nil, err
	}
	if err := c.CreateDatabase(ctx, Database); err != nil {
		_ = c.Stop(context.WithoutCancel(ctx)) // the first error is the one to report
		return nil, err
	}
	log.Info("using private PostgreSQL cluster", slog.String("dir", c.dir), slog.Int("port", c.port),
		slog.String("database", Database), slog.Bool("started_here", c.started))
	return c, nil
}

// BigStoreSettings are the server settings of ghevents' private cluster,
// for a machine with mem bytes of memory (0: unknown). PostgreSQL's
// defaults are sized for a small machine: with 128 MB of shared buffers
// and a checkpoint at every 1 GB of WAL, an import into a store of
// millions of events checkpointed every 3 seconds and wrote each page it
// touched whole into the WAL again (20 KB of WAL per event; BENCHMARKS.md,
// "Server settings"):
//   - shared_buffers: a quarter of the memory (PostgreSQL's own advice),
//     at least 128 MB and at most 8 GB;
//   - max_wal_size 8 GB and checkpoint_timeout 15 min: checkpoints far
//     apart, so a page written often is written whole once per checkpoint;
//   - wal_compression lz4: the full pages that are written are compressed.
//
// docker-compose.yml gives its server the same, with 1 GB of buffers.
func BigStoreSettings(mem int64) []string {
	const mb = 1 << 20
	buffers := min(max(mem/4, 128*mb), 8192*mb) / mb
	return []string{
		fmt.Sprintf("shared_buffers=%dMB", buffers),
		"max_wal_size=8GB",
		"checkpoint_timeout=15min",
		"wal_compression=lz4",
	}
}

// memTotal is the machine's memory in bytes from /proc/meminfo (Linux), 0
// where it cannot be read.
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest) // "24521124 kB"
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// privateDir chooses the cluster's folder (see StartPrivate).
func privateDir(cfg PrivateConfig, log *slog.Logger) (string, error) {
	dataDir, err := filepath.Abs(cmp.Or(cfg.DataDir, DefaultDataDir))
	if err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	home := filepath.Join(dataDir, "postgres")
	if cfg.Chosen || exists(home) {
		return home, nil // the user's choice, or where it has always been
	}
	homes := cfg.Homes
	if homes == nil {
		homes = defaultHomes()
	}
	key := keyOf(dataDir)
	reach := Reachable(home)
	var unreachable *UnreachableError
	for _, h := range homes {
		if d := filepath.Join(h, key, "postgres"); exists(d) {
			log.Info("the private PostgreSQL cluster of this folder is kept in a folder of ghevents' own",
				slog.String("data_dir", dataDir), slog.String("dir", d), slog.String("why", whyMoved(reach)))
			return d, nil
		}
	}
	if !errors.As(reach, &unreachable) {
		return home, reach // reachable (nil), or an error of another kind
	}
	var refused []string
	for _, h := range homes {
		d, err := prepareHome(h, key, dataDir)
		if err == nil {
			err = Reachable(d)
		}
		if err != nil {
			refused = append(refused, err.Error())
			continue
		}
		log.Info("the private PostgreSQL cluster of this folder is kept in a folder of ghevents' own instead "+
			"(reused on the next start; set DATA_DIR to choose another)",
			slog.String("data_dir", dataDir), slog.String("dir", d), slog.String("why", whyMoved(reach)))
		return d, nil
	}
	return "", fmt.Errorf("%w; and no folder of ghevents' own could hold it instead: %s", unreachable, strings.Join(refused, "; "))
}

func whyMoved(reach error) string {
	var u *UnreachableError
	if errors.As(reach, &u) {
		return "the user PostgreSQL runs as (postgres) cannot enter " + u.Blocked
	}
	return "it was made there when this folder could not be reached by the user PostgreSQL runs as"
}

// keyOf names the folder of dataDir's cluster in a home: a digest of its
// absolute path.
func keyOf(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return hex.EncodeToString(sum[:8])
}

// prepareHome makes home/key for the cluster of dataDir and returns
// home/key/postgres. home must be ours alone (a folder of /var/tmp could
// have been made by anyone), and home/key/origin says whose cluster it is.
func prepareHome(home, key, dataDir string) (string, error) {
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	st, err := os.Lstat(home)
	if err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("private PostgreSQL: %s is not a folder of ours alone (owner, mode %v): not using it", home, st.Mode())
	}
	dir := filepath.Join(home, key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	origin := "the private PostgreSQL cluster of ghevents for DATA_DIR " + dataDir + "\n"
	if err := os.WriteFile(filepath.Join(dir, "origin"), []byte(origin), 0o644); err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	return filepath.Join(dir, "postgres"), nil
}
