package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/model"
)

// TestAnswerCache: a big answer is sent again from the cache while the data
// version it was computed at is current, and computed afresh once events
// change; a small one is always computed. The summary the minute timeline
// reads is changed behind the triggers' back (no new data version), so an
// answer from the cache shows as the old one next to a server without a
// cache.
func TestAnswerCache(t *testing.T) {
	f := setup(t, handWorked)
	cached := httptest.NewServer(api.New(api.Config{Store: f.store, Now: func() time.Time { return now }, Version: "test", AnswerCacheBytes: 64 << 20}))
	defer cached.Close()
	// 2,001 minute buckets (the largest window of a minute bucket): well
	// over the smallest answer kept; the top repositories are small.
	const big = "/metrics/events-timeline?offset=120000&bucket=minute"
	const small = "/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1"
	fetch := func(base, path string) (string, string) {
		t.Helper()
		resp, body := do(t, http.MethodGet, base+path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		return string(body), resp.Header.Get("ETag")
	}
	bigBefore, bigTag := fetch(cached.URL, big)
	smallBefore, _ := fetch(cached.URL, small)
	if b, tag := fetch(f.srv.URL, big); b != bigBefore || tag != bigTag {
		t.Fatalf("the first answer differs from the server without a cache:\n%s\n%s", b, bigBefore)
	}
	if !strings.Contains(bigBefore, `{"start":"2024-06-01T11:59:00Z","total":2,"counts":{"PushEvent":1,"WatchEvent":1}}`) {
		t.Fatalf("the 11:59 bucket is not the hand-worked one: %s", bigBefore)
	}

	// Behind the triggers: 11:59 now holds 40 more PushEvents in the
	// minute summary, and ForkEvent one more repository.
	if _, err := f.pool.Exec(context.Background(), `UPDATE event_minute_counts SET events = events + 40 WHERE minute = '2024-06-01T11:59:00Z' AND type = 'PushEvent'`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(context.Background(), `UPDATE repo_type_counts SET events = events + 5 WHERE type = 'ForkEvent' AND repo_key = 'd/repo'`); err != nil {
		t.Fatal(err)
	}
	plainBig, _ := fetch(f.srv.URL, big)
	if !strings.Contains(plainBig, `{"start":"2024-06-01T11:59:00Z","total":42,"counts":{"PushEvent":41,"WatchEvent":1}}`) {
		t.Fatalf("the server without a cache does not read the changed summary: %s", plainBig)
	}
	if b, tag := fetch(cached.URL, big); b != bigBefore || tag != bigTag {
		t.Errorf("the big answer was computed again at the same data version:\n%s", b)
	}
	if b, _ := fetch(cached.URL, small); b == smallBefore || !strings.Contains(b, `"repository_name":"d/repo","events_count":6`) {
		t.Errorf("the small answer was not computed again: %s", b)
	}
	// A stale tag in If-None-Match gets the cached answer; the current one 304.
	resp, b := do(t, http.MethodGet, cached.URL+big, map[string]string{"If-None-Match": `W/"0-000000000000000000000000"`})
	if resp.StatusCode != http.StatusOK || string(b) != bigBefore {
		t.Errorf("with a stale tag: %d, the cached answer %v", resp.StatusCode, string(b) == bigBefore)
	}
	if resp, _ := do(t, http.MethodGet, cached.URL+big, map[string]string{"If-None-Match": bigTag}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("with the current tag: %d, want 304", resp.StatusCode)
	}

	// An event stored: a new data version, the answer computed afresh (and
	// the same as the server without a cache gives).
	if _, err := f.store.InsertEvents(context.Background(), []model.Event{
		{ID: 900, Type: "PushEvent", RepoID: 100, RepoName: "octo/hello", CreatedAt: at("11:59:30")},
	}); err != nil {
		t.Fatal(err)
	}
	after, afterTag := fetch(cached.URL, big)
	if afterTag == bigTag || !strings.Contains(after, `{"start":"2024-06-01T11:59:00Z","total":43,"counts":{"PushEvent":42,"WatchEvent":1}}`) {
		t.Errorf("after an insert: ETag %s (was %s), answer %s", afterTag, bigTag, after)
	}
	if plain, tag := fetch(f.srv.URL, big); plain != after || tag != afterTag {
		t.Errorf("after an insert the cached server answers otherwise than the plain one:\n%s\n%s", after, plain)
	}
	// The cached answer is the same plain as gzip-compressed (do's client
	// asks for gzip and decompresses when no Accept-Encoding is set).
	if resp, b := do(t, http.MethodGet, cached.URL+big, map[string]string{"Accept-Encoding": "identity"}); resp.Header.Get("Content-Encoding") != "" || string(b) != after {
		t.Errorf("the cached answer uncompressed (Content-Encoding %q) differs from the compressed one", resp.Header.Get("Content-Encoding"))
	}
}
