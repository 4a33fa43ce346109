package importer

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ghevents/ghevents/internal/model"
)

// split puts every event of a batch, with its line, in the part of the
// writer its repository hashes to, whatever the case of the name; every
// event is in exactly one part.
func TestBatchSplit(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 5} {
		b := &batch{}
		for i := range 1000 {
			name := fmt.Sprintf("Owner%d/Repo%d", i%7, (i*7919)%113)
			if i%3 == 0 {
				name = strings.ToLower(name)
			}
			b.events = append(b.events, model.Event{ID: int64(i), RepoName: name})
			b.lines = append(b.lines, int64(i)+1)
		}
		b.split(n)
		if len(b.parts) != n {
			t.Fatalf("n=%d: %d parts", n, len(b.parts))
		}
		var ids []int64
		for k, p := range b.parts {
			if len(p.events) != len(p.lines) {
				t.Fatalf("n=%d part %d: %d events, %d lines", n, k, len(p.events), len(p.lines))
			}
			for i, e := range p.events {
				if got := shardOf(strings.ToLower(e.RepoName), n); got != k {
					t.Fatalf("n=%d: %s in part %d, its writer is %d", n, e.RepoName, k, got)
				}
				if p.lines[i] != e.ID+1 {
					t.Fatalf("n=%d: event %d with line %d, want %d", n, e.ID, p.lines[i], e.ID+1)
				}
				ids = append(ids, e.ID)
			}
			if n > 1 && len(p.events) == 0 {
				t.Errorf("n=%d: part %d empty (113 repositories should reach every writer)", n, k)
			}
		}
		slices.Sort(ids)
		for i, id := range ids {
			if id != int64(i) {
				t.Fatalf("n=%d: the parts hold ids %v..., want each of 0..999 once", n, ids[:i+1])
			}
		}
	}
}
