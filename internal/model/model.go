// Package model holds the domain types shared by the decoders, the store and
// the API: a GitHub event as ghevents keeps it, and the known event types.
package model

import (
	"encoding/json"
	"slices"
	"time"
)

// Event is one GitHub event, reduced to the columns the metrics need plus the
// complete JSON as received.
type Event struct {
	// ID is GitHub's event id (sent as a string of digits).
	ID int64
	// Type is the event type, such as "PushEvent". Unknown types are kept as sent.
	Type string
	// ActorID and ActorLogin name the user who acted; zero and empty when absent.
	ActorID    int64
	ActorLogin string
	// RepoID and RepoName ("owner/name") name the repository.
	RepoID   int64
	RepoName string
	// OrgID and OrgLogin name the organisation; zero and empty when there is none.
	OrgID    int64
	OrgLogin string
	// Action is payload.action as sent; empty for the types that have none.
	// The store keeps ActionKey(Action).
	Action string
	// CreatedAt is when GitHub says the event happened (UTC, whole seconds).
	CreatedAt time.Time
	// Raw is the event JSON exactly as received; nil when it is not kept.
	Raw json.RawMessage
	// Source is the part of ghevents that stores the event (and, when it
	// stores it first, is recorded with it). Every writer sets it; empty is
	// stored as NULL, what rows stored before sources were recorded hold.
	Source Source
}

// ActionKey is the form in which an action is stored, compared and
// counted: a with its ASCII letters lower-cased, every other byte as it is
// (the database's lower(action COLLATE "C"), the CHECK of events.action).
// ASCII only, so that Go and PostgreSQL agree whatever the database's
// locale and Unicode version; GitHub's actions (opened, ready_for_review)
// are ASCII, and the API accepts only ASCII letters and underscores.
func ActionKey(a string) string {
	for i := 0; i < len(a); i++ {
		if 'A' <= a[i] && a[i] <= 'Z' {
			b := []byte(a)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return a
}

// Source names which part of ghevents stored an event first (the
// event_source enum of the database).
type Source string

// The sources.
const (
	// SourceFirehose is the poller, from the public feed (GITHUB_EVENTS_URL).
	SourceFirehose Source = "firehose"
	// SourceWatch is the poller, from a watched repository, organisation or user.
	SourceWatch Source = "watch"
	// SourceArchive is the GH Archive follower (GHARCHIVE_FOLLOW).
	SourceArchive Source = "archive"
	// SourceImport is `ghevents import`.
	SourceImport Source = "import"
)

// EventTypes are the event types GitHub documents for the Events API today,
// in alphabetical order. The API accepts them as the event_type enum and
// reports a count for each, zero included. Events of other types (older GH
// Archive types such as GistEvent) are stored all the same.
var EventTypes = []string{
	"CommitCommentEvent",
	"CreateEvent",
	"DeleteEvent",
	"DiscussionEvent",
	"ForkEvent",
	"GollumEvent",
	"IssueCommentEvent",
	"IssuesEvent",
	"MemberEvent",
	"PublicEvent",
	"PullRequestEvent",
	"PullRequestReviewCommentEvent",
	"PullRequestReviewEvent",
	"PullRequestReviewThreadEvent",
	"PushEvent",
	"ReleaseEvent",
	"SponsorshipEvent",
	"WatchEvent",
}

// IsKnownType reports whether t is one of EventTypes.
func IsKnownType(t string) bool {
	_, found := slices.BinarySearch(EventTypes, t)
	return found
}
