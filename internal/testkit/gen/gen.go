// Package gen generates realistic GitHub events, deterministically from a
// seed, for benchmarks and tests: the type mix and the actions of real
// GitHub activity, a repository popularity that is heavily skewed (a few
// repositories with huge counts, a long tail with one or two events each),
// created_at spread over a time span, and GH Archive-shaped JSON lines that
// github.Decoder reads like real ones.
//
// The proportions come from the real data in testdata/github: the GH Archive
// hour 2015-01-01 00:00 (7,702 events) and the 2021-07-21 sample (800
// events); see TypeMix.
package gen

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ghevents/ghevents/internal/model"
)

// Options shape a generated stream. The zero value of every field means its
// default.
type Options struct {
	// Seed makes the stream: the same options give the same events, byte
	// for byte.
	Seed int64
	// Events is how many events the stream is planned to hold: created_at
	// goes from Start to Start+Span over this many events (default 1,000,000).
	// Next may be called more often; created_at then goes on past the span
	// at the same pace.
	Events int64
	// Start is the created_at of the first events (default 2024-01-01T00:00:00Z).
	Start time.Time
	// Span is the time the planned events cover (default 24h).
	Span time.Duration
	// Repos is the number of repositories events are drawn from (default
	// 1.5 × Events, at least 10,000). A twentieth of them are "hot" and take
	// 55 % of the events with a Zipf law; the rest share the other 45 %
	// uniformly, so most of them get one or two events.
	Repos int64
	// Actors is the number of users acting (default Events/5, at least 1,000),
	// drawn with a Zipf law (bots and busy users act very often).
	Actors int64
	// FirstID is the id of the first event (default 30,000,000,000); ids
	// increase by 1 to 3 from one event to the next, so (id, created_at)
	// is unique within a stream, and across streams whose id ranges differ.
	FirstID int64
	// NoRaw makes Next leave Event.Raw nil and skip building the JSON (a
	// faster way to fill a database when the raw column does not matter).
	NoRaw bool
}

// TypeWeight is one event type's share of the generated events, in events
// per thousand.
type TypeWeight struct {
	Type     string
	PerMille int
}

// TypeMix is the type mix of the generated events, in events per thousand,
// rounded from the real GH Archive data in testdata/github (2015: PushEvent
// 55.6 %, CreateEvent 10.6 %, IssueCommentEvent 8.4 %, WatchEvent 8.3 %,
// IssuesEvent 4.8 %, PullRequestEvent 4.1 %, ...; 2021: PushEvent 53.1 %,
// CreateEvent 12.9 %, PullRequestEvent 8.0 %, PullRequestReviewEvent 3.5 %, ...).
var TypeMix = []TypeWeight{
	{"PushEvent", 556},
	{"CreateEvent", 108},
	{"WatchEvent", 78},
	{"IssueCommentEvent", 70},
	{"PullRequestEvent", 55},
	{"IssuesEvent", 40},
	{"ForkEvent", 26},
	{"DeleteEvent", 20},
	{"PullRequestReviewEvent", 15},
	{"PullRequestReviewCommentEvent", 11},
	{"GollumEvent", 8},
	{"CommitCommentEvent", 5},
	{"ReleaseEvent", 4},
	{"MemberEvent", 3},
	{"PublicEvent", 1},
}

// actionWeight is one payload.action and its share, per thousand, of the
// events of its type.
type actionWeight struct {
	action   string
	perMille int
}

// actions are the payload.action values of each type that has one, as in
// the real data (IssuesEvent 2015: 235 opened, 135 closed, 3 reopened;
// PullRequestEvent: 163 opened, 151 closed, 1 reopened); reopened is made a
// little more common so that small streams hold some. Types absent here
// (PushEvent, CreateEvent, DeleteEvent, ForkEvent, GollumEvent,
// CommitCommentEvent, PublicEvent) have no action.
var actions = map[string][]actionWeight{
	"IssuesEvent":                   {{"opened", 600}, {"closed", 380}, {"reopened", 20}},
	"PullRequestEvent":              {{"opened", 510}, {"closed", 470}, {"reopened", 20}},
	"WatchEvent":                    {{"started", 1000}},
	"IssueCommentEvent":             {{"created", 1000}},
	"PullRequestReviewCommentEvent": {{"created", 1000}},
	"PullRequestReviewEvent":        {{"created", 1000}},
	"ReleaseEvent":                  {{"published", 1000}},
	"MemberEvent":                   {{"added", 1000}},
}

// Actions returns the actions generated for eventType, with their share
// per thousand; nil for the types that have none.
func Actions(eventType string) map[string]int {
	aw := actions[eventType]
	if aw == nil {
		return nil
	}
	m := make(map[string]int, len(aw))
	for _, a := range aw {
		m[a.action] = a.perMille
	}
	return m
}

// Generator produces the events of one stream. It is not safe for use by
// several goroutines at once.
type Generator struct {
	o       Options
	r       *rand.Rand // the events' fields
	pr      *rand.Rand // payload texts only, so NoRaw does not change the events
	hot     *rand.Zipf
	actors  *rand.Zipf
	hotN    int64
	i       int64 // events produced so far
	id      int64 // id of the last event
	step    float64
	types   [1000]uint8 // per-mille slot -> index in TypeMix
	line    []byte
	scratch []byte
}

// New returns a generator for o.
func New(o Options) *Generator {
	if o.Events <= 0 {
		o.Events = 1_000_000
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	o.Start = o.Start.UTC().Truncate(time.Second)
	if o.Span <= 0 {
		o.Span = 24 * time.Hour
	}
	if o.Repos <= 0 {
		o.Repos = max(10_000, o.Events*3/2)
	}
	if o.Actors <= 0 {
		o.Actors = max(1_000, o.Events/5)
	}
	if o.FirstID <= 0 {
		o.FirstID = 30_000_000_000
	}
	r := rand.New(rand.NewSource(o.Seed))
	g := &Generator{
		o:    o,
		r:    r,
		pr:   rand.New(rand.NewSource(o.Seed ^ 0x5eed)),
		hotN: max(1, o.Repos/20),
		id:   o.FirstID - 1,
		step: float64(o.Span) / float64(o.Events),
	}
	g.hot = rand.NewZipf(r, 1.1, 5, uint64(g.hotN-1))
	g.actors = rand.NewZipf(r, 1.2, 3, uint64(o.Actors-1))
	slot := 0
	for ti, tw := range TypeMix {
		for range tw.PerMille {
			g.types[slot] = uint8(ti)
			slot++
		}
	}
	return g
}

// Options returns the options in effect, defaults filled in.
func (g *Generator) Options() Options { return g.o }

// Next returns the next event. Its Raw is the event's GH Archive line
// (without the newline), in memory of its own, unless Options.NoRaw is set.
func (g *Generator) Next() model.Event {
	e := g.next(!g.o.NoRaw)
	if !g.o.NoRaw {
		e.Raw = append([]byte(nil), g.line...)
	}
	return e
}

// AppendLine appends the next event as a GH Archive line, newline included,
// to dst and returns the extended slice.
func (g *Generator) AppendLine(dst []byte) []byte {
	g.next(true)
	dst = append(dst, g.line...)
	return append(dst, '\n')
}

// WriteLines writes the next n events to w as GH Archive lines (one JSON
// object per line) and returns the bytes written.
func (g *Generator) WriteLines(w io.Writer, n int64) (int64, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	var written int64
	for range n {
		g.next(true)
		g.line = append(g.line, '\n')
		k, err := bw.Write(g.line)
		written += int64(k)
		if err != nil {
			return written, err
		}
	}
	return written, bw.Flush()
}

// WriteFile writes o.Events events to path (gzip-compressed when the name
// ends in .gz, like GH Archive's hourly files). "-" writes to standard output.
func WriteFile(path string, o Options) (err error) {
	g := New(o)
	var w io.Writer = os.Stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	if strings.HasSuffix(path, ".gz") {
		zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := zw.Close(); err == nil {
				err = cerr
			}
		}()
		w = zw
	}
	if _, err := g.WriteLines(w, g.o.Events); err != nil {
		return fmt.Errorf("write generated events to %s: %w", path, err)
	}
	return nil
}

// next draws the next event; with raw set it also builds its JSON in g.line.
func (g *Generator) next(raw bool) model.Event {
	r := g.r
	g.id += 1 + int64(r.Intn(3))
	// created_at: on a straight line from Start over the planned events,
	// plus a jitter of up to ±3 s (GH Archive files are not sorted).
	at := g.o.Start.Add(time.Duration(float64(g.i) * g.step)).Add(time.Duration(r.Intn(7)-3) * time.Second)
	if at.Before(g.o.Start) {
		at = g.o.Start
	}
	at = at.Truncate(time.Second)
	g.i++

	t := TypeMix[g.types[r.Intn(1000)]].Type
	var action string
	if aw := actions[t]; aw != nil {
		p := r.Intn(1000)
		for _, a := range aw {
			if p < a.perMille {
				action = a.action
				break
			}
			p -= a.perMille
		}
	}

	// Repositories: 55 % of the events go to the hot twentieth (Zipf), the
	// rest uniformly to the long tail.
	var repo int64
	if r.Intn(100) < 55 {
		repo = int64(g.hot.Uint64())
	} else {
		repo = g.hotN + r.Int63n(max(1, g.o.Repos-g.hotN))
	}
	rp := g.repo(repo)
	name := rp.name
	// A repository renamed by a change of case shows both spellings: one
	// event in 200 of a mixed-case repository carries the lower-case one.
	if rp.mixed && r.Intn(200) == 0 {
		name = strings.ToLower(name)
	}
	actor := int64(g.actors.Uint64())
	actorID := int64(perm32(uint32(actor), 0x9e3779b1)) + 1
	login := userLogin(actor)

	e := model.Event{
		ID:         g.id,
		Type:       t,
		ActorID:    actorID,
		ActorLogin: login,
		RepoID:     rp.id,
		RepoName:   name,
		Action:     action,
		CreatedAt:  at,
	}
	if rp.org {
		e.OrgID, e.OrgLogin = rp.ownerID, rp.owner
	}
	if raw {
		g.line = g.appendEvent(g.line[:0], &e)
	}
	return e
}

// repoInfo is what a repository index stands for.
type repoInfo struct {
	id      int64
	name    string
	owner   string
	ownerID int64
	org     bool // owned by an organisation (about 30 % of repositories)
	mixed   bool // its canonical name has capitals
}

var (
	words = strings.Fields(`alpha bravo cloud data edge flow grid hub iron jet kit lab micro node open pixel quick
		rust stack tiny unit vector web xeno yield zen api app bot cli core dash dev docs engine fast form
		go graph http json kube lambda lite log map mesh net ops parse pay play proxy queue react redis
		sched search shell sql sync task test tool ui util view vue wasm wiki work`)
	firstNames = strings.Fields(`alice bob carol dave erin frank grace heidi ivan judy ken lena mallory
		nina oscar peggy quinn rita sam trent uma victor wendy xavier yara zoe`)
)

// repo describes repository k: its id (a bijection of k, so ids are unique
// but unrelated to popularity), its owner (about three repositories each)
// and its name, in mixed case for a quarter of them.
func (g *Generator) repo(k int64) repoInfo {
	h := bijection(uint64(k), 0xbf58476d1ce4e5b9)
	owner := k / 3
	oh := bijection(uint64(owner), 0x94d049bb133111eb)
	info := repoInfo{
		id:      int64(perm32(uint32(k), 0x85ebca6b)) + 1,
		ownerID: int64(perm32(uint32(owner), 0xc2b2ae35)) + 1,
		org:     oh%10 < 3,
		mixed:   h%4 == 0,
	}
	var b strings.Builder
	if info.org {
		b.WriteString(words[oh%uint64(len(words))])
		b.WriteString("-")
		b.WriteString(words[(oh/97)%uint64(len(words))])
		b.WriteString("-org")
	} else {
		b.WriteString(firstNames[oh%uint64(len(firstNames))])
	}
	b.WriteString(strconv.FormatInt(owner, 36))
	info.owner = b.String()
	b.WriteString("/")
	w1, w2 := words[(h/7)%uint64(len(words))], words[(h/1013)%uint64(len(words))]
	if info.mixed {
		info.owner = capitalize(info.owner)
		b.Reset()
		b.WriteString(info.owner)
		b.WriteString("/")
		b.WriteString(capitalize(w1))
		b.WriteString(capitalize(w2))
	} else {
		b.WriteString(w1)
		b.WriteString("-")
		b.WriteString(w2)
		b.WriteString("-")
	}
	b.WriteString(strconv.FormatInt(k, 36))
	info.name = b.String()
	return info
}

func userLogin(k int64) string {
	h := bijection(uint64(k), 0xd6e8feb86659fd93)
	login := firstNames[h%uint64(len(firstNames))] + "-" + words[(h/31)%uint64(len(words))] + strconv.FormatInt(k, 36)
	if k%50 == 7 {
		login += "[bot]"
	}
	return login
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// perm32 scrambles x within 32 bits: distinct x give distinct results, so
// ids drawn from it are unique without being in popularity order.
func perm32(x, mul uint32) uint32 {
	x *= mul | 1
	x ^= x >> 16
	x *= 0x45d9f3b
	x ^= x >> 16
	return x
}

// bijection scrambles k (a splitmix64 step): distinct k give distinct results.
func bijection(k, mul uint64) uint64 {
	k ^= k >> 30
	k *= mul
	k ^= k >> 27
	k *= 0x94d049bb133111eb
	k ^= k >> 31
	return k
}
