package oracle

import (
	"fmt"
	"sort"
)

// LogComparison is the outcome of comparing a trial's logs with its
// baselines' (TC-03).
type LogComparison struct {
	// BaselineLines and TrialLines count the lines read; Dropped counts the
	// lines left out by the per-stream caps (of the recorder and ours).
	BaselineLines, TrialLines, Dropped int
	// Ignored counts the lines of the baselines and the trial that
	// Config.IgnoreLines declared harmless; they are not judged.
	Ignored int
	// NaturalNovelty is the number of new templates one baseline shows
	// against the other (the larger direction).
	NaturalNovelty int
	// NewTemplates and NewLines describe what the trial produced that the
	// baselines never did.
	NewTemplates, NewLines int
	// Tolerance is the number of new templates allowed beyond the natural
	// novelty.
	Tolerance int
	// Evidence holds at most Config.EvidenceTemplates groups of new lines,
	// most frequent first.
	Evidence []Evidence
	// StartupOnly: every new template of the trial (not only those in
	// the evidence) appeared at most once in each container log, within
	// its first Config.StartupLines lines (OccurrenceStartup).
	StartupOnly bool
}

// Pass reports whether the trial stays within the baselines' natural
// novelty.
func (c LogComparison) Pass() bool { return c.NewTemplates <= c.NaturalNovelty+c.Tolerance }

// Result renders the comparison as the TC-03 test result.
func (c LogComparison) Result() TestResult {
	res := TestResult{ID: TestLogs, Name: NameLogs, Hard: true, Pass: c.Pass(), Evidence: c.Evidence}
	switch {
	case c.Pass() && c.NewTemplates == 0:
		res.Reason = fmt.Sprintf("all %d trial lines match templates of the baselines", c.TrialLines)
	case c.Pass():
		res.Reason = fmt.Sprintf("%d new templates (%d lines), within the baselines' natural novelty of %d", c.NewTemplates, c.NewLines, c.NaturalNovelty)
	default:
		res.Reason = fmt.Sprintf("%d new templates (%d of %d lines) that the baselines never produced; their natural novelty is %d", c.NewTemplates, c.NewLines, c.TrialLines, c.NaturalNovelty)
	}
	if c.Ignored > 0 {
		res.Reason += fmt.Sprintf(" (%d lines declared harmless were ignored)", c.Ignored)
	}
	return res
}

// Occurrence of a group of new log lines (Evidence.Occurrence).
const (
	// OccurrenceStartup: at most once in each container log, within its
	// first Config.StartupLines lines.
	OccurrenceStartup = "once-at-start-up"
	// OccurrenceOnce: at most once in each container log, later.
	OccurrenceOnce = "once"
	// OccurrenceRecurring: more than once in some container log.
	OccurrenceRecurring = "recurring"
)

// CompareLogs mines the baselines' logs with Drain, per container name, and
// judges the trial's lines against them. Where the two baselines show
// different words at the same position of a template (and no word in
// common), the position is a variable: a run-specific name is no novelty. The natural novelty is measured by
// judging each baseline against the other. New lines are clustered by a
// second Drain pass; the largest clusters are the evidence.
func CompareLogs(cfg Config, baselines [2]Recording, trial Recording) LogComparison {
	var out LogComparison
	out.Tolerance = cfg.LogNoveltyTolerance
	streams := [3]map[string][][]string{}
	for i, r := range []Recording{baselines[0], baselines[1], trial} {
		streams[i] = map[string][][]string{}
		for _, s := range r.Logs {
			lines, ignored := cfg.IgnoreLines.filter(s.Lines)
			out.Ignored += ignored
			out.Dropped += s.Dropped
			if cfg.MaxLinesPerStream > 0 && len(lines) > cfg.MaxLinesPerStream {
				out.Dropped += len(lines) - cfg.MaxLinesPerStream
				lines = lines[:cfg.MaxLinesPerStream]
			}
			streams[i][s.Container] = append(streams[i][s.Container], lines)
			if i < 2 {
				out.BaselineLines += len(lines)
			} else {
				out.TrialLines += len(lines)
			}
		}
	}
	containers := map[string]bool{}
	for _, m := range streams {
		for c := range m {
			containers[c] = true
		}
	}
	names := sortedKeys(containers)

	natural := [2]int{}
	var groups []Evidence
	out.StartupOnly = true
	for _, c := range names {
		a, b, t := streams[0][c], streams[1][c], streams[2][c]
		ma, mb, mab := NewDrain(cfg.Drain), NewDrain(cfg.Drain), NewDrain(cfg.Drain)
		train(ma, a, 0)
		train(mb, b, 0)
		train(mab, a, 0)
		train(mab, b, 1) // words that differ between the runs are variables
		natural[0] += newTemplates(cfg, mb, a, c).templates
		natural[1] += newTemplates(cfg, ma, b, c).templates
		n := newTemplates(cfg, mab, t, c)
		out.NewTemplates += n.templates
		out.NewLines += n.lines
		out.StartupOnly = out.StartupOnly && n.startupOnly
		groups = append(groups, n.groups...)
	}
	out.NaturalNovelty = max(natural[0], natural[1])
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Count > groups[j].Count })
	if len(groups) > cfg.EvidenceTemplates {
		groups = groups[:cfg.EvidenceTemplates]
	}
	out.Evidence = groups
	return out
}

func train(d *Drain, streams [][]string, run int) {
	for _, s := range streams {
		for _, l := range s {
			d.TrainBaseline(l, run)
		}
	}
}

type novelty struct {
	templates, lines int
	groups           []Evidence
	// startupOnly: every new template is OccurrenceStartup (true when
	// there is none).
	startupOnly bool
}

// seen is where the lines of one group of new lines appeared.
type seen struct {
	// first and last are the smallest and the largest 1-based line number
	// of its lines in their container logs; perStream the most lines in one
	// log.
	first, last, perStream int
}

func (s seen) occurrence(startup int) string {
	switch {
	case s.perStream > 1:
		return OccurrenceRecurring
	case s.last <= startup:
		return OccurrenceStartup
	}
	return OccurrenceOnce
}

// newTemplates judges the lines of streams against model and clusters the
// lines it does not know with a second Drain pass.
func newTemplates(cfg Config, model *Drain, streams [][]string, container string) novelty {
	n := novelty{startupOnly: true}
	var second *Drain
	overflow := 0
	where := map[int]seen{}
	for _, s := range streams {
		inStream := map[int]int{}
		for i, l := range s {
			if _, ok := model.Match(l); ok {
				continue
			}
			n.lines++
			if second == nil {
				dc := cfg.Drain
				dc.MaxClusters = max(cfg.EvidenceMaxClusters, 1)
				second = NewDrain(dc)
			}
			id := second.Train(l)
			if id < 0 {
				overflow++
				continue
			}
			id = second.Template(id).ID
			inStream[id]++
			w, ok := where[id]
			if !ok || i+1 < w.first {
				w.first = i + 1
			}
			w.last = max(w.last, i+1)
			w.perStream = max(w.perStream, inStream[id])
			where[id] = w
		}
	}
	if second == nil {
		return n
	}
	tpls := second.Templates()
	n.templates = len(tpls)
	if overflow > 0 {
		n.templates++ // at least one more, unclustered
		n.startupOnly = false
	}
	// A cluster merged into another after its lines were counted adds its
	// lines to the other's (perStream summed: never fewer than the truth).
	final := map[int]seen{}
	for id, w := range where {
		fid := second.Template(id).ID
		f, ok := final[fid]
		if ok {
			w.first, w.last, w.perStream = min(f.first, w.first), max(f.last, w.last), f.perStream+w.perStream
		}
		final[fid] = w
	}
	for _, w := range final {
		if w.occurrence(cfg.StartupLines) != OccurrenceStartup {
			n.startupOnly = false
		}
	}
	sort.SliceStable(tpls, func(i, j int) bool { return tpls[i].Count > tpls[j].Count })
	for i, t := range tpls {
		if i == cfg.EvidenceTemplates {
			break
		}
		w := where[t.ID]
		n.groups = append(n.groups, Evidence{Container: container, Reason: "NewTemplate", Template: t.String(), Count: t.Count, Example: truncate(t.Example, 512),
			FirstLine: w.first, Occurrence: w.occurrence(cfg.StartupLines)})
	}
	if overflow > 0 {
		n.groups = append(n.groups, Evidence{Container: container, Reason: "NewLinesNotClustered", Count: overflow})
	}
	return n
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
