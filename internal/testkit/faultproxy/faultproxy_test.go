package faultproxy_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/testkit/faultproxy"
)

// echo is a line echo server on loopback.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return line, err
}

func TestProxy(t *testing.T) {
	t.Parallel()
	px := faultproxy.New(t, echo(t))
	dial := func() net.Conn {
		c, err := net.Dial("tcp", px.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	c := dial()
	if got, err := roundTrip(c, "hello"); err != nil || got != "hello\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	// Cut: the open connection is reset, a new one is refused.
	px.Cut()
	if _, err := roundTrip(c, "again"); err == nil {
		t.Fatal("a cut connection still answered")
	}
	// The connection is accepted, then reset: dialling or the round trip fails.
	if c2, err := net.Dial("tcp", px.Addr()); err == nil {
		if _, err := roundTrip(c2, "new"); err == nil {
			t.Fatal("a connection made while cut answered")
		}
		c2.Close()
	}

	// Restore: new connections work.
	px.Restore()
	c = dial()
	if got, err := roundTrip(c, "back"); err != nil || got != "back\n" {
		t.Fatalf("after Restore: %q, %v", got, err)
	}

	// SetDelay: each chunk the client sends waits.
	px.SetDelay(200 * time.Millisecond)
	start := time.Now()
	if _, err := roundTrip(c, "slow"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("a delayed round trip took %v", d)
	}
	px.SetDelay(0)

	// CutEvery: the chunk that crosses the threshold is forwarded, then the
	// connection is cut; new connections are not refused.
	px.CutEvery(10, 0)
	if got, err := roundTrip(c, "12345"); err != nil || got != "12345\n" { // 6 bytes: below 10
		t.Fatalf("below the threshold: %q, %v", got, err)
	}
	_, _ = roundTrip(c, "67890") // 12 bytes: cut
	if _, err := roundTrip(c, "x"); err == nil {
		t.Fatal("the connection survived CutEvery")
	}
	px.CutEvery(0, 0)
	if got, err := roundTrip(dial(), "ok"); err != nil || got != "ok\n" {
		t.Fatalf("after CutEvery: %q, %v", got, err)
	}

	s := px.Stats()
	if s.Cuts != 2 || s.Accepted != 3 || s.Refused != 1 || s.Sent != 6+5+5+6+6+3 {
		t.Fatalf("stats %+v", s)
	}
}
