package gen

import (
	"strconv"
	"time"

	"github.com/ghevents/ghevents/internal/model"
)

// appendEvent appends e as a GH Archive line (the layout of the Events API:
// id as a string, actor, repo, payload, public, created_at, org when there
// is one) with a payload of the size and shape real ones have for its type.
func (g *Generator) appendEvent(b []byte, e *model.Event) []byte {
	b = append(b, `{"id":"`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `","type":`...)
	b = appendStr(b, e.Type)
	b = append(b, `,"actor":{"id":`...)
	b = strconv.AppendInt(b, e.ActorID, 10)
	b = append(b, `,"login":`...)
	b = appendStr(b, e.ActorLogin)
	b = append(b, `,"display_login":`...)
	b = appendStr(b, trimBot(e.ActorLogin))
	b = append(b, `,"gravatar_id":"","url":"https://api.github.com/users/`...)
	b = append(b, e.ActorLogin...)
	b = append(b, `","avatar_url":"https://avatars.githubusercontent.com/u/`...)
	b = strconv.AppendInt(b, e.ActorID, 10)
	b = append(b, `?"},"repo":{"id":`...)
	b = strconv.AppendInt(b, e.RepoID, 10)
	b = append(b, `,"name":`...)
	b = appendStr(b, e.RepoName)
	b = append(b, `,"url":"https://api.github.com/repos/`...)
	b = append(b, e.RepoName...)
	b = append(b, `"},"payload":`...)
	b = g.appendPayload(b, e)
	b = append(b, `,"public":true,"created_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, '"')
	if e.OrgID != 0 {
		b = append(b, `,"org":{"id":`...)
		b = strconv.AppendInt(b, e.OrgID, 10)
		b = append(b, `,"login":`...)
		b = appendStr(b, e.OrgLogin)
		b = append(b, `,"gravatar_id":"","url":"https://api.github.com/orgs/`...)
		b = append(b, e.OrgLogin...)
		b = append(b, `","avatar_url":"https://avatars.githubusercontent.com/u/`...)
		b = strconv.AppendInt(b, e.OrgID, 10)
		b = append(b, `?"}`...)
	}
	return append(b, '}')
}

// appendPayload appends the payload of e, shaped like the real ones of its
// type.
func (g *Generator) appendPayload(b []byte, e *model.Event) []byte {
	switch e.Type {
	case "PushEvent":
		return g.appendPushPayload(b, e)
	case "CreateEvent":
		return g.appendCreatePayload(b, e)
	case "DeleteEvent":
		return g.appendDeletePayload(b, e)
	case "WatchEvent":
		return g.appendWatchPayload(b, e)
	case "ForkEvent":
		return g.appendForkPayload(b, e)
	case "IssuesEvent":
		return g.appendIssuesPayload(b, e)
	case "IssueCommentEvent":
		return g.appendIssueCommentPayload(b, e)
	case "PullRequestEvent":
		return g.appendPullRequestPayload(b, e)
	case "PullRequestReviewEvent":
		return g.appendPullRequestReviewPayload(b, e)
	case "PullRequestReviewCommentEvent":
		return g.appendPullRequestReviewCommentPayload(b, e)
	case "GollumEvent":
		return g.appendGollumPayload(b, e)
	case "CommitCommentEvent":
		return g.appendCommitCommentPayload(b, e)
	case "ReleaseEvent":
		return g.appendReleasePayload(b, e)
	case "MemberEvent":
		return g.appendMemberPayload(b, e)
	default: // PublicEvent
		return g.appendPublicPayload(b, e)
	}
}

// appendPushPayload appends a PushEvent payload.
func (g *Generator) appendPushPayload(b []byte, e *model.Event) []byte {
	r := g.pr
	n := 1
	if p := r.Intn(10); p >= 7 {
		n = 2 + p - 7 // 2 to 4 commits in 30 % of pushes
	}
	b = append(b, `{"repository_id":`...)
	b = strconv.AppendInt(b, e.RepoID, 10)
	b = append(b, `,"push_id":`...)
	b = strconv.AppendInt(b, 10_000_000_000+e.ID/3, 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"distinct_size":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"ref":"refs/heads/`...)
	b = append(b, g.branch()...)
	b = append(b, `","head":"`...)
	b = g.appendSHA(b)
	b = append(b, `","before":"`...)
	b = g.appendSHA(b)
	b = append(b, `","commits":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sha":"`...)
		sha := len(b)
		b = g.appendSHA(b)
		sha1 := string(b[sha:])
		b = append(b, `","author":{"email":"`...)
		b = append(b, trimBot(e.ActorLogin)...)
		b = append(b, `@users.noreply.github.com","name":`...)
		b = appendStr(b, trimBot(e.ActorLogin))
		b = append(b, `},"message":`...)
		b = g.appendText(b, 3+r.Intn(25))
		b = append(b, `,"distinct":true,"url":"https://api.github.com/repos/`...)
		b = append(b, e.RepoName...)
		b = append(b, `/commits/`...)
		b = append(b, sha1...)
		b = append(b, `"}`...)
	}
	return append(b, `]}`...)
}

// appendCreatePayload appends a CreateEvent payload.
func (g *Generator) appendCreatePayload(b []byte, _ *model.Event) []byte {
	r := g.pr
	refType := "branch"
	switch p := r.Intn(10); {
	case p < 2:
		refType = "repository"
	case p < 4:
		refType = "tag"
	}
	b = append(b, `{"ref":`...)
	switch refType {
	case "repository":
		b = append(b, "null"...)
	case "tag":
		b = append(b, `"v`...)
		b = strconv.AppendInt(b, int64(r.Intn(5)), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(r.Intn(20)), 10)
		b = append(b, `.0"`...)
	default:
		b = appendStr(b, g.branch())
	}
	b = append(b, `,"ref_type":"`...)
	b = append(b, refType...)
	b = append(b, `","master_branch":"main","description":`...)
	b = g.appendText(b, 4+r.Intn(10))
	return append(b, `,"pusher_type":"user"}`...)
}

// appendDeletePayload appends a DeleteEvent payload.
func (g *Generator) appendDeletePayload(b []byte, _ *model.Event) []byte {
	b = append(b, `{"ref":`...)
	b = appendStr(b, g.branch())
	return append(b, `,"ref_type":"branch","pusher_type":"user"}`...)
}

// appendWatchPayload appends a WatchEvent payload.
func (g *Generator) appendWatchPayload(b []byte, _ *model.Event) []byte {
	return append(b, `{"action":"started"}`...)
}

// appendForkPayload appends a ForkEvent payload.
func (g *Generator) appendForkPayload(b []byte, e *model.Event) []byte {
	r := g.pr
	b = append(b, `{"forkee":{"id":`...)
	b = strconv.AppendInt(b, 400_000_000+e.ID%100_000_000, 10)
	b = append(b, `,"name":`...)
	b = appendStr(b, repoShortName(e.RepoName))
	b = append(b, `,"full_name":`...)
	b = appendStr(b, trimBot(e.ActorLogin)+"/"+repoShortName(e.RepoName))
	b = append(b, `,"private":false,"owner":`...)
	b = appendUser(b, e.ActorLogin, e.ActorID)
	b = append(b, `,"html_url":"https://github.com/`...)
	b = append(b, trimBot(e.ActorLogin)...)
	b = append(b, '/')
	b = append(b, repoShortName(e.RepoName)...)
	b = append(b, `","description":`...)
	b = g.appendText(b, 5+r.Intn(10))
	b = append(b, `,"fork":true,"created_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","updated_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","homepage":null,"size":0,"stargazers_count":0,"watchers_count":0,"language":null,`+
		`"has_issues":false,"has_projects":true,"has_wiki":true,"forks_count":0,"open_issues_count":0,`+
		`"default_branch":"main","public":true}}`...)
	return b
}

// appendIssuesPayload appends a IssuesEvent payload.
func (g *Generator) appendIssuesPayload(b []byte, e *model.Event) []byte {
	b = append(b, `{"action":`...)
	b = appendStr(b, e.Action)
	b = append(b, `,"issue":`...)
	b = g.appendIssue(b, e)
	return append(b, '}')
}

// appendIssueCommentPayload appends a IssueCommentEvent payload.
func (g *Generator) appendIssueCommentPayload(b []byte, e *model.Event) []byte {
	b = append(b, `{"action":"created","issue":`...)
	b = g.appendIssue(b, e)
	b = append(b, `,"comment":`...)
	b = g.appendComment(b, e, "issues/comments")
	return append(b, '}')
}

// appendPullRequestPayload appends a PullRequestEvent payload.
func (g *Generator) appendPullRequestPayload(b []byte, e *model.Event) []byte {
	r := g.pr
	n := int64(1 + r.Intn(5000))
	b = append(b, `{"action":`...)
	b = appendStr(b, e.Action)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `,"pull_request":`...)
	b = g.appendPR(b, e, n)
	return append(b, '}')
}

// appendPullRequestReviewPayload appends a PullRequestReviewEvent payload.
func (g *Generator) appendPullRequestReviewPayload(b []byte, e *model.Event) []byte {
	r := g.pr
	n := int64(1 + r.Intn(5000))
	b = append(b, `{"action":"created","review":{"id":`...)
	b = strconv.AppendInt(b, 700_000_000+e.ID%100_000_000, 10)
	b = append(b, `,"user":`...)
	b = appendUser(b, e.ActorLogin, e.ActorID)
	b = append(b, `,"body":`...)
	b = g.appendText(b, r.Intn(20))
	b = append(b, `,"commit_id":"`...)
	b = g.appendSHA(b)
	b = append(b, `","submitted_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","state":"approved","author_association":"MEMBER"},"pull_request":`...)
	b = g.appendPR(b, e, n)
	return append(b, '}')
}

// appendPullRequestReviewCommentPayload appends a PullRequestReviewCommentEvent payload.
func (g *Generator) appendPullRequestReviewCommentPayload(b []byte, e *model.Event) []byte {
	r := g.pr
	n := int64(1 + r.Intn(5000))
	b = append(b, `{"action":"created","comment":`...)
	b = g.appendComment(b, e, "pulls/comments")
	b = append(b, `,"pull_request":`...)
	b = g.appendPR(b, e, n)
	return append(b, '}')
}

// appendGollumPayload appends a GollumEvent payload.
func (g *Generator) appendGollumPayload(b []byte, e *model.Event) []byte {
	r := g.pr
	b = append(b, `{"pages":[{"page_name":`...)
	title := capitalize(words[r.Intn(len(words))])
	b = appendStr(b, title)
	b = append(b, `,"title":`...)
	b = appendStr(b, title)
	b = append(b, `,"summary":null,"action":"edited","sha":"`...)
	b = g.appendSHA(b)
	b = append(b, `","html_url":"https://github.com/`...)
	b = append(b, e.RepoName...)
	b = append(b, `/wiki/`...)
	b = append(b, title...)
	return append(b, `"}]}`...)
}

// appendCommitCommentPayload appends a CommitCommentEvent payload.
func (g *Generator) appendCommitCommentPayload(b []byte, e *model.Event) []byte {
	b = append(b, `{"comment":`...)
	b = g.appendComment(b, e, "comments")
	return append(b, '}')
}

// appendReleasePayload appends a ReleaseEvent payload.
func (g *Generator) appendReleasePayload(b []byte, e *model.Event) []byte {
	r := g.pr
	b = append(b, `{"action":"published","release":{"url":"https://api.github.com/repos/`...)
	b = append(b, e.RepoName...)
	b = append(b, `/releases/`...)
	b = strconv.AppendInt(b, e.ID%10_000_000, 10)
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, e.ID%10_000_000, 10)
	b = append(b, `,"tag_name":"v1.`...)
	b = strconv.AppendInt(b, int64(r.Intn(30)), 10)
	b = append(b, `.0","target_commitish":"main","name":`...)
	b = g.appendText(b, 2+r.Intn(4))
	b = append(b, `,"draft":false,"author":`...)
	b = appendUser(b, e.ActorLogin, e.ActorID)
	b = append(b, `,"prerelease":false,"created_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","published_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","assets":[],"body":`...)
	b = g.appendText(b, 20+r.Intn(80))
	return append(b, `}}`...)
}

// appendMemberPayload appends a MemberEvent payload.
func (g *Generator) appendMemberPayload(b []byte, _ *model.Event) []byte {
	r := g.pr
	b = append(b, `{"action":"added","member":`...)
	b = appendUser(b, userLogin(int64(r.Intn(1_000_000))), int64(r.Intn(100_000_000))+1)
	return append(b, '}')
}

// appendPublicPayload appends a PublicEvent payload.
func (g *Generator) appendPublicPayload(b []byte, _ *model.Event) []byte {
	return append(b, `{}`...)
}

func (g *Generator) appendIssue(b []byte, e *model.Event) []byte {
	r := g.pr
	n := int64(1 + r.Intn(3000))
	b = append(b, `{"url":"https://api.github.com/repos/`...)
	b = append(b, e.RepoName...)
	b = append(b, `/issues/`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","html_url":"https://github.com/`...)
	b = append(b, e.RepoName...)
	b = append(b, `/issues/`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, 900_000_000+e.ID%100_000_000, 10)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `,"title":`...)
	b = g.appendText(b, 3+r.Intn(10))
	b = append(b, `,"user":`...)
	b = appendUser(b, e.ActorLogin, e.ActorID)
	state := "open"
	if e.Action == "closed" {
		state = "closed"
	}
	b = append(b, `,"labels":[],"state":"`...)
	b = append(b, state...)
	b = append(b, `","locked":false,"assignee":null,"assignees":[],"milestone":null,"comments":`...)
	b = strconv.AppendInt(b, int64(r.Intn(20)), 10)
	b = append(b, `,"created_at":"`...)
	b = e.CreatedAt.Add(-time.Duration(r.Intn(1_000_000))*time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, `","updated_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","closed_at":null,"author_association":"CONTRIBUTOR","body":`...)
	b = g.appendText(b, 10+r.Intn(120))
	return append(b, '}')
}

func (g *Generator) appendComment(b []byte, e *model.Event, kind string) []byte {
	r := g.pr
	id := 1_000_000_000 + e.ID%1_000_000_000
	b = append(b, `{"url":"https://api.github.com/repos/`...)
	b = append(b, e.RepoName...)
	b = append(b, '/')
	b = append(b, kind...)
	b = append(b, '/')
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"user":`...)
	b = appendUser(b, e.ActorLogin, e.ActorID)
	if kind == "pulls/comments" {
		b = append(b, `,"path":"src/`...)
		b = append(b, words[r.Intn(len(words))]...)
		b = append(b, `.go","diff_hunk":`...)
		b = g.appendText(b, 10+r.Intn(30))
		b = append(b, `,"commit_id":"`...)
		b = g.appendSHA(b)
		b = append(b, '"')
	}
	b = append(b, `,"created_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","updated_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","author_association":"NONE","body":`...)
	b = g.appendText(b, 5+r.Intn(60))
	return append(b, '}')
}

func (g *Generator) appendPR(b []byte, e *model.Event, n int64) []byte {
	r := g.pr
	b = append(b, `{"url":"https://api.github.com/repos/`...)
	b = append(b, e.RepoName...)
	b = append(b, `/pulls/`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, 500_000_000+e.ID%100_000_000, 10)
	b = append(b, `,"html_url":"https://github.com/`...)
	b = append(b, e.RepoName...)
	b = append(b, `/pull/`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","number":`...)
	b = strconv.AppendInt(b, n, 10)
	state := "open"
	if e.Action == "closed" {
		state = "closed"
	}
	b = append(b, `,"state":"`...)
	b = append(b, state...)
	b = append(b, `","locked":false,"title":`...)
	b = g.appendText(b, 3+r.Intn(10))
	b = append(b, `,"user":`...)
	b = appendUser(b, e.ActorLogin, e.ActorID)
	b = append(b, `,"body":`...)
	b = g.appendText(b, 10+r.Intn(150))
	b = append(b, `,"created_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","updated_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","merged_at":null,"head":{"label":`...)
	branch := g.branch()
	b = appendStr(b, trimBot(e.ActorLogin)+":"+branch)
	b = append(b, `,"ref":`...)
	b = appendStr(b, branch)
	b = append(b, `,"sha":"`...)
	b = g.appendSHA(b)
	b = append(b, `"},"base":{"label":"main","ref":"main","sha":"`...)
	b = g.appendSHA(b)
	b = append(b, `"},"author_association":"CONTRIBUTOR","merged":false,"comments":`...)
	b = strconv.AppendInt(b, int64(r.Intn(30)), 10)
	b = append(b, `,"commits":`...)
	b = strconv.AppendInt(b, int64(1+r.Intn(20)), 10)
	b = append(b, `,"additions":`...)
	b = strconv.AppendInt(b, int64(r.Intn(2000)), 10)
	b = append(b, `,"deletions":`...)
	b = strconv.AppendInt(b, int64(r.Intn(1000)), 10)
	b = append(b, `,"changed_files":`...)
	b = strconv.AppendInt(b, int64(1+r.Intn(40)), 10)
	return append(b, '}')
}

func appendUser(b []byte, login string, id int64) []byte {
	b = append(b, `{"login":`...)
	b = appendStr(b, login)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"avatar_url":"https://avatars.githubusercontent.com/u/`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `?v=4","gravatar_id":"","url":"https://api.github.com/users/`...)
	b = append(b, login...)
	b = append(b, `","html_url":"https://github.com/`...)
	b = append(b, login...)
	return append(b, `","type":"User","site_admin":false}`...)
}

// appendText appends a JSON string of n words, now and then with a
// newline, a quote or a non-ASCII word, as commit messages and issue
// bodies have.
func (g *Generator) appendText(b []byte, n int) []byte {
	g.scratch = g.scratch[:0]
	for i := range n {
		if i > 0 {
			if g.pr.Intn(12) == 0 {
				g.scratch = append(g.scratch, '\n')
			} else {
				g.scratch = append(g.scratch, ' ')
			}
		}
		switch p := g.pr.Intn(60); p {
		case 0:
			g.scratch = append(g.scratch, `"quoted"`...)
		case 1:
			g.scratch = append(g.scratch, "café"...)
		default:
			g.scratch = append(g.scratch, words[p%len(words)]...)
		}
	}
	return appendStr(b, string(g.scratch))
}

func (g *Generator) appendSHA(b []byte) []byte {
	const hex = "0123456789abcdef"
	for range 5 {
		v := g.pr.Uint32()
		for range 8 {
			b = append(b, hex[v&15])
			v >>= 4
		}
	}
	return b
}

func (g *Generator) branch() string {
	switch p := g.pr.Intn(10); {
	case p < 5:
		return "main"
	case p < 6:
		return "master"
	default:
		return "feature/" + words[g.pr.Intn(len(words))]
	}
}

func repoShortName(full string) string {
	for i := len(full) - 1; i >= 0; i-- {
		if full[i] == '/' {
			return full[i+1:]
		}
	}
	return full
}

func trimBot(login string) string {
	if n := len(login) - len("[bot]"); n > 0 && login[n:] == "[bot]" {
		return login[:n]
	}
	return login
}

// appendStr appends s as a JSON string.
func appendStr(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
