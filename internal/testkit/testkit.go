// Package testkit is the tooling of ghevents' tests and benchmarks, kept
// apart from the service's packages: nothing outside _test.go files and
// cmd/ghevents-gen imports it. This package holds the small helpers many
// tests share; its sub-packages are the larger tools:
//
//   - testdb: a fresh migrated database per test (template clone)
//   - githubtest: a fake GitHub Events API (recorded pages, headers, faults)
//   - faultproxy: a TCP proxy that cuts, refuses and slows connections
//   - gen: a deterministic generator of realistic events and GH Archive files
//   - bench: the end-to-end benchmarks and the soak (make bench, make soak)
package testkit

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent writers: a subprocess's
// output, or a logger shared by goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor checks cond every 10 ms until it holds, and fails t (naming
// what) when it still does not after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreeAddr is a loopback address ("127.0.0.1:port") whose port was free a
// moment ago: for a server started in another process, or for an address
// nothing listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
