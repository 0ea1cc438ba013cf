package oracle

import (
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// DrainConfig holds the parameters of the Drain parse tree (He et al., "Drain:
// An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017).
type DrainConfig struct {
	// Depth is the depth of the parse tree including the root and the
	// token-count layer; Depth-2 token layers route a line to its leaf.
	Depth int
	// Similarity is the threshold st: a line joins the most similar group
	// of its leaf when their similarity reaches it.
	Similarity float64
	// MaxChildren bounds the children of an inner node; further tokens share
	// the wildcard child.
	MaxChildren int
	// MaxClusters bounds the number of log groups; lines that would create
	// more are not learned (Train returns -1).
	MaxClusters int
	// MaxEnumValues is the most distinct words a generalised position may
	// show and still count as an enumeration whose words tell groups apart
	// (Classify) and whose unseen words are new (Match). Zero disables.
	MaxEnumValues int
	// LengthTolerance is how many tokens a line may have more or fewer
	// than its group's template and still belong to it (Drain proper only
	// groups lines of one length): a line that no group of its own length
	// takes joins a group whose template it equals but for one inserted or
	// missing token. Only 1 is supported; zero takes the default (1), a
	// negative value disables it.
	LengthTolerance int
}

// minGapTokens is the least number of tokens a line or template must have
// for a one-token difference in length to be tolerated: shorter lines differ
// too much by one token.
const minGapTokens = 4

// DefaultDrainConfig is the single configuration used for every workload.
func DefaultDrainConfig() DrainConfig {
	return DrainConfig{Depth: 5, Similarity: 0.6, MaxChildren: 100, MaxClusters: 50000, MaxEnumValues: 4, LengthTolerance: 1}
}

// Template is a snapshot of one log group: its template tokens (variable
// positions are Wildcard), the number of lines it absorbed and its first line.
type Template struct {
	ID      int      `json:"id"`
	Tokens  []string `json:"-"`
	Count   int      `json:"count"`
	Example string   `json:"example,omitempty"`
}

// String returns the template as one line.
func (t Template) String() string { return strings.Join(t.Tokens, " ") }

// A cluster is one shape of a log group: a template of one token count.
// A group has one shape (its root, whose index is the group id) unless
// LengthTolerance added shapes one token longer or shorter.
type cluster struct {
	tokens  []string
	facts   []uint8 // per token, its facts (tokenFacts)
	count   int     // lines of the whole group, kept on the root
	example string
	group   int   // id of the group (the root cluster)
	runs    uint8 // baseline runs whose lines the shape absorbed, one bit each
	// enums are the positions generalised from literal words, with the
	// distinct words seen there while they stay few.
	enums []enumPos
}

// enumPos tracks the distinct words of one generalised position. While they
// are at most MaxEnumValues the position is an enumeration (a state, an
// action): its words tell groups apart and a new word is new. Beyond that,
// or once a masked value or path shows up, it is a variable (open). With
// lines of two baseline runs, a position whose words of one run never occur
// in the other (a host, an id, a worker number that masking left literal)
// is run-specific, a variable too.
type enumPos struct {
	pos    int
	vals   []string
	runs   []uint8 // per word, the runs that produced it
	seen   uint8   // all runs that produced a word here
	shared bool    // some word was produced by more than one run
	open   bool
}

// add records token v (word: its factWord) of runs at the position.
func (e *enumPos) add(v string, word bool, runs uint8, maxVals int) {
	e.seen |= runs
	if e.open {
		return
	}
	if !word {
		e.open, e.vals, e.runs = true, nil, nil
		return
	}
	for k, x := range e.vals {
		if x == v {
			e.runs[k] |= runs
			e.shared = e.shared || bits(e.runs[k]) > 1
			return
		}
	}
	if len(e.vals) >= maxVals {
		e.open, e.vals, e.runs = true, nil, nil
		return
	}
	e.vals = append(e.vals, strings.Clone(v))
	e.runs = append(e.runs, runs)
	e.shared = e.shared || bits(runs) > 1
}

// closed reports whether the position is an enumeration: not open and not
// run-specific.
func (e *enumPos) closed() bool {
	return !e.open && (bits(e.seen) < 2 || e.shared)
}

func (e *enumPos) clone() enumPos {
	c := *e
	c.vals = append([]string(nil), e.vals...)
	c.runs = append([]uint8(nil), e.runs...)
	return c
}

func bits(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

func (e *enumPos) has(v string) bool {
	for _, x := range e.vals {
		if x == v {
			return true
		}
	}
	return false
}

// lengthClass holds what Drain keeps of the lines of one token count: the
// root of their tree (the token-count layer) and the shapes of that length
// (cluster indices, for LengthTolerance).
type lengthClass struct {
	root   *node
	shapes []int
}

type node struct {
	children map[string]*node
	clusters []int // leaf only
}

// Drain is an online log-template miner: each raw line is masked and routed
// through a fixed-depth tree to the group it resembles most, whose template
// is then generalised. Train must not be called concurrently with itself;
// all other methods are safe for concurrent use, also with Train.
type Drain struct {
	cfg      DrainConfig
	mu       sync.RWMutex
	byLen    []lengthClass // by token count
	clusters []cluster
	groups   int
	scratch  scratch   // Train's, guarded by mu
	pool     sync.Pool // of *scratch, for Match and Classify
	// What Train keeps (copies of tokens and lines, facts, token slices,
	// tree nodes) is cut from blocks, guarded by mu.
	bytes slab[byte]
	strs  slab[string]
	nodes slab[node]
}

// slab hands out short slices cut from larger blocks, so that a model of
// many templates costs few allocations. A block lives as long as any slice
// cut from it; blocks grow from minSlab to maxSlab elements.
type slab[T any] struct{ block []T }

const minSlab, maxSlab = 64, 4096

// take returns n zero elements (capacity n).
func (s *slab[T]) take(n int) []T {
	if n > cap(s.block)-len(s.block) {
		s.block = make([]T, 0, max(n, min(2*cap(s.block), maxSlab), minSlab))
	}
	k := len(s.block)
	s.block = s.block[:k+n]
	return s.block[k : k+n : k+n]
}

// clone returns a copy of t cut from d.bytes.
func (d *Drain) clone(t string) string {
	if t == "" {
		return ""
	}
	b := d.bytes.take(len(t))
	copy(b, t)
	return unsafe.String(&b[0], len(b))
}

// Facts about a token that Drain's comparisons ask for.
const (
	factKnown    = 1 << iota // the facts below are computed
	factRoutable             // routable
	factWord                 // a word: neither masked nor path-like
)

func tokenFacts(t string) uint8 {
	f := uint8(factKnown)
	if routable(t) {
		f |= factRoutable
		if !strings.Contains(t, Wildcard) {
			f |= factWord
		}
	}
	return f
}

// wildcardFacts are the facts of Wildcard.
var wildcardFacts = tokenFacts(Wildcard)

// masked is a line as Drain compares it: its masked tokens and their facts,
// each computed when first asked for (most tokens are only compared for
// equality).
type masked struct {
	toks  []string
	facts []uint8
}

func (ln *masked) fact(i int) uint8 {
	f := ln.facts[i]
	if f == 0 {
		f = tokenFacts(ln.toks[i])
		ln.facts[i] = f
	}
	return f
}

func (ln *masked) routable(i int) bool { return ln.fact(i)&factRoutable != 0 }

func (ln *masked) word(i int) bool { return ln.fact(i)&factWord != 0 }

// scratch is what masking one line needs; the line it returns is valid
// until its next call.
type scratch struct {
	m  Masker
	ln masked
}

func (s *scratch) mask(line string) *masked {
	s.ln.toks = s.m.Mask(line)
	s.ln.facts = slices.Grow(s.ln.facts[:0], len(s.ln.toks))[:len(s.ln.toks)]
	clear(s.ln.facts)
	return &s.ln
}

// NewDrain returns an empty model. Zero fields of cfg take their defaults.
func NewDrain(cfg DrainConfig) *Drain {
	def := DefaultDrainConfig()
	if cfg.Depth < 3 {
		cfg.Depth = def.Depth
	}
	if cfg.Similarity <= 0 {
		cfg.Similarity = def.Similarity
	}
	if cfg.MaxChildren <= 0 {
		cfg.MaxChildren = def.MaxChildren
	}
	if cfg.MaxClusters <= 0 {
		cfg.MaxClusters = def.MaxClusters
	}
	switch {
	case cfg.LengthTolerance == 0:
		cfg.LengthTolerance = def.LengthTolerance
	case cfg.LengthTolerance > 1:
		cfg.LengthTolerance = 1
	}
	d := &Drain{cfg: cfg}
	d.pool.New = func() any { return new(scratch) }
	return d
}

// Len returns the number of log groups.
func (d *Drain) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.groups
}

// Train learns one raw line and returns the id of its group, or -1 when the
// line would need a new group beyond MaxClusters.
func (d *Drain) Train(line string) int {
	return d.TrainBaseline(line, 0)
}

// TrainBaseline is Train for a line of one of two baseline runs (run 0 or
// 1) of the same workload. A position of a template where the words of one
// run never occur in the other is a variable, not an enumeration: Match
// accepts any word there.
func (d *Drain) TrainBaseline(line string, run int) int {
	runs := uint8(1) << (run & 1)
	d.mu.Lock()
	defer d.mu.Unlock()
	ln := d.scratch.mask(line)
	toks := ln.toks
	leaf, skip := d.route(ln, true)
	if best, differs := d.search(leaf, ln, skip, false); best >= 0 {
		c := &d.clusters[best]
		d.absorb(c, ln, runs, differs)
		d.clusters[c.group].count++
		return c.group
	}
	if len(d.clusters) >= d.cfg.MaxClusters {
		return -1
	}
	id := len(d.clusters)
	c := cluster{tokens: d.strs.take(len(toks)), facts: d.bytes.take(len(toks)), count: 1, group: id, runs: runs}
	for i, t := range toks {
		c.facts[i] = ln.fact(i)
		if t == Wildcard {
			c.tokens[i] = Wildcard
		} else {
			c.tokens[i] = d.clone(t)
		}
	}
	if g, at, gap := d.gapSearch(ln, false); gap {
		// A new shape of an existing group: it takes over the group's
		// variable positions and enumerations.
		src := &d.clusters[g]
		c.group, c.count, c.runs = src.group, 0, src.runs
		for i, t := range src.tokens {
			switch j := at.lineIndex(i); {
			case j < 0:
			case t == Wildcard:
				c.tokens[j], c.facts[j] = Wildcard, wildcardFacts
			case t != toks[j]:
				// two masked values: generalised by absorb below
				c.tokens[j], c.facts[j] = t, src.facts[i]
			}
		}
		for _, e := range src.enums {
			if j := at.lineIndex(e.pos); j >= 0 {
				ce := e.clone()
				ce.pos = j
				c.enums = append(c.enums, ce)
			}
		}
		d.clusters[c.group].count++
	} else {
		c.example = d.clone(line)
		d.groups++
	}
	d.clusters = append(d.clusters, c)
	lc := &d.byLen[len(toks)] // route made it
	lc.shapes = append(lc.shapes, id)
	leaf.clusters = append(leaf.clusters, id)
	if c.group != id {
		d.absorb(&d.clusters[id], ln, runs, true)
	}
	return c.group
}

// absorb generalises shape c by one more line: positions where the line
// differs from the template become variables (enumerations while
// MaxEnumValues allows). Without differs, the line has the template's token
// wherever it is not Wildcard (search saw it).
func (d *Drain) absorb(c *cluster, ln *masked, runs uint8, differs bool) {
	toks := ln.toks
	for k := range c.enums {
		e := &c.enums[k]
		e.add(toks[e.pos], ln.word(e.pos), runs, d.cfg.MaxEnumValues)
	}
	if differs {
		for i, t := range c.tokens {
			if t != toks[i] && t != Wildcard {
				word := c.facts[i]&factWord != 0
				c.tokens[i], c.facts[i] = Wildcard, wildcardFacts
				if d.cfg.MaxEnumValues > 0 {
					e := enumPos{pos: i}
					e.add(t, word, c.runs, d.cfg.MaxEnumValues)
					e.add(toks[i], ln.word(i), runs, d.cfg.MaxEnumValues)
					c.enums = append(c.enums, e)
				}
			}
		}
	}
	c.runs |= runs
}

// gapAlign maps the positions of a template onto those of a line one token
// longer or shorter: the tokens before gap keep their index; after it, the
// line's index is shifted by delta (+1: the line has an inserted token at
// index gap; -1: the line misses the template's token at index gap).
type gapAlign struct {
	gap, delta int
}

// lineIndex returns the line index of template position i, or -1 for the
// template token the line misses.
func (a gapAlign) lineIndex(i int) int {
	switch {
	case i < a.gap:
		return i
	case a.delta > 0:
		return i + 1
	case i == a.gap:
		return -1
	default:
		return i - 1
	}
}

// gapSearch finds the shape, among those one token longer or shorter than
// the line, that the line equals but for one inserted or missing token: at
// every other position the tokens are equal, the template's is a variable
// (a word an enumeration there knows), or both are masked values or paths.
// Drain's similarity, the missing or inserted token counted as a
// difference, must reach the threshold too. The most similar candidate
// wins, then the one with most equal tokens, then the oldest. Only shapes
// within one token of their group's first shape qualify.
func (d *Drain) gapSearch(ln *masked, params bool) (int, gapAlign, bool) {
	toks := ln.toks
	if d.cfg.LengthTolerance <= 0 || len(toks) < minGapTokens-1 {
		return -1, gapAlign{}, false
	}
	best, bestSim, bestSame, bestAt := -1, -1.0, -1, gapAlign{}
	for _, n := range [2]int{len(toks) - 1, len(toks) + 1} {
		if min(n, len(toks)) < minGapTokens {
			continue
		}
		if n >= len(d.byLen) {
			continue
		}
		for _, id := range d.byLen[n].shapes {
			c := &d.clusters[id]
			if r := len(d.clusters[c.group].tokens); r < len(toks)-1 || r > len(toks)+1 {
				continue // the group's first shape is within one token
			}
			at, same, sim, ok := d.align(c, ln, params)
			if ok && sim >= d.cfg.Similarity && (sim > bestSim || sim == bestSim && same > bestSame) {
				best, bestSim, bestSame, bestAt = id, sim, same, at
			}
		}
	}
	return best, bestAt, best >= 0
}

// align aligns toks with shape c, whose length differs by one, and returns
// the number of equal tokens and Drain's similarity (search's rules; the
// gap counts as a difference). Of the possible gap positions, the one with
// the highest similarity, then the most equal tokens, then the leftmost is
// taken; the gap must be part of a variable (gapVariable).
func (d *Drain) align(c *cluster, ln *masked, params bool) (at gapAlign, same int, sim float64, ok bool) {
	m, n := len(c.tokens), len(ln.toks)
	short := min(m, n)
	sim = -1
	s := 0
	for s < short && d.fits(c, m-1-s, ln, n-1-s) {
		s++
	}
	// A gap needs the prefix to fit up to short-s at least: checked from
	// there backwards, as a line of another message usually differs near
	// the end of its prefix first (its fixed fields lead).
	for i := short - s - 1; i >= 0; i-- {
		if !d.fits(c, i, ln, i) {
			return at, same, sim, ok
		}
	}
	p := short - s
	for p < short && d.fits(c, p, ln, p) {
		p++
	}
	// Every gap position from short-s to p leaves a fitting prefix and
	// suffix.
	for g := short - s; g <= p; g++ {
		cand := gapAlign{gap: g, delta: n - m}
		if !gapVariable(c, ln, cand) {
			continue
		}
		cs, csim := d.similarity(c, ln, cand, params)
		if csim > sim || (csim == sim && cs > same) {
			at, same, sim, ok = cand, cs, csim, true
		}
	}
	return at, same, sim, ok
}

// similarity returns the equal tokens and Drain's similarity of toks and
// shape c under alignment at.
func (d *Drain) similarity(c *cluster, ln *masked, at gapAlign, params bool) (int, float64) {
	same := 0
	var eq, total float64 = 0, 1 // the gap
	for i, t := range c.tokens {
		j := at.lineIndex(i)
		if j < 0 {
			continue
		}
		switch l := ln.toks[j]; {
		case t == Wildcard && l == Wildcard:
		case t == Wildcard:
			total++
			if params {
				eq++
			}
		case t == l:
			same++
			eq++
			total++
		case c.facts[i]&factRoutable == 0 && !ln.routable(j):
		default:
			total++
		}
	}
	return same, eq / total
}

// gapVariable reports whether the inserted or missing token belongs to a
// variable part: it is a masked value or path itself, or it stands next to
// a variable of the template, which then spans one token more or fewer (a
// value with a space in it, an optional qualifier of a value). A word
// inserted between two words changes the message.
func gapVariable(c *cluster, ln *masked, at gapAlign) bool {
	long, short := ln.toks, c.tokens
	if at.delta < 0 {
		long, short = c.tokens, ln.toks
	}
	g := at.gap
	if g >= len(long) {
		return false
	}
	if at.delta < 0 && c.facts[g]&factWord == 0 || at.delta >= 0 && !ln.word(g) {
		return true
	}
	return (g > 0 && short[g-1] == Wildcard) || (g < len(short) && short[g] == Wildcard)
}

// fits reports whether line token l may stand at template position i of
// shape c: the same token, a masked value or path for another (tokens with
// literal parts, "lr:<*>" and "dbsr=<*>", must be equal), or a word
// the variable there allows (any, unless it is an enumeration: also in
// training, a line of another length does not grow an enumeration).
func (d *Drain) fits(c *cluster, i int, ln *masked, j int) bool {
	t, l := c.tokens[i], ln.toks[j]
	switch t {
	case l:
		return true
	case Wildcard:
		for k := range c.enums {
			if e := &c.enums[k]; e.pos == i {
				return !e.closed() || e.has(l)
			}
		}
		return true
	}
	return c.facts[i]&factRoutable == 0 && !ln.routable(j)
}

// Match returns the group a raw line belongs to without learning it; ok is
// false when the line is new to the model: no group is similar enough, or
// the line shows an unseen word where its group has an enumeration.
func (d *Drain) Match(line string) (id int, ok bool) {
	s := d.pool.Get().(*scratch)
	ln := s.mask(line)
	d.mu.RLock()
	id = d.find(ln)
	if id >= 0 {
		id = d.clusters[id].group
	}
	d.mu.RUnlock()
	d.pool.Put(s)
	return id, id >= 0
}

// find returns the shape toks matches (with LengthTolerance, one of another
// length), or -1. Callers hold mu.
func (d *Drain) find(ln *masked) int {
	leaf, skip := d.route(ln, false)
	if id, _ := d.search(leaf, ln, skip, true); id >= 0 {
		return id
	}
	if id, _, ok := d.gapSearch(ln, true); ok {
		return id
	}
	return -1
}

// Classify returns the group of a raw line, like Match, and its variant:
// the words at the group's enumeration positions, joined by spaces (empty
// when the group has none). Lines of one group and variant share an event.
func (d *Drain) Classify(line string) (id int, variant string, ok bool) {
	s := d.pool.Get().(*scratch)
	defer d.pool.Put(s)
	ln := s.mask(line)
	toks := ln.toks
	d.mu.RLock()
	defer d.mu.RUnlock()
	shape := d.find(ln)
	if shape < 0 {
		return -1, "", false
	}
	c := &d.clusters[shape]
	var b strings.Builder
	if len(c.enums) > 0 {
		at, gap := gapAlign{}, len(c.tokens) != len(toks)
		if gap {
			at, _, _, _ = d.align(c, ln, true)
		}
		for _, e := range c.enums {
			if !e.closed() {
				continue
			}
			if gap {
				if j := at.lineIndex(e.pos); j >= 0 {
					b.WriteString(toks[j])
				}
			} else {
				b.WriteString(toks[e.pos])
			}
			b.WriteByte(' ')
		}
	}
	return c.group, b.String(), true
}

// conforms reports whether toks fits group id beyond similarity: words at
// the group's enumerations are among those seen, and where the template
// kept a literal word (it never varied in training) the line has that word.
// Masked values and paths may differ.
func (d *Drain) conforms(id int, ln *masked) bool {
	c := &d.clusters[id]
	for _, e := range c.enums {
		if e.closed() && !e.has(ln.toks[e.pos]) {
			return false
		}
	}
	for i, t := range c.tokens {
		if t != ln.toks[i] && c.facts[i]&factWord != 0 && ln.word(i) {
			return false
		}
	}
	return true
}

// Template returns a snapshot of group id: the template of its first shape.
func (d *Drain) Template(id int) Template {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c := d.clusters[d.clusters[id].group]
	return Template{ID: c.group, Tokens: append([]string(nil), c.tokens...), Count: c.count, Example: c.example}
}

// Templates returns snapshots of all groups in creation order.
func (d *Drain) Templates() []Template {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Template, 0, d.groups)
	for id, c := range d.clusters {
		if c.group == id {
			out = append(out, Template{ID: id, Tokens: append([]string(nil), c.tokens...), Count: c.count, Example: c.example})
		}
	}
	return out
}

// route walks the tree: token count first, then the first Depth-2 tokens
// that are not Wildcard. With create, missing nodes are added (up to
// MaxChildren per node, then the wildcard child is shared).
func (d *Drain) route(ln *masked, create bool) (*node, int) {
	toks := ln.toks
	if len(toks) >= len(d.byLen) {
		if !create {
			return nil, 0
		}
		d.byLen = append(d.byLen, make([]lengthClass, len(toks)+1-len(d.byLen))...)
	}
	n := d.byLen[len(toks)].root
	if n == nil {
		if !create {
			return nil, 0
		}
		n = &d.nodes.take(1)[0]
		d.byLen[len(toks)].root = n
	}
	layers := d.cfg.Depth - 2
	pos := 0
	for ; pos < len(toks); pos++ {
		t := toks[pos]
		if layers == 0 {
			break
		}
		if !routable(t) {
			continue
		}
		layers--
		next := n.children[t]
		if next == nil && create && len(n.children) < d.cfg.MaxChildren-1 {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			next = &d.nodes.take(1)[0]
			n.children[d.clone(t)] = next
		}
		if next == nil {
			next = n.children[Wildcard]
		}
		if next == nil {
			if !create {
				return nil, 0
			}
			if n.children == nil {
				n.children = map[string]*node{}
			}
			next = &d.nodes.take(1)[0]
			n.children[Wildcard] = next
		}
		n = next
	}
	return n, pos
}

// routable reports whether a token may route a line through the tree:
// masked values and path-like tokens (file paths, addresses) do not.
func routable(t string) bool {
	if t == Wildcard || t[0] == '[' {
		return false // masked values, bracketed fields (thread names, levels)
	}
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '/', '\\', '@':
			return false
		}
	}
	return true
}

// search returns the most similar group of the leaf, or -1 when none
// reaches the threshold. With params (matching mode), template wildcards
// count as matching tokens and only groups the line conforms to are
// candidates; otherwise wildcards do not count (Drain's training rule). A
// group is given up at the first differing word after which it can no
// longer reach the threshold or the best similarity so far, even if all
// its remaining tokens were equal. Tokens are compared from the end: lines
// lead with fields that many messages share, their words differ later.
// differs tells whether the line has another token than the group's
// template somewhere the template is not Wildcard.
func (d *Drain) search(leaf *node, ln *masked, skip int, params bool) (best int, differs bool) {
	if leaf == nil {
		return -1, false
	}
	toks := ln.toks
	best, bestSim, bestPar := -1, -1.0, -1
clusters:
	for _, id := range leaf.clusters {
		c := &d.clusters[id]
		var same, total float64
		par, diff := 0, false
		for i := len(c.tokens) - 1; i >= 0; i-- {
			t, l := c.tokens[i], toks[i]
			if i < skip && (t == l || t == Wildcard) {
				continue // routing tokens: equal by construction
			}
			switch {
			case t == Wildcard && l == Wildcard:
			case t == Wildcard:
				par++
				total++
				if params {
					same++
				}
			case t == l:
				same++
				total++
			case c.facts[i]&factWord == 0 && !ln.word(i):
				// two different masked values or paths: variable, not
				// evidence against the group
				diff = true
			default:
				total++
				diff = true
				if rest := float64(i); (same+rest)/(total+rest) < max(bestSim, d.cfg.Similarity) {
					continue clusters
				}
			}
		}
		sim := 1.0
		if total > 0 {
			sim = same / total
		}
		if (sim > bestSim || (sim == bestSim && par > bestPar)) && (!params || d.conforms(id, ln)) {
			best, bestSim, bestPar, differs = id, sim, par, diff
		}
	}
	if bestSim < d.cfg.Similarity {
		return -1, false
	}
	return best, differs
}
