package api

import (
	"strings"
	"testing"
)

// bigRepos is an export of about n bytes of JSON.
func bigRepos(n int) *MultipleEventsRepos {
	name := strings.Repeat("r", 52) // 52 + 48 bytes a repository
	m := &MultipleEventsRepos{EventType: "PushEvent"}
	for range (n - 256) / 100 {
		m.Repositories = append(m.Repositories, RepoEvents{RepositoryName: name, EventsCount: 1})
	}
	return m
}

func TestAnswerCacheBounds(t *testing.T) {
	t.Parallel()
	if c := newAnswerCache(0); c != nil || c.holds("k") {
		t.Fatal("a cache of 0 bytes is not off")
	}
	var off *answerCache
	off.put("k", "t", bigRepos(100<<10)) // no cache: nothing kept, no panic
	if _, ok := off.get("k", "t"); ok {
		t.Fatal("no cache answered")
	}

	c := newAnswerCache(1 << 20)
	a, b, d := bigRepos(250<<10), bigRepos(250<<10), bigRepos(250<<10)
	if n := a.approxBytes(); n < 249<<10 || n > 251<<10 {
		t.Fatalf("approxBytes %d, want about 250 KiB", n)
	}
	c.put("small", "t1", bigRepos(10<<10)) // under minCachedBytes
	c.put("huge", "t1", bigRepos(300<<10)) // over a quarter of the cache
	c.put("avg", "t1", &EventAvgTime{})    // writes no JSON of its own
	if c.holds("small") || c.holds("huge") || c.holds("avg") {
		t.Fatal("kept an answer too small, too big or of another kind")
	}
	c.put("a", "t1", a)
	c.put("b", "t1", b)
	if got, ok := c.get("a", "t1"); !ok || got != a {
		t.Fatal("a is not served")
	}
	if _, ok := c.get("a", "t2"); ok {
		t.Fatal("a served under another ETag (data version)")
	}
	// A newer answer to the query replaces the older one.
	c.put("b", "t2", d)
	if got, ok := c.get("b", "t2"); !ok || got != d {
		t.Fatal("b's newer answer is not served")
	}
	if _, ok := c.get("b", "t1"); ok {
		t.Fatal("b's older answer is still served")
	}
	// Over 1 MiB, the least recently used go first: b (used after a) stays.
	c.get("a", "t1")
	c.get("b", "t2")
	for _, k := range []string{"c", "e", "f"} {
		c.put(k, "t1", bigRepos(250<<10))
	}
	if c.holds("a") || !c.holds("b") || !c.holds("f") || c.size > c.max {
		t.Fatalf("after filling: a %v b %v f %v, %d of %d bytes", c.holds("a"), c.holds("b"), c.holds("f"), c.size, c.max)
	}
	if len(c.byKey) != c.lru.Len() {
		t.Fatalf("%d keys, %d entries", len(c.byKey), c.lru.Len())
	}
}

func TestAnswerKeyDistinguishesParts(t *testing.T) {
	t.Parallel()
	if answerKey("op", []string{"a", "b"}) == answerKey("op", []string{"ab"}) || answerKey("op", []string{"a"}) == answerKey("opa", nil) {
		t.Fatal("two queries share a key")
	}
}
