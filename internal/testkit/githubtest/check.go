package githubtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier is what StoredIdentities reads through: a pgx pool or connection.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// StoredIdentities reads the identities of the events table, with the
// number of rows holding each, and the row count: what the tests hold
// against Identities of the pages served.
func StoredIdentities(t testing.TB, db Querier) (counts map[Identity]int, rows int) {
	t.Helper()
	r, err := db.Query(context.Background(),
		`SELECT id::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	counts = map[Identity]int{}
	for r.Next() {
		var id Identity
		if err := r.Scan(&id.ID, &id.CreatedAt); err != nil {
			t.Fatal(err)
		}
		counts[id]++
		rows++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return counts, rows
}

// Compare counts the identities served (want) that are not stored (got,
// from StoredIdentities), and those stored that were not served.
func Compare(want map[Identity]bool, got map[Identity]int) (missing, extra int) {
	for id := range want {
		if got[id] == 0 {
			missing++
		}
	}
	for id := range got {
		if !want[id] {
			extra++
		}
	}
	return missing, extra
}

// Round is one polling round as the fake GitHub saw it: from the request
// for the first page to the answer of the last page before the next round.
type Round struct {
	// Poller is the User-Agent without its "ghevents/" prefix.
	Poller     string
	Start, End time.Time
}

// Rounds groups requests (Server.Requests) into rounds per poller.
func Rounds(reqs []Request) []Round {
	var out []Round
	open := map[string]int{} // poller -> index of its current round in out
	for _, r := range reqs {
		who := strings.TrimPrefix(r.Header.Get("User-Agent"), "ghevents/")
		end := r.Answered
		if end.IsZero() {
			end = r.Received
		}
		if i, ok := open[who]; ok && r.Page > 1 {
			if end.After(out[i].End) {
				out[i].End = end
			}
			continue
		}
		open[who] = len(out)
		out = append(out, Round{Poller: who, Start: r.Received, End: end})
	}
	return out
}

// AssertNoParallelRounds fails t when rounds of two pollers overlap in time.
func AssertNoParallelRounds(t testing.TB, rs []Round) {
	t.Helper()
	for i, a := range rs {
		for _, b := range rs[i+1:] {
			if a.Poller != b.Poller && a.Start.Before(b.End) && b.Start.Before(a.End) {
				t.Errorf("rounds ran in parallel: %s %s..%s and %s %s..%s", a.Poller,
					a.Start.Format("15:04:05.000"), a.End.Format("15:04:05.000"),
					b.Poller, b.Start.Format("15:04:05.000"), b.End.Format("15:04:05.000"))
			}
		}
	}
}

// FirstRoundAfter is the first round of poller who starting after t0.
func FirstRoundAfter(rs []Round, who string, t0 time.Time) (Round, bool) {
	for _, r := range rs {
		if r.Poller == who && r.Start.After(t0) {
			return r, true
		}
	}
	return Round{}, false
}
