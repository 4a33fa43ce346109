package api

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimitExempt are the paths no client limit applies to: the probes and
// the scrape of the operators' tools.
var rateLimitExempt = map[string]bool{"/healthz": true, "/readyz": true, "/internal/metrics": true}

// clientLimiter is one client's token bucket.
type clientLimiter struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

// clientLimits holds a token bucket per client IP address (the address of
// the TCP peer: X-Forwarded-For is not trusted, so behind a proxy every
// client is the proxy). Buckets idle for a few minutes are dropped, so the
// map stays as large as the set of recent clients.
type clientLimits struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	clients   map[string]*clientLimiter
	lastSweep time.Time
}

// idleAfter is how long a client's bucket is kept unused. A bucket idle
// that long is full again, so dropping it changes nothing.
const idleAfter = 3 * time.Minute

func newClientLimits(perSecond float64, burst int, now func() time.Time) *clientLimits {
	return &clientLimits{limit: rate.Limit(perSecond), burst: max(burst, 1), now: now, clients: map[string]*clientLimiter{}}
}

// allow takes a token from the client's bucket; when there is none it
// returns how long until there is one.
func (c *clientLimits) allow(r *http.Request) (ok bool, retryAfter time.Duration) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastSweep) > time.Minute {
		for k, cl := range c.clients {
			if now.Sub(cl.lastSeen) > idleAfter {
				delete(c.clients, k)
			}
		}
		c.lastSweep = now
	}
	cl := c.clients[host]
	if cl == nil {
		cl = &clientLimiter{lim: rate.NewLimiter(c.limit, c.burst)}
		c.clients[host] = cl
	}
	cl.lastSeen = now
	res := cl.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateLimited answers 429 problem+json with Retry-After (whole seconds,
// rounded up).
func (c *clientLimits) rateLimited(w http.ResponseWriter, retryAfter time.Duration) {
	secs := int(math.Ceil(retryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	writeProblem(w, http.StatusTooManyRequests, fmt.Sprintf(
		"more than %s requests a second (burst %d) from this client (HTTP_RATE_LIMIT); retry after the time in Retry-After",
		strconv.FormatFloat(float64(c.limit), 'f', -1, 64), c.burst))
}
