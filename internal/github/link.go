package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Link is one link-value of an RFC 8288 Link header:
// `<https://api.github.com/events?page=2>; rel="next"`.
type Link struct {
	// URL is the target exactly as written between < and > (not resolved).
	URL string
	// Rel holds the relation types of the first rel parameter, lower-cased
	// (`rel="next last"` gives two); nil when there is none.
	Rel []string
	// Params holds the other parameters by lower-cased name, values unquoted;
	// the first occurrence of a name wins. nil when there is none.
	Params map[string]string
}

// HasRel reports whether rel (lower case) is one of l's relation types.
func (l Link) HasRel(rel string) bool { return slices.Contains(l.Rel, rel) }

// ParseLink parses the value of a Link header (several header fields may be
// joined with ", "). It follows RFC 8288: links in any order, any number of
// parameters, optional whitespace around ";", "," and "=", token or quoted
// values, commas and semicolons inside <...>. Empty elements (",,") and an
// empty parameter after a trailing ";" are tolerated; anything else that is
// not a link is an error. It never panics, whatever the input.
func ParseLink(header string) ([]Link, error) {
	p := linkParser{s: header}
	var links []Link
	for {
		// Empty list elements are allowed: `, , <a>; rel=x`.
		p.skipWhile(func(c byte) bool { return isOWS(c) || c == ',' })
		if p.eof() {
			return links, nil
		}
		l, err := p.link()
		if err != nil {
			return nil, err
		}
		links = append(links, l)
	}
}

// NextLink returns the target of the first link with rel="next" in h's Link
// header fields, resolved against base (the URL the response came from).
// It returns "" when there is no such link.
func NextLink(h http.Header, base *url.URL) (string, error) {
	values := h.Values("Link")
	if len(values) == 0 {
		return "", nil
	}
	links, err := ParseLink(strings.Join(values, ", "))
	if err != nil {
		return "", err
	}
	for _, l := range links {
		if !l.HasRel("next") {
			continue
		}
		ref, err := url.Parse(l.URL)
		if err != nil {
			return "", fmt.Errorf("link rel=next %q: %w", truncate(l.URL, 80), errors.Unwrap(err))
		}
		if base == nil {
			return ref.String(), nil
		}
		return base.ResolveReference(ref).String(), nil
	}
	return "", nil
}

// linkParser reads a Link header value left to right.
type linkParser struct {
	s string
	i int
}

func (p *linkParser) eof() bool { return p.i >= len(p.s) }

func (p *linkParser) peek() byte { return p.s[p.i] }

func (p *linkParser) skipWhile(f func(byte) bool) {
	for p.i < len(p.s) && f(p.s[p.i]) {
		p.i++
	}
}

func (p *linkParser) errorf(format string, args ...any) error {
	return fmt.Errorf("link header at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

// link reads `<uri> *( OWS ";" OWS link-param )` and the separator after it.
func (p *linkParser) link() (Link, error) {
	if p.peek() != '<' {
		return Link{}, p.errorf("expected '<', found %q", p.peek())
	}
	end := strings.IndexByte(p.s[p.i+1:], '>')
	if end < 0 {
		return Link{}, p.errorf("'<' without '>'")
	}
	target := p.s[p.i+1 : p.i+1+end]
	for j := 0; j < len(target); j++ {
		if c := target[j]; c <= ' ' || c == 0x7f || c == '<' {
			return Link{}, p.errorf("character %q inside <...>", c)
		}
	}
	p.i += end + 2
	l := Link{URL: target}
	seenRel := false
	for {
		p.skipWhile(isOWS)
		if p.eof() || p.peek() == ',' {
			return l, nil
		}
		if p.peek() != ';' {
			return Link{}, p.errorf("expected ';' or ',', found %q", p.peek())
		}
		p.i++
		p.skipWhile(isOWS)
		if p.eof() || p.peek() == ',' || p.peek() == ';' {
			continue // an empty parameter, as in `<a>; rel=next;`
		}
		name, value, err := p.param()
		if err != nil {
			return Link{}, err
		}
		if name == "rel" {
			// RFC 8288 3.3: occurrences after the first are ignored.
			if !seenRel {
				seenRel = true
				if rels := strings.Fields(strings.ToLower(value)); len(rels) > 0 {
					l.Rel = rels
				}
			}
			continue
		}
		if _, dup := l.Params[name]; !dup {
			if l.Params == nil {
				l.Params = map[string]string{}
			}
			l.Params[name] = value
		}
	}
}

// param reads `token BWS [ "=" BWS ( token / quoted-string ) ]`.
func (p *linkParser) param() (name, value string, err error) {
	start := p.i
	p.skipWhile(isTchar)
	if p.i == start {
		return "", "", p.errorf("expected a parameter name, found %q", p.peek())
	}
	name = strings.ToLower(p.s[start:p.i])
	p.skipWhile(isOWS)
	if p.eof() || p.peek() != '=' {
		return name, "", nil
	}
	p.i++
	p.skipWhile(isOWS)
	if p.eof() {
		return "", "", p.errorf("parameter %q has no value after '='", name)
	}
	if p.peek() == '"' {
		value, err = p.quoted()
		return name, value, err
	}
	start = p.i
	p.skipWhile(isTchar)
	if p.i == start {
		return "", "", p.errorf("parameter %q: expected a token or a quoted string, found %q", name, p.peek())
	}
	return name, p.s[start:p.i], nil
}

// quoted reads an RFC 9110 quoted-string, backslash escapes included.
func (p *linkParser) quoted() (string, error) {
	p.i++ // the opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errorf("quoted string ends with '\\'")
			}
			q := p.s[p.i+1]
			if !isQuotedPairChar(q) {
				return "", p.errorf("bad escaped character %q in quoted string", q)
			}
			b.WriteByte(q)
			p.i += 2
		case isQdtext(c):
			b.WriteByte(c)
			p.i++
		default:
			return "", p.errorf("character %q inside a quoted string", c)
		}
	}
	return "", p.errorf("unterminated quoted string")
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// isTchar: RFC 9110 token characters.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5b) || (0x5d <= c && c <= 0x7e) || c >= 0x80
}

func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || (0x21 <= c && c <= 0x7e) || c >= 0x80
}
