package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ghevents/ghevents/internal/store"
)

// cacheControl lets caches keep a metric's answer but makes them ask again
// (with If-None-Match) before each use: answers change as events arrive.
const cacheControl = "no-cache"

// conditionalGet answers a metric request with an ETag, or 304 when the
// client's If-None-Match holds it already.
//
// The ETag is a digest of the server's version, the operation, its query
// (key) and the data version of the database that answers. A client that
// sends one is first checked against the current data version alone (one
// row): when the tag still matches, nothing else is read. Otherwise the
// answer is computed in one snapshot together with that snapshot's data
// version, so the tag names exactly the answer sent. A big answer is kept
// in the answer cache (cache.go) under its tag and sent again, without
// reading anything else, while the data version stays the same.
func conditionalGet[T any](s *Server, ctx context.Context, op, ifNoneMatch string, key []string,
	compute func(db *store.Store) (T, error)) (*metricOutput[T], error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	ck := answerKey(op, key)
	if ifNoneMatch != "" || s.answers.holds(ck) {
		v, err := s.cfg.Store.DataVersion(qctx)
		if err != nil {
			return nil, s.dbError(ctx, op, err)
		}
		tag := s.etag(v, op, key)
		if ifNoneMatch != "" && etagMatches(ifNoneMatch, tag) {
			return &metricOutput[T]{Status: http.StatusNotModified, ETag: tag, CacheControl: cacheControl}, nil
		}
		if body, ok := s.answers.get(ck, tag); ok {
			return &metricOutput[T]{Status: http.StatusOK, ETag: tag, CacheControl: cacheControl, Body: body.(*T)}, nil
		}
	}
	var body T
	v, err := s.cfg.Store.ReadSnapshot(qctx, func(db *store.Store) error {
		var err error
		body, err = compute(db)
		return err
	})
	if err != nil {
		var se huma.StatusError
		if errors.As(err, &se) {
			return nil, err // already the client's answer
		}
		return nil, s.dbError(ctx, op, err)
	}
	tag := s.etag(v, op, key)
	if ifNoneMatch != "" && etagMatches(ifNoneMatch, tag) {
		return &metricOutput[T]{Status: http.StatusNotModified, ETag: tag, CacheControl: cacheControl}, nil
	}
	s.answers.put(ck, tag, &body)
	return &metricOutput[T]{Status: http.StatusOK, ETag: tag, CacheControl: cacheControl, Body: &body}, nil
}

// etag is the weak validator of an answer: W/"<data version>-<digest>".
// Weak, because the same answer is sent gzip-compressed or not.
func (s *Server) etag(v store.DataVersion, op string, key []string) string {
	h := sha256.New()
	for _, part := range append([]string{s.cfg.Version, op, v.String()}, key...) {
		h.Write([]byte(strconv.Quote(part)))
	}
	return `W/"` + strconv.FormatInt(v.N, 10) + "-" + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110, 13.1.2):
// any listed tag equal to tag, ignoring W/, or *.
func etagMatches(ifNoneMatch, tag string) bool {
	want := strings.TrimPrefix(tag, "W/")
	for t := range strings.SplitSeq(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// notModifiedResponse documents the 304 of the metrics.
func notModifiedResponse() map[string]*huma.Response {
	return map[string]*huma.Response{
		"304": {
			Description: "Not Modified: the answer is still the one whose ETag was sent in If-None-Match; no body.",
			Headers: map[string]*huma.Header{
				"ETag":          {Description: "The ETag of the answer.", Schema: &huma.Schema{Type: huma.TypeString}},
				"Cache-Control": {Description: "no-cache, as on the 200.", Schema: &huma.Schema{Type: huma.TypeString}},
			},
		},
	}
}
