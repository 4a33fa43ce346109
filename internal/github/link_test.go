package github_test

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ghevents/ghevents/internal/github"
)

func TestParseLink(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		header string
		want   []github.Link
	}{
		{"empty", "", nil},
		{"only separators", " , ,\t", nil},
		{
			"GitHub's layout (recorded page 9)",
			`<https://api.github.com/events?page=8>; rel="prev", <https://api.github.com/events?page=10>; rel="next", <https://api.github.com/events?page=10>; rel="last", <https://api.github.com/events?page=1>; rel="first"`,
			[]github.Link{
				{URL: "https://api.github.com/events?page=8", Rel: []string{"prev"}},
				{URL: "https://api.github.com/events?page=10", Rel: []string{"next"}},
				{URL: "https://api.github.com/events?page=10", Rel: []string{"last"}},
				{URL: "https://api.github.com/events?page=1", Rel: []string{"first"}},
			},
		},
		{"no whitespace, unquoted", `<a>;rel=last,<b>;rel=next`, []github.Link{{URL: "a", Rel: []string{"last"}}, {URL: "b", Rel: []string{"next"}}}},
		{"whitespace everywhere", " \t<a>  ;\trel = \"next\"  ,  <b> ; rel =last ", []github.Link{{URL: "a", Rel: []string{"next"}}, {URL: "b", Rel: []string{"last"}}}},
		{"several relation types", `<a>; rel="last  next"`, []github.Link{{URL: "a", Rel: []string{"last", "next"}}}},
		{"case-insensitive names and rels", `<a>; REL="Next"; Title=X`, []github.Link{{URL: "a", Rel: []string{"next"}, Params: map[string]string{"title": "X"}}}},
		{"commas and semicolons inside the URL", `<https://x/e;v=1?ids=1,2,3&page=2>; rel="next", <https://x/e?page=9>; rel="last"`,
			[]github.Link{{URL: "https://x/e;v=1?ids=1,2,3&page=2", Rel: []string{"next"}}, {URL: "https://x/e?page=9", Rel: []string{"last"}}}},
		{"quoted value with comma, semicolon and escapes", `<a>; title="x, \"y\"; z\\"; rel=next`,
			[]github.Link{{URL: "a", Rel: []string{"next"}, Params: map[string]string{"title": `x, "y"; z\`}}}},
		{"only the first rel counts", `<a>; rel="prev"; rel="next"`, []github.Link{{URL: "a", Rel: []string{"prev"}}}},
		{"first occurrence of a parameter wins", `<a>; type=x; type=y`, []github.Link{{URL: "a", Params: map[string]string{"type": "x"}}}},
		{"parameter without value, trailing semicolon", `<a>; crossorigin; rel=next;`, []github.Link{{URL: "a", Rel: []string{"next"}, Params: map[string]string{"crossorigin": ""}}}},
		{"RFC 8187 extended value", `<a>; title*=UTF-8'de'n%c3%a4chstes; rel=next`,
			[]github.Link{{URL: "a", Rel: []string{"next"}, Params: map[string]string{"title*": "UTF-8'de'n%c3%a4chstes"}}}},
		{"empty rel", `<a>; rel=""`, []github.Link{{URL: "a"}}},
		{"empty URL", `<>; rel=next`, []github.Link{{URL: "", Rel: []string{"next"}}}},
		{"empty list elements", `,<a>; rel=next,,`, []github.Link{{URL: "a", Rel: []string{"next"}}}},
	}
	for _, c := range cases {
		got, err := github.ParseLink(c.header)
		if err != nil {
			t.Errorf("%s: ParseLink(%q) error: %v", c.name, c.header, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ParseLink(%q)\n got %#v\nwant %#v", c.name, c.header, got, c.want)
		}
	}
}

func TestParseLinkErrors(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		`https://x/a; rel=next`,  // no <
		`<https://x/a; rel=next`, // no >
		`<a> rel=next`,           // no ;
		`<a>; rel="next`,         // unterminated quote
		`<a>; rel="next\`,        // escape at the end
		`<a>; =next`,             // no name
		`<a>; rel=`,              // no value
		`<a>; rel=,<b>`,          // no value before the comma
		`<a b>; rel=next`,        // space inside <>
		"<a\x00>; rel=next",      // control character inside <>
		`<a>; rel=ne"xt"`,        // quote after a token
		"<a>; title=\"x\x01\"",   // control character in a quoted string
		`<a>; rel="x" junk`,      // junk after a parameter
		`<a>; <b>`,               // a link where a parameter belongs
	} {
		links, err := github.ParseLink(h)
		if err == nil {
			t.Errorf("ParseLink(%q) = %#v, want an error", h, links)
		} else if links != nil {
			t.Errorf("ParseLink(%q) returned links %#v with error %v", h, links, err)
		}
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://api.github.com/events?per_page=100")
	cases := []struct {
		name   string
		fields []string
		want   string
	}{
		{"no Link", nil, ""},
		{"no next", []string{`<https://api.github.com/events?page=9>; rel="prev", <https://api.github.com/events?page=1>; rel="first"`}, ""},
		{"next after last", []string{`<https://api.github.com/events?per_page=100&page=3>; rel="last", <https://api.github.com/events?per_page=100&page=2>; rel="next"`}, "https://api.github.com/events?per_page=100&page=2"},
		{"next in a second header field", []string{`<https://api.github.com/events?page=1>; rel="first"`, `<https://api.github.com/events?page=2>; rel=next`}, "https://api.github.com/events?page=2"},
		{"relative target resolved", []string{`</events?per_page=100&page=2>; rel="next"`}, "https://api.github.com/events?per_page=100&page=2"},
		{"query-only target resolved", []string{`<?page=2>; rel="next"`}, "https://api.github.com/events?page=2"},
		{"first of several nexts", []string{`<?page=2>; rel="next", <?page=3>; rel="next"`}, "https://api.github.com/events?page=2"},
	}
	for _, c := range cases {
		h := http.Header{}
		for _, f := range c.fields {
			h.Add("Link", f)
		}
		got, err := github.NextLink(h, base)
		if err != nil || got != c.want {
			t.Errorf("%s: NextLink = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	h := http.Header{"Link": {`<a>; rel="next`}}
	if got, err := github.NextLink(h, base); err == nil {
		t.Errorf("NextLink of a malformed header = %q, want an error", got)
	}
	h = http.Header{"Link": {`<http://[::1>; rel="next"`}}
	if got, err := github.NextLink(h, base); err == nil {
		t.Errorf("NextLink of an unparsable target = %q, want an error", got)
	}
}

// FuzzParseLink: whatever the header, ParseLink does not panic and returns
// either an error (and no links) or clean links, which formatLink writes
// back into a header that parses to the same links.
func FuzzParseLink(f *testing.F) {
	for _, s := range []string{
		`<https://api.github.com/events?page=8>; rel="prev", <https://api.github.com/events?page=10>; rel="next", <https://api.github.com/events?page=10>; rel="last", <https://api.github.com/events?page=1>; rel="first"`,
		`<https://api.github.com/events?page=2>; rel="next", <https://api.github.com/events?page=10>; rel="last"`,
		`<a>;rel=last,<b>;rel=next`,
		" \t<a>  ;\trel = \"next\"  ,  <b> ; rel =last ",
		`<https://x/e;v=1?ids=1,2,3&page=2>; rel="next"`,
		`<a>; title="x, \"y\"; z\\"; rel=next`,
		`<a>; rel="prev"; rel="next"`,
		`<a>; crossorigin; rel=next;`,
		`<a>; title*=UTF-8'de'n%c3%a4chstes; rel=next`,
		`,<a>; rel=next,,`,
		`<a>; rel="next`,
		`<a b>; rel=next`,
		"<a>; title=\"\xff\xfe\"",
		"",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://api.github.com/events?per_page=100")
	f.Fuzz(func(t *testing.T, header string) {
		links, err := github.ParseLink(header)
		// NextLink goes through ParseLink and url.Parse: no panic either.
		_, _ = github.NextLink(http.Header{"Link": {header}}, base)
		if err != nil {
			if links != nil {
				t.Fatalf("error %v with links %#v", err, links)
			}
			return
		}
		for _, l := range links {
			if strings.ContainsAny(l.URL, "<> \t\r\n\x00") {
				t.Fatalf("URL %q holds a character that cannot be in a link target", l.URL)
			}
			if l.Rel != nil && len(l.Rel) == 0 {
				t.Fatalf("empty, non-nil Rel in %#v", l)
			}
			for _, r := range l.Rel {
				if r == "" || r != strings.ToLower(r) || strings.ContainsAny(r, " \t") {
					t.Fatalf("relation type %q is not clean", r)
				}
			}
			for k := range l.Params {
				if k == "" || k == "rel" || k != strings.ToLower(k) {
					t.Fatalf("parameter name %q is not clean", k)
				}
			}
		}
		again, err := github.ParseLink(formatLink(links))
		if err != nil {
			t.Fatalf("FormatLink(%#v) = %q does not parse: %v", links, formatLink(links), err)
		}
		if !reflect.DeepEqual(again, links) {
			t.Fatalf("round trip changed the links:\n got %#v\nwant %#v", again, links)
		}
	})
}

// formatLink writes links as a Link header value that ParseLink reads back
// as the same links (parameters in name order).
func formatLink(links []github.Link) string {
	var b strings.Builder
	for i, l := range links {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('<')
		b.WriteString(l.URL)
		b.WriteByte('>')
		if l.Rel != nil {
			b.WriteString(`; rel=`)
			writeQuoted(&b, strings.Join(l.Rel, " "))
		}
		names := make([]string, 0, len(l.Params))
		for k := range l.Params {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			b.WriteString("; ")
			b.WriteString(k)
			b.WriteByte('=')
			writeQuoted(&b, l.Params[k])
		}
	}
	return b.String()
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
