package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

// hostile are filter values that would do harm if they reached SQL as text:
// quotes, comments, statement separators, LIKE wildcards, casts,
// placeholders, backslashes, control characters, Unicode tricks, a very
// long value.
var hostile = []string{
	`'`, `''`, `"`, `\`, `\'`, `;`, `--`, `/*`, `*/`, `%`, `_`, `*`, `$1`, `?`, `::text`,
	`' OR '1'='1`, `' OR 1=1 --`, `x' OR repo_key LIKE '%`, `'; DROP TABLE events; --`,
	`octo/hello' --`, `octo/hello'; DELETE FROM events; --`, `octo/%`, `octo/hell_`, `OCTO/HELLO%`,
	`$$; DROP TABLE events; $$`, `E'\x27'`, `octo/hello\`, `octo\/hello`, "octo/hello\n", " octo/hello",
	"octo/hello\u200b", "\u202eolleh/otco", "ｏｃｔｏ/hello", "octo/hello\t", "\u00e9/\u00e8",
	"<script>alert(1)</script>", "../../etc/passwd", strings.Repeat("a", 100_000) + "/b", strings.Repeat("'", 5000),
}

// stored are the events of the injection tests: ordinary ones, and
// repositories and actions whose names are hostile themselves (GitHub
// would not allow them, but the store must not care).
var stored = []model.Event{
	{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "octo/hello", CreatedAt: ts("2024-06-01T10:00:00Z")},
	{ID: 2, Type: "PushEvent", RepoID: 1, RepoName: "Octo/Hello", CreatedAt: ts("2024-06-01T10:01:00Z")},
	{ID: 3, Type: "IssuesEvent", RepoID: 1, RepoName: "octo/hello", Action: "opened", CreatedAt: ts("2024-06-01T10:02:00Z")},
	{ID: 4, Type: "PushEvent", RepoID: 2, RepoName: "o'brien/x", CreatedAt: ts("2024-06-01T10:03:00Z")},
	{ID: 5, Type: "PushEvent", RepoID: 3, RepoName: "evil/'; DROP TABLE events; --", CreatedAt: ts("2024-06-01T10:04:00Z")},
	{ID: 6, Type: "PushEvent", RepoID: 4, RepoName: "a/%", CreatedAt: ts("2024-06-01T10:05:00Z")},
	{ID: 7, Type: "PushEvent", RepoID: 5, RepoName: "a/_", CreatedAt: ts("2024-06-01T10:06:00Z")},
	{ID: 8, Type: "IssuesEvent", RepoID: 6, RepoName: `back\slash/x`, Action: "' OR '1'='1", CreatedAt: ts("2024-06-01T10:07:00Z")},
	{ID: 9, Type: "'; DROP TABLE events; --", RepoID: 7, RepoName: "\u00e9/\u00e8", CreatedAt: ts("2024-06-01T10:08:00Z")},
	{ID: 10, Type: "WatchEvent", RepoID: 8, RepoName: "<script>alert(1)</script>", Action: "started", CreatedAt: ts("2024-06-01T10:09:00Z")},
}

// snapshot is what the database holds, to check that nothing changed.
func snapshot(t *testing.T, ctx context.Context, pool *pgxpool.Pool) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'`,
		`SELECT string_agg(format('%s|%s|%s|%s|%s', id, type, repo_name, coalesce(action, ''), created_at), E'\n' ORDER BY id) FROM events`,
		`SELECT string_agg(format('%s|%s|%s', type, action, events), E'\n' ORDER BY type, action) FROM event_type_counts`,
		`SELECT string_agg(format('%s|%s|%s', repo_key, type, events), E'\n' ORDER BY repo_key, type) FROM repo_type_counts`,
	} {
		var s *string
		if err := pool.QueryRow(ctx, q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s != nil {
			b.WriteString(*s)
		}
		b.WriteString("\n--\n")
	}
	return b.String()
}

// asciiLower lowercases A-Z only: the expectation for ASCII names, worked
// out without PostgreSQL's lower().
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// expectCount counts the stored events of typ (any type when anyType)
// whose repository and action match (an empty filter matches all),
// compared as GitHub does (ASCII case).
func expectCount(typ string, anyType bool, repo, action string) int64 {
	var n int64
	for _, e := range stored {
		if (anyType || e.Type == typ) && (repo == "" || asciiLower(e.RepoName) == asciiLower(repo)) &&
			(action == "" || asciiLower(e.Action) == asciiLower(action)) {
			n++
		}
	}
	return n
}

// expectRepos counts the repositories (ASCII case folded) with more than
// min stored events of typ.
func expectRepos(typ string, min int64) int64 {
	per := map[string]int64{}
	for _, e := range stored {
		if e.Type == typ {
			per[asciiLower(e.RepoName)]++
		}
	}
	var n int64
	for _, c := range per {
		if c > min {
			n++
		}
	}
	return n
}

// refusedText reports whether err is PostgreSQL refusing a text parameter
// it cannot hold (SQLSTATE 22021: a NUL byte or invalid UTF-8).
func refusedText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.CharacterNotInRepertoire
}

// Every hostile value goes through every filter of every metric query, as
// a repository, an action and an event type. Each answer is the exact one
// worked out in Go (none of them matches, but the names stored that way
// match themselves and only themselves); values PostgreSQL text cannot
// hold (NUL, invalid UTF-8) are refused with SQLSTATE 22021; and the
// tables, their rows and the summaries are the same afterwards.
func TestHostileFilters(t *testing.T) {
	s, ctx := setup(t)
	if _, err := s.InsertEvents(ctx, stored); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, ctx, s.Pool())
	since := ts("2024-01-01T00:00:00Z")

	values := slices.Clone(hostile)
	for _, e := range stored {
		values = append(values, e.RepoName, e.Type)
		if e.Action != "" {
			values = append(values, e.Action)
		}
	}
	checked := 0
	for _, v := range values {
		for _, f := range []store.EventFilter{
			{EventType: "PushEvent", RepoName: v},
			{EventType: "IssuesEvent", Action: v},
			{EventType: "IssuesEvent", RepoName: v, Action: v},
			{EventType: v},
			{EventType: v, RepoName: v},
		} {
			span, err := s.EventSpan(ctx, f)
			if err != nil {
				t.Fatalf("EventSpan(%.80q): %v", f, err)
			}
			if want := expectCount(f.EventType, false, f.RepoName, f.Action); span.Count != want || (want == 0) != (span.Oldest == nil) {
				t.Fatalf("EventSpan(%.80q): %d events, oldest %v; want %d", f, span.Count, span.Oldest, want)
			}
			gaps, err := s.EventGaps(ctx, f, 100)
			if err != nil {
				t.Fatalf("EventGaps(%.80q): %v", f, err)
			}
			if want := max(expectCount(f.EventType, false, f.RepoName, f.Action)-1, 0); int64(len(gaps)) != want {
				t.Fatalf("EventGaps(%.80q): %d gaps, want %d", f, len(gaps), want)
			}
			checked += 2
		}
		for _, rf := range [][2]string{{v, ""}, {"", v}, {v, v}} {
			tc, err := s.CountsSince(ctx, since, rf[0], rf[1])
			if err != nil {
				t.Fatalf("CountsSince(repo %.80q, action %.80q): %v", rf[0], rf[1], err)
			}
			if want := expectCount("", true, rf[0], rf[1]); tc.Total != want {
				t.Fatalf("CountsSince(repo %.80q, action %.80q): %d, want %d", rf[0], rf[1], tc.Total, want)
			}
			checked++
		}
		total, repos, err := s.TopRepos(ctx, v, 1, 10)
		if err != nil {
			t.Fatalf("TopRepos(%.80q): %v", v, err)
		}
		if want := expectRepos(v, 1); total != want || int64(len(repos)) != want {
			t.Fatalf("TopRepos(%.80q): %d repositories (%d listed), want %d", v, total, len(repos), want)
		}
		checked++
	}

	// What PostgreSQL text cannot hold is refused as a parameter, cleanly.
	for _, v := range []string{"octo/hello\x00", "\x00", "octo/\xff\xfe", "'\x00; DROP TABLE events; --"} {
		if _, err := s.EventSpan(ctx, store.EventFilter{EventType: "PushEvent", RepoName: v}); !refusedText(err) {
			t.Fatalf("EventSpan(repo %q): %v, want SQLSTATE 22021", v, err)
		}
		if _, err := s.CountsSince(ctx, since, "", v); !refusedText(err) {
			t.Fatalf("CountsSince(action %q): %v, want SQLSTATE 22021", v, err)
		}
		if _, _, err := s.TopRepos(ctx, v, 1, 10); !refusedText(err) {
			t.Fatalf("TopRepos(%q): %v, want SQLSTATE 22021", v, err)
		}
		checked += 3
	}

	if after := snapshot(t, ctx, s.Pool()); after != before {
		t.Fatalf("the database changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	t.Logf("%d queries with hostile values, database unchanged", checked)

	// The hostile names stored are found by themselves, exactly.
	for _, c := range []struct {
		typ, repo, action string
		want              int64
	}{
		{"PushEvent", "evil/'; DROP TABLE events; --", "", 1},
		{"PushEvent", "a/%", "", 1},
		{"PushEvent", "a/_", "", 1},
		{"PushEvent", "A/%", "", 1},
		{"PushEvent", "O'Brien/X", "", 1},
		{"IssuesEvent", `back\slash/x`, "' or '1'='1", 1},
		{"'; DROP TABLE events; --", "\u00e9/\u00e8", "", 1},
		{"PushEvent", "OCTO/HELLO", "", 2},
	} {
		span, err := s.EventSpan(ctx, store.EventFilter{EventType: c.typ, RepoName: c.repo, Action: c.action})
		if err != nil || span.Count != c.want {
			t.Fatalf("EventSpan(%q, %q, %q) = %d, %v; want %d", c.typ, c.repo, c.action, span.Count, err, c.want)
		}
	}
}
