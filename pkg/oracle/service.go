package oracle

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Answers that carry no text of the server. Every other answer starts with
// "banner ", "reply " or "http ".
const (
	// AnswerRefused: the connection was refused.
	AnswerRefused = "refused"
	// AnswerUnreachable: the connection was neither accepted nor refused
	// in time.
	AnswerUnreachable = "unreachable"
	// AnswerClosed: the server closed the connection without sending
	// anything.
	AnswerClosed = "closed"
	// AnswerReset: the server reset the connection.
	AnswerReset = "reset"
	// AnswerSilent: the server accepted and kept the connection open, sent
	// no banner and did not answer the GET in time.
	AnswerSilent = "silent"
)

// Reasons of TC-05 evidence.
const (
	ReasonRefused       = "Refused"
	ReasonChangedAnswer = "ChangedAnswer"
	ReasonNotJudged     = "NotJudged"
)

// maxAnswerLine bounds the server text kept in one answer.
const maxAnswerLine = 256

// BannerAnswer is the answer of a port that sent line unprompted (a greeting
// such as "220 ..." or "+OK", or an error line). Only its first line is kept;
// binary greetings become "banner binary".
func BannerAnswer(raw string) string { return "banner " + firstLine(raw) }

// ReplyAnswer is the answer of a port that sent no banner and answered the
// GET with something that is not HTTP (e.g. a line protocol's error).
func ReplyAnswer(raw string) string { return "reply " + firstLine(raw) }

// HTTPAnswer is the answer of a port that sent no banner and answered the GET
// with HTTP: the status class as a word (success, redirect, client-error,
// server-error, informational), the status line's code and reason, and the
// header names, lower case, sorted and deduplicated. Masking hides the code;
// the class word keeps a 5xx from passing for a 200.
func HTTPAnswer(statusLine string, headerNames []string) string {
	f := strings.Fields(firstLine(statusLine))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return ReplyAnswer(statusLine)
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 999 {
		return ReplyAnswer(statusLine)
	}
	class := map[int]string{1: "informational", 2: "success", 3: "redirect", 4: "client-error", 5: "server-error"}[code/100]
	if class == "" {
		class = "unknown-class"
	}
	names := make([]string, 0, len(headerNames))
	seen := map[string]bool{}
	for _, h := range headerNames {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || seen[h] || len(names) == 32 {
			continue
		}
		seen[h] = true
		names = append(names, h)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("http ")
	b.WriteString(class)
	for _, w := range f[1:] {
		b.WriteByte(' ')
		b.WriteString(w)
	}
	b.WriteString(" headers")
	for _, h := range names {
		b.WriteByte(' ')
		b.WriteString(h)
	}
	return truncate(b.String(), 2*maxAnswerLine)
}

// firstLine returns the first line of raw, trimmed and bounded; text with
// control bytes other than tab, CR and LF is "binary".
func firstLine(raw string) string {
	if i := strings.IndexByte(raw, '\n'); i >= 0 {
		raw = raw[:i]
	}
	raw = strings.TrimSpace(raw)
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f {
			return "binary"
		}
	}
	if len(raw) > maxAnswerLine {
		raw = raw[:maxAnswerLine]
	}
	return raw
}

// serviceKey identifies a probed target across runs: the protocol (empty
// for TCP), the port and the HTTP path asked.
type serviceKey struct {
	protocol string
	port     int32
	path     string
}

func (k serviceKey) String() string {
	p := strconv.Itoa(int(k.port))
	if k.protocol != "" {
		p += "/" + strings.ToLower(k.protocol)
	}
	if k.path == "" || k.path == "/" {
		return p
	}
	return p + " " + k.path
}

func probesByKey(r Recording) map[serviceKey][]ProbeObservation {
	out := map[serviceKey][]ProbeObservation{}
	for _, p := range r.Probes {
		k := serviceKey{p.Protocol, p.Port, p.Path}
		out[k] = append(out[k], p)
	}
	return out
}

func sortedServiceKeys[V any](m map[serviceKey]V) []serviceKey {
	out := make([]serviceKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].port != out[j].port {
			return out[i].port < out[j].port
		}
		if out[i].protocol != out[j].protocol {
			return out[i].protocol < out[j].protocol
		}
		return out[i].path < out[j].path
	})
	return out
}

// serviceBaseline is what both baselines show for one target.
type serviceBaseline struct {
	key       serviceKey
	container string
	// judged reports that the target answered consistently in both
	// baselines; why says why not.
	judged bool
	why    string
	// model holds the answers of both baselines.
	model *Drain
	// example is a baseline answer, for evidence.
	example string
	// answering is the latest of the baselines' first accepted offsets:
	// from then on both baselines were answering.
	answering time.Duration
	// body is what both baselines show of the bodies of HTTP answers.
	body bodyBaseline
}

// serviceBaselines judges, per target, whether both baselines answered
// consistently: each was probed, every connection was accepted, and the
// answers of each match the templates of the other.
func serviceBaselines(cfg Config, baselines [2]Recording) []serviceBaseline {
	var by [2]map[serviceKey][]ProbeObservation
	keys := map[serviceKey]bool{}
	for i, b := range baselines {
		by[i] = probesByKey(b)
		for k := range by[i] {
			keys[k] = true
		}
	}
	var out []serviceBaseline
	for _, k := range sortedServiceKeys(keys) {
		sb := serviceBaseline{key: k}
		obs := [2][]ProbeObservation{by[0][k], by[1][k]}
		for _, o := range append(append([]ProbeObservation(nil), obs[0]...), obs[1]...) {
			if sb.container == "" {
				sb.container = o.Container
			}
		}
		dc := answerDrainConfig(cfg)
		models := [2]*Drain{NewDrain(dc), NewDrain(dc)}
		sb.model = NewDrain(dc)
		for i := range obs {
			first := time.Duration(-1)
			for _, o := range obs[i] {
				if o.Accepted && first < 0 {
					first = o.Offset
				}
				models[i].Train(o.Answer)
				sb.model.Train(o.Answer)
				if sb.example == "" && o.Accepted {
					sb.example = o.Answer
				}
			}
			sb.answering = max(sb.answering, first)
		}
		sb.body = newBodyBaseline(cfg, obs)
		switch {
		case len(obs[0]) == 0 || len(obs[1]) == 0:
			sb.why = "probed in one baseline only"
		case !allAccepted(obs[0]) || !allAccepted(obs[1]):
			sb.why = "not accepting connections throughout both baselines"
		case !allMatch(models[1], obs[0]) || !allMatch(models[0], obs[1]):
			sb.why = "the baselines answered differently"
		default:
			sb.judged = true
		}
		out = append(out, sb)
	}
	return out
}

func allAccepted(obs []ProbeObservation) bool {
	for _, o := range obs {
		if !o.Accepted {
			return false
		}
	}
	return true
}

func allMatch(d *Drain, obs []ProbeObservation) bool {
	for _, o := range obs {
		if _, ok := d.Match(o.Answer); !ok {
			return false
		}
	}
	return true
}

// ServiceComparison is the outcome of comparing a trial's port answers with
// its baselines' (TC-05).
type ServiceComparison struct {
	// Judged counts the targets (port and path) that answered consistently
	// in both baselines; Failed those of them the trial answered
	// differently (status, headers or body) or not at all; Unprobed those
	// of them the trial never probed (no Ready pod).
	Judged, Failed, Unprobed int
	// BodiesJudged counts the judged targets whose HTTP bodies were judged
	// by template and length class (the baselines agreed on both).
	BodiesJudged int
	// NotJudged names the targets the baselines did not answer on
	// consistently, with the reason; BodiesNotJudged the judged targets
	// whose body template or length the baselines disagreed on.
	NotJudged, BodiesNotJudged []string
	// TrialProbes counts the trial's observations.
	TrialProbes int
	// Evidence holds at most Config.EvidenceTemplates changed answers and
	// then the targets not judged.
	Evidence []Evidence
}

// Pass reports whether every judged target answered as in the baselines.
func (c ServiceComparison) Pass() bool { return c.Failed == 0 }

// Result renders the comparison as the TC-05 test result.
func (c ServiceComparison) Result() TestResult {
	res := TestResult{ID: TestServices, Name: NameServices, Hard: true, Pass: c.Pass(), Evidence: c.Evidence}
	switch {
	case c.Judged == 0 && len(c.NotJudged) == 0:
		res.Reason = "no port was probed in the baselines"
	case c.Pass():
		res.Reason = fmt.Sprintf("%d of %d judged ports answered as in both baselines (%d probes)", c.Judged-c.Unprobed, c.Judged, c.TrialProbes)
	default:
		res.Reason = fmt.Sprintf("%d of %d judged ports refused or answered with templates or bodies neither baseline produced", c.Failed, c.Judged)
	}
	if c.BodiesJudged > 0 {
		res.Reason += fmt.Sprintf("; %d HTTP bodies judged", c.BodiesJudged)
	}
	if c.Unprobed > 0 {
		res.Reason += fmt.Sprintf("; %d not probed in the trial (no Ready pod)", c.Unprobed)
	}
	if len(c.NotJudged) > 0 {
		res.Reason += "; not judged: " + strings.Join(c.NotJudged, ", ")
	}
	if len(c.BodiesNotJudged) > 0 {
		res.Reason += "; not judged strictly: " + strings.Join(c.BodiesNotJudged, ", ")
	}
	return res
}

// CompareServices judges the trial's port answers against the baselines'.
// Answers are masked and mined with Drain like log lines, per target. A
// target that answered consistently in both baselines fails when the trial
// refuses a connection on it or answers with a template neither baseline
// produced, or, for HTTP, with a body whose template or length class
// neither baseline produced (where the baselines agreed on them) or an
// empty body where no baseline body was empty. Other targets are not
// judged and are reported as such.
func CompareServices(cfg Config, baselines [2]Recording, trial Recording) ServiceComparison {
	var out ServiceComparison
	out.TrialProbes = len(trial.Probes)
	tp := probesByKey(trial)
	var changed, notJudged []Evidence
	for _, sb := range serviceBaselines(cfg, baselines) {
		if !sb.judged {
			out.NotJudged = append(out.NotJudged, fmt.Sprintf("%s (%s)", sb.key, sb.why))
			notJudged = append(notJudged, Evidence{Container: sb.container, Reason: ReasonNotJudged, Port: sb.key.port, Protocol: sb.key.protocol, Path: sb.key.path, Message: sb.why})
			continue
		}
		out.Judged++
		if sb.body.seen && sb.body.notJudged == "" {
			out.BodiesJudged++
		}
		if sb.body.notJudged != "" {
			out.BodiesNotJudged = append(out.BodiesNotJudged, fmt.Sprintf("%s %s", sb.key, sb.body.notJudged))
		}
		obs := tp[sb.key]
		if len(obs) == 0 {
			out.Unprobed++
			continue
		}
		ev := append(changedAnswers(cfg, sb, obs), changedBodies(sb, obs)...)
		if len(ev) > 0 {
			out.Failed++
			changed = append(changed, ev...)
		}
	}
	if len(changed) > cfg.EvidenceTemplates {
		changed = changed[:cfg.EvidenceTemplates]
	}
	if len(notJudged) > cfg.EvidenceTemplates {
		notJudged = notJudged[:cfg.EvidenceTemplates]
	}
	out.Evidence = append(changed, notJudged...)
	return out
}

// answerDrainConfig is the Drain configuration for service answers: an
// answer summary lists header names, so one more or one fewer is a change,
// not noise (no LengthTolerance).
func answerDrainConfig(cfg Config) DrainConfig {
	dc := cfg.Drain
	dc.LengthTolerance = -1
	return dc
}

// changedAnswers groups the trial answers of one judged target that the
// baselines' model does not know, most frequent first.
func changedAnswers(cfg Config, sb serviceBaseline, obs []ProbeObservation) []Evidence {
	var second *Drain
	pods := map[int]string{}
	for _, o := range obs {
		if _, ok := sb.model.Match(o.Answer); ok && o.Accepted {
			continue
		}
		if second == nil {
			second = NewDrain(answerDrainConfig(cfg))
		}
		if id := second.Train(o.Answer); id >= 0 {
			if _, ok := pods[id]; !ok {
				pods[id] = o.Pod
			}
		}
	}
	if second == nil {
		return nil
	}
	tpls := second.Templates()
	sort.SliceStable(tpls, func(i, j int) bool { return tpls[i].Count > tpls[j].Count })
	var out []Evidence
	for _, t := range tpls {
		reason := ReasonChangedAnswer
		if t.Example == AnswerRefused || t.Example == AnswerUnreachable {
			reason = ReasonRefused
		}
		out = append(out, Evidence{
			Pod: pods[t.ID], Container: sb.container, Reason: reason,
			Port: sb.key.port, Protocol: sb.key.protocol, Path: sb.key.path,
			Baseline: sb.example, Template: t.String(), Count: t.Count, Example: truncate(t.Example, 512),
			Message: fmt.Sprintf("port %s answered %q in both baselines, %q in the trial", sb.key, sb.example, t.Example),
		})
	}
	return out
}

// earlyServiceFailure fails a running trial when a target that answered
// consistently in both baselines refuses a connection (or cannot be
// reached) at an offset when both baselines were already answering on it.
func earlyServiceFailure(cfg Config, baselines [2]Recording, partial Recording) (TestResult, bool) {
	if len(partial.Probes) == 0 || (len(baselines[0].Probes) == 0 && len(baselines[1].Probes) == 0) {
		return TestResult{}, false
	}
	tp := probesByKey(partial)
	for _, sb := range serviceBaselines(cfg, baselines) {
		if !sb.judged {
			continue
		}
		for _, o := range tp[sb.key] {
			if o.Accepted || o.Offset < sb.answering {
				continue
			}
			reason := fmt.Sprintf("port %s stopped accepting connections that both baselines accepted", sb.key)
			if sb.key.protocol == ProtocolUDP {
				reason = fmt.Sprintf("port %s refused datagrams (port unreachable) that both baselines took", sb.key)
			}
			return TestResult{
				ID: TestServices, Name: NameServices, Hard: true,
				Reason: reason,
				Evidence: []Evidence{{
					Pod: o.Pod, Container: sb.container, Reason: ReasonRefused,
					Port: sb.key.port, Protocol: sb.key.protocol, Path: sb.key.path, Baseline: sb.example, Example: o.Answer,
					Message: fmt.Sprintf("port %s answered %q in both baselines, %q in the trial after %s", sb.key, sb.example, o.Answer, o.Offset.Round(time.Second)),
				}},
			}, true
		}
	}
	return TestResult{}, false
}
