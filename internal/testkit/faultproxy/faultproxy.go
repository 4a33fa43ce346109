// Package faultproxy is a TCP proxy for fault-injection tests: it stands
// between a client (a pgx pool, a subprocess) and a server (PostgreSQL) on
// loopback, and can cut every connection through it (with a TCP reset, as
// a crashed server or a broken network does), refuse new ones for a while,
// cut them again after every so many bytes the client sent, and slow the
// client's traffic down.
//
//	px := faultproxy.New(t, "127.0.0.1:5432")
//	pool, _ := pgxpool.New(ctx, px.URL(dbURL))
//	px.Cut()     // every connection reset, new ones refused
//	px.Restore() // new connections go through again
package faultproxy

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards connections from its loopback address to a target.
type Proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	down      bool
	downUntil time.Time
	conns     map[net.Conn]bool
	cutEvery  int64
	cutFor    time.Duration
	nextCut   int64
	closed    bool
	wg        sync.WaitGroup
	delay     atomic.Int64 // nanoseconds added before each chunk the client sends
	sent      atomic.Int64 // bytes the clients sent
	cuts      atomic.Int64
	accepted  atomic.Int64
	refused   atomic.Int64
	liveConns atomic.Int64
}

// New starts a proxy to target (host:port) on 127.0.0.1, closed when the
// test ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Start starts a proxy to target on 127.0.0.1; Close stops it.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's address (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns the connection URL u (postgres://...) pointed at the proxy,
// with connect_timeout=2 so that a refused connection fails fast.
func (p *Proxy) URL(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", errors.New("faultproxy: not a URL")
	}
	pu.Host = p.Addr()
	q := pu.Query()
	q.Set("connect_timeout", "2")
	pu.RawQuery = q.Encode()
	return pu.String(), nil
}

// MustURL is URL for tests.
func (p *Proxy) MustURL(t testing.TB, u string) string {
	t.Helper()
	s, err := p.URL(u)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down && !p.downUntil.IsZero() && time.Now().After(p.downUntil) {
			p.down, p.downUntil = false, time.Time{}
		}
		if p.down || p.closed {
			p.mu.Unlock()
			p.refused.Add(1)
			reset(c)
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.mu.Unlock()
			p.refused.Add(1)
			reset(c)
			continue
		}
		p.accepted.Add(1)
		p.liveConns.Add(1)
		p.conns[c], p.conns[up] = true, true
		p.wg.Add(2)
		var once sync.Once
		done := func() {
			once.Do(func() {
				p.liveConns.Add(-1)
				p.mu.Lock()
				delete(p.conns, c)
				delete(p.conns, up)
				p.mu.Unlock()
			})
		}
		p.mu.Unlock()
		go func() { // client to server: counted, delayed, cut
			defer p.wg.Done()
			defer done()
			p.forward(up, c)
		}()
		go func() { // server to client
			defer p.wg.Done()
			defer done()
			_, _ = io.Copy(c, up)
			reset(c)
			_ = up.Close()
		}()
	}
}

// forward copies what the client sends to the server, chunk by chunk, so
// that each chunk can be delayed and counted towards CutEvery.
func (p *Proxy) forward(up, c net.Conn) {
	defer func() { reset(c); _ = up.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			// Counted before it is forwarded, so that whoever sees the
			// answer sees the count.
			total := p.sent.Add(int64(n))
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
			p.maybeCut(total)
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) maybeCut(total int64) {
	p.mu.Lock()
	if p.cutEvery <= 0 || total < p.nextCut {
		p.mu.Unlock()
		return
	}
	for p.nextCut <= total {
		p.nextCut += p.cutEvery
	}
	p.cutLocked(p.cutFor)
	p.mu.Unlock()
}

// cutLocked resets every connection and refuses new ones for d (0: until
// Restore; negative: not at all). p.mu is held.
func (p *Proxy) cutLocked(d time.Duration) {
	p.cuts.Add(1)
	for c := range p.conns {
		reset(c)
	}
	clear(p.conns)
	switch {
	case d < 0:
	case d == 0:
		p.down, p.downUntil = true, time.Time{}
	default:
		p.down, p.downUntil = true, time.Now().Add(d)
	}
}

// Cut resets every connection through the proxy and refuses new ones until
// Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked(0)
}

// Drop resets every connection through the proxy but lets new ones through
// at once: a blip, as when a server restarts quickly or a NAT forgets.
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked(-1)
}

// Restore lets new connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.downUntil = false, time.Time{}
}

// CutEvery cuts every connection each time the clients have sent n more
// bytes (from now), and refuses new connections for down after each cut
// (0: none refused). n <= 0 stops it.
func (p *Proxy) CutEvery(n int64, down time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutEvery, p.nextCut = n, p.sent.Load()+n
	p.cutFor = down
	if down == 0 {
		p.cutFor = -1
	}
}

// SetDelay holds each chunk a client sends for d before forwarding it
// (0: none), which makes every statement slow.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Stats are what went through the proxy so far.
type Stats struct {
	// Accepted and Refused count connections.
	Accepted, Refused int64
	// Live is how many connections are open through the proxy now.
	Live int64
	// Cuts counts Cut, Drop and CutEvery cuts.
	Cuts int64
	// Sent is how many bytes the clients sent.
	Sent int64
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{Accepted: p.accepted.Load(), Refused: p.refused.Load(), Live: p.liveConns.Load(),
		Cuts: p.cuts.Load(), Sent: p.sent.Load()}
}

// Close stops listening, resets every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		reset(c)
	}
	clear(p.conns)
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}

// reset closes c with a TCP reset (no lingering FIN), as a crash would.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
