package oracle

import (
	"fmt"
	"sort"
	"strings"
)

// HTTPBody is what the probe read of the body of one HTTP answer (TC-05).
type HTTPBody struct {
	// Prefix is the body's first bytes, raw, at most BodyPrefixBytes.
	Prefix string `json:",omitempty"`
	// Bytes is the body's length: its Content-Length when the server sent
	// one, else the bytes read until the server closed the connection. The
	// probe stops reading at BodyLargeBytes; when the server stalls, Bytes
	// is what arrived in time.
	Bytes int
}

// Bounds of what a probe reads of a body and of the template made of it.
const (
	// BodyPrefixBytes bounds the body bytes kept for the template.
	BodyPrefixBytes = 1024
	// BodyLargeBytes is the length from which a body is BodyLarge; a
	// probe need not read further.
	BodyLargeBytes = 16 << 10
	// bodyTemplateTokens bounds the tokens of a body template. Counting
	// tokens, not bytes, keeps the cut at the same place of the document
	// when a variable part before it (a date, a name) changes length.
	bodyTemplateTokens = 32
	// bodyLengthSlack is the share by which a body may be shorter than
	// the shortest or longer than the longest baseline body and still fit
	// when its length class is new (a length near a class boundary).
	bodyLengthSlack = 0.25
	// maxBodyToken bounds the one token kept of a body that is one token
	// longer than the prefix.
	maxBodyToken = 64
)

// Length classes of a body. The boundaries grow by a factor of 16: a page
// whose variable parts (dates, counters, names) change from request to
// request changes by a few bytes and keeps its class, while a server that
// answers with an error text or nothing instead of its document moves at
// least one class. <64B holds one-line answers ("ok", "404 page not
// found", a short JSON status), <1KiB short documents, <16KiB typical
// pages, >=16KiB large documents and assets (the probe reads no further).
const (
	BodyEmpty  = "empty"
	BodyTiny   = "<64B"
	BodySmall  = "<1KiB"
	BodyMedium = "<16KiB"
	BodyLarge  = ">=16KiB"
)

// Body lines that stand for no text.
const (
	bodyLineEmpty  = "(empty)"
	bodyLineBlank  = "(blank)"
	bodyLineBinary = "(binary)"
)

// ReasonChangedBody: an HTTP answer kept its status class and header names
// but its body changed (TC-05 evidence).
const ReasonChangedBody = "ChangedBody"

// BodyClass returns the length class of a body of n bytes.
func BodyClass(n int) string {
	switch {
	case n <= 0:
		return BodyEmpty
	case n < 64:
		return BodyTiny
	case n < 1<<10:
		return BodySmall
	case n < BodyLargeBytes:
		return BodyMedium
	default:
		return BodyLarge
	}
}

// BodyLine returns the text a body's template is mined from: its first
// bodyTemplateTokens tokens, with markup and JSON punctuation split off
// (`<p>`, `{"a":1,` become tokens of their own, so the log masker sees
// values as tokens) and whitespace normalised to single spaces. A body cut
// by the prefix bound loses its last, possibly partial, token (of a body
// that is one long token, its first 64 bytes are kept). An empty
// body is "(empty)", one of whitespace only "(blank)", one with control
// bytes "(binary)".
func BodyLine(b HTTPBody) string {
	p := b.Prefix
	if len(p) > BodyPrefixBytes {
		p = p[:BodyPrefixBytes]
	}
	if p == "" && b.Bytes <= 0 {
		return bodyLineEmpty
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\v' && c != '\f') || c == 0x7f {
			return bodyLineBinary
		}
	}
	var sb strings.Builder
	sb.Grow(len(p) + len(p)/4)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '<', '}', ']':
			sb.WriteByte(' ')
			sb.WriteByte(c)
		case '>', ',', ';', '{', '[':
			sb.WriteByte(c)
			sb.WriteByte(' ')
		case ':':
			sb.WriteByte(c)
			if i > 0 && p[i-1] == '"' {
				sb.WriteByte(' ') // "key":value
			}
		case '\t', '\r', '\n', '\v', '\f', '|': // the masker's delimiters
			sb.WriteByte(' ')
		default:
			sb.WriteByte(c)
		}
	}
	toks := strings.Fields(sb.String())
	if cut := len(p) < b.Bytes || len(p) < len(b.Prefix); cut && len(toks) > 0 && !isBodySpace(p[len(p)-1]) {
		if len(toks) > 1 {
			toks = toks[:len(toks)-1]
		} else if len(toks[0]) > maxBodyToken {
			toks[0] = toks[0][:maxBodyToken] // one long token (minified code): its start
		}
	}
	if len(toks) > bodyTemplateTokens {
		toks = toks[:bodyTemplateTokens]
	}
	if len(toks) == 0 {
		return bodyLineBlank
	}
	return strings.Join(toks, " ")
}

func isBodySpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\v', '\f', '|', '>', ',', ';', '{', '[':
		return true
	}
	return false
}

// BodyTemplate returns the masked template of a body: BodyLine with its
// variable parts (numbers, hex, dates, ids, names, ...) masked by the log
// masker.
func BodyTemplate(b HTTPBody) string { return MaskLine(BodyLine(b)) }

// describeBody renders a body for evidence: its class, length and first
// words.
func describeBody(b HTTPBody) string {
	if b.Bytes <= 0 && b.Prefix == "" {
		return "body " + BodyEmpty + " (0 B)"
	}
	return fmt.Sprintf("body %s (%d B): %s", BodyClass(b.Bytes), b.Bytes, truncate(BodyLine(b), 200))
}

// bodyLengths is what a set of bodies shows of their lengths.
type bodyLengths struct {
	classes map[string]bool
	// lo and hi are the shortest and longest non-empty lengths (0: none).
	lo, hi int
}

func (l *bodyLengths) add(n int) {
	if l.classes == nil {
		l.classes = map[string]bool{}
	}
	l.classes[BodyClass(n)] = true
	if n <= 0 {
		return
	}
	if l.lo == 0 || n < l.lo {
		l.lo = n
	}
	l.hi = max(l.hi, n)
}

// fits reports whether a body of n bytes fits these lengths: its class is
// one of theirs, or it is not empty and within bodyLengthSlack of their
// non-empty range (a length near a class boundary). An empty body fits only
// where a body was empty.
func (l bodyLengths) fits(n int) bool {
	if l.classes[BodyClass(n)] {
		return true
	}
	return n > 0 && l.hi > 0 && float64(n) >= float64(l.lo)*(1-bodyLengthSlack) && float64(n) <= float64(l.hi)*(1+bodyLengthSlack)
}

// bodyBaseline is what both baselines show of the bodies of one target's
// HTTP answers.
type bodyBaseline struct {
	// seen reports that both baselines answered with HTTP bodies.
	seen bool
	// template and length report that the trial's body templates and
	// length classes are judged: the two baselines agreed on them. An
	// empty body where no baseline body was empty is judged always.
	template, length bool
	// notJudged says what is not judged and why; empty when both are.
	notJudged string
	model     *Drain
	lengths   bodyLengths
	// example describes a baseline body, for evidence.
	example string
}

// newBodyBaseline learns the bodies of one target's baseline answers. Each
// baseline's templates and lengths must fit the other's to be judged, as
// the answers themselves: where the two disagree (a page that differs from
// run to run in ways the masker does not know), only an empty body is a
// failure.
func newBodyBaseline(cfg Config, obs [2][]ProbeObservation) bodyBaseline {
	var bb bodyBaseline
	dc := answerDrainConfig(cfg)
	models := [2]*Drain{NewDrain(dc), NewDrain(dc)}
	var lengths [2]bodyLengths
	var bodies [2][]HTTPBody
	bb.model = NewDrain(dc)
	for i := range obs {
		for _, o := range obs[i] {
			if o.Body == nil {
				continue
			}
			line := BodyLine(*o.Body)
			models[i].Train(line)
			bb.model.TrainBaseline(line, i)
			lengths[i].add(o.Body.Bytes)
			bb.lengths.add(o.Body.Bytes)
			bodies[i] = append(bodies[i], *o.Body)
			if bb.example == "" {
				bb.example = describeBody(*o.Body)
			}
		}
	}
	if len(bodies[0]) == 0 || len(bodies[1]) == 0 {
		return bb
	}
	bb.seen, bb.template, bb.length = true, true, true
	var why []string
	for i := range bodies {
		for _, b := range bodies[i] {
			if _, ok := models[1-i].Match(BodyLine(b)); !ok {
				bb.template = false
			}
			if !lengths[1-i].fits(b.Bytes) {
				bb.length = false
			}
		}
	}
	if !bb.template {
		why = append(why, "body template (the baselines' bodies differed)")
	}
	if !bb.length {
		why = append(why, "body length (the baselines' body lengths differed; an empty body is still judged)")
	}
	bb.notJudged = strings.Join(why, ", ")
	return bb
}

// changedBodies returns the evidence of the trial answers of one judged
// target whose status and headers match the baselines but whose body does
// not: an empty body where no baseline body was empty, a length class the
// baselines never showed, or a template neither baseline produced (the
// last two only where the baselines agreed on them). Groups of equal class
// and template, most frequent first.
func changedBodies(sb serviceBaseline, obs []ProbeObservation) []Evidence {
	bb := sb.body
	if !bb.seen {
		return nil
	}
	type group struct {
		ev    Evidence
		first int
	}
	groups := map[string]*group{}
	for i, o := range obs {
		if o.Body == nil || !o.Accepted {
			continue
		}
		if _, ok := sb.model.Match(o.Answer); !ok {
			continue // a changed answer is evidence of its own
		}
		b := *o.Body
		bad := b.Bytes <= 0 && !bb.lengths.classes[BodyEmpty]
		if bb.length && !bb.lengths.fits(b.Bytes) {
			bad = true
		}
		line := BodyLine(b)
		if bb.template {
			if _, ok := bb.model.Match(line); !ok {
				bad = true
			}
		}
		if !bad {
			continue
		}
		tpl := MaskLine(line)
		key := BodyClass(b.Bytes) + " " + tpl
		g := groups[key]
		if g == nil {
			desc := describeBody(b)
			g = &group{first: i, ev: Evidence{
				Pod: o.Pod, Container: sb.container, Reason: ReasonChangedBody,
				Port: sb.key.port, Path: sb.key.path, Protocol: sb.key.protocol,
				Baseline: bb.example, Template: "body " + BodyClass(b.Bytes) + ": " + tpl, Example: desc,
				Message: fmt.Sprintf("port %s answered with %s in both baselines, with %s in the trial", sb.key, bb.example, desc),
			}}
			groups[key] = g
		}
		g.ev.Count++
	}
	out := make([]*group, 0, len(groups))
	for _, g := range groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ev.Count != out[j].ev.Count {
			return out[i].ev.Count > out[j].ev.Count
		}
		return out[i].first < out[j].first
	})
	ev := make([]Evidence, len(out))
	for i, g := range out {
		ev[i] = g.ev
	}
	return ev
}
