package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/store"
)

func BenchmarkZZProfile(b *testing.B) {
	u := os.Getenv("ZZ_DB")
	s, err := store.Open(context.Background(), u, store.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: time.Now, Version: "test"}))
	defer srv.Close()
	c := &http.Client{}
	path := os.Getenv("ZZ_PATH")
	b.ResetTimer()
	for range b.N {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}
