package api

import (
	"container/list"
	"strconv"
	"strings"
	"sync"
)

// The answer cache keeps the big metric answers (the 10,000-row export, a
// timeline of thousands of buckets) with the ETag they were computed
// under. The ETag names exactly one answer (etag.go: the server's version,
// the operation, its query and window, and the data version of the
// snapshot it was read in), so an entry is served again only while the
// data version it was computed at is still current, and is never stale:
// any write to events moves the version on.
//
// Only a query that has a big answer in the cache costs anything more: its
// data version is read first (one row), as for a conditional request.
// Every other answer is computed as before, with no extra read.

// cachedAnswer is an answer worth keeping: one that writes its own JSON
// (jsonenc.go) and knows about how large it is.
type cachedAnswer interface {
	jsonAppender
	// approxBytes is about the size of its JSON encoding.
	approxBytes() int
}

// minCachedBytes is the smallest answer kept: below it, computing the
// answer costs about what reading the data version does.
const minCachedBytes = 64 << 10

// answerCache holds the answers, the least recently used dropped first
// once they fill max bytes. Safe for concurrent use.
type answerCache struct {
	mu    sync.Mutex
	max   int
	size  int
	byKey map[string]*list.Element // of *answerEntry, by answerKey
	lru   *list.List               // most recently used first
}

type answerEntry struct {
	key, etag string
	body      any // *T of the operation, never changed once stored
	bytes     int
}

// newAnswerCache returns a cache of at most maxBytes (nil, no cache, when 0).
func newAnswerCache(maxBytes int) *answerCache {
	if maxBytes <= 0 {
		return nil
	}
	return &answerCache{max: maxBytes, byKey: map[string]*list.Element{}, lru: list.New()}
}

// answerKey names an operation's query (each part quoted, so no two
// queries share a key).
func answerKey(op string, key []string) string {
	var b strings.Builder
	b.WriteString(strconv.Quote(op))
	for _, k := range key {
		b.WriteString(strconv.Quote(k))
	}
	return b.String()
}

// holds says whether the cache has an answer for the query (at any data
// version): only then is the data version worth reading first.
func (c *answerCache) holds(key string) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byKey[key]
	return ok
}

// get returns the answer to the query stored under etag, if it is there.
func (c *answerCache) get(key, etag string) (any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok || el.Value.(*answerEntry).etag != etag {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*answerEntry).body, true
}

// put keeps body, the answer to the query under etag, when it is big
// enough to be worth it and fits; it replaces the query's older answer.
func (c *answerCache) put(key, etag string, body any) {
	if c == nil {
		return
	}
	a, ok := body.(cachedAnswer)
	if !ok {
		return
	}
	n := a.approxBytes()
	if n < minCachedBytes || n > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	c.byKey[key] = c.lru.PushFront(&answerEntry{key: key, etag: etag, body: body, bytes: n})
	c.size += n
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *answerCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*answerEntry)
	delete(c.byKey, e.key)
	c.size -= e.bytes
}

// approxBytes is about the size of the export's JSON: the fixed part and
// each repository's name and count.
func (m *MultipleEventsRepos) approxBytes() int {
	n := 256
	for _, r := range m.Repositories {
		n += len(r.RepositoryName) + 48
	}
	return n
}

// approxBytes is about the size of a timeline's JSON: each bucket's start
// and total, and each of its counts.
func (t *EventsTimeline) approxBytes() int {
	n := 256 + len(t.Bucket)
	for _, b := range t.Buckets {
		n += 64
		for typ := range b.Counts {
			n += len(typ) + 24
		}
	}
	return n
}
