package oracle

import (
	"strings"
	"sync"
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
}

// DefaultDrainConfig is the single configuration used for every workload.
func DefaultDrainConfig() DrainConfig {
	return DrainConfig{Depth: 5, Similarity: 0.6, MaxChildren: 100, MaxClusters: 50000, MaxEnumValues: 4}
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

type cluster struct {
	tokens  []string
	count   int
	example string
	// enums are the positions generalised from literal words, with the
	// distinct words seen there while they stay few.
	enums []enumPos
}

// enumPos tracks the distinct words of one generalised position. While they
// are at most MaxEnumValues the position is an enumeration (a state, an
// action): its words tell groups apart and a new word is new. Beyond that,
// or once a masked value or path shows up, it is a variable (open).
type enumPos struct {
	pos  int
	vals []string
	open bool
}

func (e *enumPos) add(v string, maxVals int) {
	if e.open {
		return
	}
	if !isWord(v) {
		e.open, e.vals = true, nil
		return
	}
	for _, x := range e.vals {
		if x == v {
			return
		}
	}
	if len(e.vals) >= maxVals {
		e.open, e.vals = true, nil
		return
	}
	e.vals = append(e.vals, strings.Clone(v))
}

func (e *enumPos) has(v string) bool {
	for _, x := range e.vals {
		if x == v {
			return true
		}
	}
	return false
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
	byLen    map[int]*node
	clusters []cluster
	masker   Masker // Train's, guarded by mu
	pool     sync.Pool
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
	d := &Drain{cfg: cfg, byLen: map[int]*node{}}
	d.pool.New = func() any { return new(Masker) }
	return d
}

// Len returns the number of log groups.
func (d *Drain) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.clusters)
}

// Train learns one raw line and returns the id of its group, or -1 when the
// line would need a new group beyond MaxClusters.
func (d *Drain) Train(line string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	toks := d.masker.Mask(line)
	leaf, skip := d.route(toks, true)
	best, _ := d.search(leaf, toks, skip, false)
	if best >= 0 {
		c := &d.clusters[best]
		c.count++
		for k := range c.enums {
			c.enums[k].add(toks[c.enums[k].pos], d.cfg.MaxEnumValues)
		}
		for i, t := range c.tokens {
			if t != toks[i] && t != Wildcard {
				c.tokens[i] = Wildcard
				if d.cfg.MaxEnumValues > 0 {
					e := enumPos{pos: i}
					e.add(t, d.cfg.MaxEnumValues)
					e.add(toks[i], d.cfg.MaxEnumValues)
					c.enums = append(c.enums, e)
				}
			}
		}
		return best
	}
	if len(d.clusters) >= d.cfg.MaxClusters {
		return -1
	}
	tpl := make([]string, len(toks))
	for i, t := range toks {
		if t == Wildcard {
			tpl[i] = Wildcard
		} else {
			tpl[i] = strings.Clone(t)
		}
	}
	id := len(d.clusters)
	d.clusters = append(d.clusters, cluster{tokens: tpl, count: 1, example: strings.Clone(line)})
	leaf.clusters = append(leaf.clusters, id)
	return id
}

// Match returns the group a raw line belongs to without learning it; ok is
// false when the line is new to the model: no group is similar enough, or
// the line shows an unseen word where its group has an enumeration.
func (d *Drain) Match(line string) (id int, ok bool) {
	m := d.pool.Get().(*Masker)
	toks := m.Mask(line)
	d.mu.RLock()
	leaf, skip := d.route(toks, false)
	id, _ = d.search(leaf, toks, skip, true)
	d.mu.RUnlock()
	d.pool.Put(m)
	return id, id >= 0
}

// Classify returns the group of a raw line, like Match, and its variant:
// the words at the group's enumeration positions, joined by spaces (empty
// when the group has none). Lines of one group and variant share an event.
func (d *Drain) Classify(line string) (id int, variant string, ok bool) {
	m := d.pool.Get().(*Masker)
	defer d.pool.Put(m)
	toks := m.Mask(line)
	d.mu.RLock()
	defer d.mu.RUnlock()
	leaf, skip := d.route(toks, false)
	id, _ = d.search(leaf, toks, skip, true)
	if id < 0 {
		return -1, "", false
	}
	var b strings.Builder
	for _, e := range d.clusters[id].enums {
		if e.open {
			continue
		}
		b.WriteString(toks[e.pos])
		b.WriteByte(' ')
	}
	return id, b.String(), true
}

// conforms reports whether toks fits group id beyond similarity: words at
// the group's enumerations are among those seen, and where the template
// kept a literal word (it never varied in training) the line has that word.
// Masked values and paths may differ.
func (d *Drain) conforms(id int, toks []string) bool {
	c := &d.clusters[id]
	for _, e := range c.enums {
		if !e.open && !e.has(toks[e.pos]) {
			return false
		}
	}
	for i, t := range c.tokens {
		if l := toks[i]; t != l && t != Wildcard && isWord(t) && isWord(l) {
			return false
		}
	}
	return true
}

// isWord reports a token that is neither masked nor path-like.
func isWord(t string) bool {
	return routable(t) && !strings.Contains(t, Wildcard)
}

// Template returns a snapshot of group id.
func (d *Drain) Template(id int) Template {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c := d.clusters[id]
	return Template{ID: id, Tokens: append([]string(nil), c.tokens...), Count: c.count, Example: c.example}
}

// Templates returns snapshots of all groups in creation order.
func (d *Drain) Templates() []Template {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Template, len(d.clusters))
	for id, c := range d.clusters {
		out[id] = Template{ID: id, Tokens: append([]string(nil), c.tokens...), Count: c.count, Example: c.example}
	}
	return out
}

// route walks the tree: token count first, then the first Depth-2 tokens
// that are not Wildcard. With create, missing nodes are added (up to
// MaxChildren per node, then the wildcard child is shared).
func (d *Drain) route(toks []string, create bool) (*node, int) {
	n := d.byLen[len(toks)]
	if n == nil {
		if !create {
			return nil, 0
		}
		n = &node{}
		d.byLen[len(toks)] = n
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
			next = &node{}
			n.children[strings.Clone(t)] = next
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
			next = &node{}
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

// search returns the most similar group of the leaf and its similarity, or
// -1 when none reaches the threshold. With params (matching mode), template
// wildcards count as matching tokens and only groups the line conforms to
// are candidates; otherwise wildcards do not count (Drain's training rule).
func (d *Drain) search(leaf *node, toks []string, skip int, params bool) (int, float64) {
	if leaf == nil {
		return -1, 0
	}
	best, bestSim, bestPar := -1, -1.0, -1
	for _, id := range leaf.clusters {
		tpl := d.clusters[id].tokens
		var same, total float64
		par := 0
		for i, t := range tpl {
			l := toks[i]
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
			case !routable(t) && !routable(l):
				// two different masked values or paths: variable, not
				// evidence against the group
			default:
				total++
			}
		}
		sim := 1.0
		if total > 0 {
			sim = same / total
		}
		if (sim > bestSim || (sim == bestSim && par > bestPar)) && (!params || d.conforms(id, toks)) {
			best, bestSim, bestPar = id, sim, par
		}
	}
	if bestSim < d.cfg.Similarity {
		return -1, bestSim
	}
	return best, bestSim
}
