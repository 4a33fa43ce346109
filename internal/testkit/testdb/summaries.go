package testdb

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SummariesMatch compares every summary table with the same counts
// recomputed from events by plain GROUP BY queries. The summaries count an
// action under its stored key (migration 011: every stored action is its
// key, which this checks too), or, on a schema older than 011, under
// lower(action). A table the schema does not have (a database migrated
// down below it) is left out.
func SummariesMatch(t testing.TB, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	var keyed bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_constraint
		WHERE conrelid = 'events'::regclass AND conname = 'events_action_key')`).Scan(&keyed); err != nil {
		t.Fatal(err)
	}
	key := "coalesce(lower(action), '')"
	if keyed {
		key = "coalesce(action, '')"
		var notKeys int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE action <> lower(action COLLATE "C")`).Scan(&notKeys); err != nil {
			t.Fatal(err)
		}
		if notKeys != 0 {
			t.Errorf("%d stored actions are not their key", notKeys)
		}
	}
	// Each pair's newest event time and the one before it (NULL for one
	// event), as type|key|newest|second newest.
	const recency = `SELECT type || '|' || k || '|' || extract(epoch FROM max(at) FILTER (WHERE n = 1)) || '|' || coalesce(extract(epoch FROM max(at) FILTER (WHERE n = 2))::text, '-') FROM (
	   SELECT type, lower(repo_name) AS k, created_at AS at, row_number() OVER (PARTITION BY type, lower(repo_name) ORDER BY created_at DESC) AS n FROM events
	 ) e GROUP BY type, k ORDER BY 1`
	// column, when set, is a column of table the schema must have for the
	// pair to be compared.
	pairs := []struct{ name, column, summary, recomputed string }{
		{"event_type_counts", "",
			`SELECT type || '|' || action || '|' || events FROM event_type_counts ORDER BY 1`,
			`SELECT type || '|' || KEY || '|' || count(*) FROM events GROUP BY type, KEY ORDER BY 1`},
		{"event_hourly_counts", "",
			`SELECT extract(epoch FROM hour)::bigint || '|' || type || '|' || action || '|' || events FROM event_hourly_counts ORDER BY 1`,
			`SELECT h || '|' || type || '|' || a || '|' || count(*) FROM (
			   SELECT extract(epoch FROM date_trunc('hour', created_at, 'UTC'))::bigint AS h, type, KEY AS a FROM events
			 ) e GROUP BY h, type, a ORDER BY 1`},
		{"event_minute_counts", "",
			`SELECT extract(epoch FROM minute)::bigint || '|' || type || '|' || events FROM event_minute_counts ORDER BY 1`,
			`SELECT m || '|' || type || '|' || count(*) FROM (
			   SELECT extract(epoch FROM date_trunc('minute', created_at AT TIME ZONE 'UTC'))::bigint AS m, type FROM events
			 ) e GROUP BY m, type ORDER BY 1`},
		{"repo_recent_events", "",
			`SELECT type || '|' || repo_key || '|' || extract(epoch FROM last_at) || '|' || coalesce(extract(epoch FROM prev_at)::text, '-') FROM repo_recent_events ORDER BY 1`,
			recency},
		// Since 014 the two newest times are name_seen_at and prev_at of
		// repo_type_counts.
		{"repo_type_counts", "prev_at",
			`SELECT type || '|' || repo_key || '|' || extract(epoch FROM name_seen_at) || '|' || coalesce(extract(epoch FROM prev_at)::text, '-') FROM repo_type_counts ORDER BY 1`,
			recency},
		{"repo_count_histogram", "",
			`SELECT type || '|' || events || '|' || repos FROM repo_count_histogram ORDER BY 1`,
			`SELECT type || '|' || n || '|' || count(*) FROM (SELECT type, lower(repo_name), count(*) AS n FROM events GROUP BY 1, 2) r
			 GROUP BY type, n ORDER BY 1`},
		{"repo_type_counts", "",
			`SELECT type || '|' || repo_key || '|' || events FROM repo_type_counts ORDER BY 1`,
			`SELECT type || '|' || lower(repo_name) || '|' || count(*) FROM events GROUP BY type, lower(repo_name) ORDER BY 1`},
	}
	for _, p := range pairs {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1::text) IS NOT NULL AND ($2::text = '' OR EXISTS (
			SELECT FROM pg_attribute WHERE attrelid = to_regclass($1::text) AND attname = $2::text AND NOT attisdropped))`, p.name, p.column).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			continue
		}
		a, b := rows(t, ctx, pool, p.summary), rows(t, ctx, pool, strings.ReplaceAll(p.recomputed, "KEY", key))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s %s differs from events:\n summary    %v\n recomputed %v", p.name, p.column, a, b)
		}
	}
}

// rows runs sql, whose rows are one text column each.
func rows(t testing.TB, ctx context.Context, pool *pgxpool.Pool, sql string) []string {
	t.Helper()
	rs, err := pool.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
