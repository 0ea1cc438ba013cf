package oracle

import (
	"slices"
	"strings"
	"unsafe"
)

// Wildcard stands for a variable part of a line, both in masked lines and in
// templates.
const Wildcard = "<*>"

// Byte classes used by the hand-written token classifiers.
const (
	clsSep   = 0 // punctuation and other separators inside a token
	clsLower = 1 // a-z
	clsUpper = 2 // A-Z
	clsDigit = 3 // 0-9
	clsHigh  = 4 // bytes of multi-byte UTF-8 sequences: treated as letters
	clsSpace = 5 // token delimiters
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z':
			t[c] = clsLower
		case c >= 'A' && c <= 'Z':
			t[c] = clsUpper
		case c >= '0' && c <= '9':
			t[c] = clsDigit
		case c >= 0x80:
			t[c] = clsHigh
		case c == ' ' || c == '|' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
			t[c] = clsSpace
		default:
			t[c] = clsSep
		}
	}
	return t
}()

// Facts about a byte that the tokenizer gathers while it looks for the end
// of a token, so that classify need not scan the token again.
const (
	bitDigit     = 1 << iota // 0-9 (bit 0: added up as a count)
	bitHexLetter             // a-f, A-F (bit 1: added up as a count)
	bitLetter                // a-z, A-Z and bytes of multi-byte UTF-8 sequences
	bitNotLower              // A-Z and bytes of multi-byte UTF-8 sequences
	bitEq                    // =
	bitDash                  // -
	bitDot                   // .
	bitSpace                 // token delimiters (clsSpace)
)

var byteBits = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch byteClass[c] {
		case clsDigit:
			t[c] = bitDigit
		case clsLower:
			t[c] = bitLetter
		case clsUpper, clsHigh:
			t[c] = bitLetter | bitNotLower
		case clsSpace:
			t[c] = bitSpace
		}
		if isHex(byte(c)) && byteClass[c] != clsDigit {
			t[c] |= bitHexLetter
		}
		switch c {
		case '=':
			t[c] = bitEq
		case '-':
			t[c] = bitDash
		case '.':
			t[c] = bitDot
		}
	}
	return t
}()

// tokStats sums up the bytes of a raw token. Its wrapping punctuation
// (leadWrap, trailWrap) has no bit but bitDot, so the counts and the bits
// but bitDot are those of its core; bitDot may also come from a trailing
// ".".
type tokStats struct {
	digits, hexLetters int
	bits               uint8 // the bits of all its bytes
}

// scan adds the bytes of s from i on, up to the first that has a bit of
// stop, and returns the sums and that byte's index (or len(s)). The sums
// are kept in locals: this loop is the masker's hottest.
func (st tokStats) scan(s string, i int, stop uint8) (tokStats, int) {
	digits, hexLetters, bits := st.digits, st.hexLetters, st.bits
	for ; i < len(s); i++ {
		b := byteBits[s[i]]
		if b&stop != 0 {
			break
		}
		bits |= b
		digits += int(b & bitDigit)
		hexLetters += int(b >> 1 & 1)
	}
	return tokStats{digits: digits, hexLetters: hexLetters, bits: bits}, i
}

// Leading and trailing bytes that wrap a token's core, e.g. "[", "]:", ",".
var leadWrap, trailWrap = func() (l, r [256]bool) {
	for _, c := range []byte(`([{<"'`) {
		l[c] = true
	}
	for _, c := range []byte(`)]}>,;:."'!?`) {
		r[c] = true
	}
	return l, r
}()

// isSep reports a byte that separates runs inside a token (whitespace only
// occurs inside bracketed groups).
func isSep(c byte) bool {
	k := byteClass[c]
	return k == clsSep || k == clsSpace
}

func isHex(c byte) bool {
	return byteClass[c] == clsDigit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// Token kinds computed by the first classification pass.
const (
	kindLiteral  = iota // no variable part
	kindVar             // the whole core is variable
	kindMixed           // literal letters with variable runs
	kindDateWord        // a month or weekday name, variable next to a date
	kindUnit            // a size or duration unit, variable after a number
)

// maxGroup bounds the length of a bracketed group of words.
const maxGroup = 64

// Masker splits a raw log line into whitespace-separated tokens and replaces
// their variable parts (timestamps, numbers, hex, UUIDs, IP addresses, ports,
// durations, sizes, Kubernetes generated names, numeric key=value values)
// with Wildcard. It uses hand-written byte classifiers, not regular
// expressions. A Masker reuses its buffers: the tokens it returns are valid
// until its next call. It is not safe for concurrent use; the zero value is
// ready to use.
type Masker struct {
	toks  []string
	spans []tokSpan
	buf   []byte
}

type tokSpan struct {
	start, end   int // raw token in the line
	coreS, coreE int // core without wrapping punctuation
	kind         uint8
}

// Mask returns the masked tokens of line. The returned slice and strings are
// owned by the Masker and valid until its next call.
func (m *Masker) Mask(line string) []string {
	m.spans = m.spans[:0]
	m.toks = m.toks[:0]
	m.buf = m.buf[:0]
	n := len(line)
	for i := 0; i < n; {
		for i < n && byteBits[line[i]]&bitSpace != 0 {
			i++
		}
		if i >= n {
			break
		}
		s := i
		var st tokStats
		st, i = st.scan(line, i, bitSpace)
		// A bracketed group of words ("[IPC Server handler 5 on 80]") is one
		// field: one token.
		if line[s] == '[' && strings.IndexByte(line[s:i], ']') < 0 {
			if k := strings.IndexByte(line[i:min(n, i+maxGroup)], ']'); k >= 0 {
				st, _ = st.scan(line[:i+k], i, 0) // the delimiters inside too
				st, i = st.scan(line, i+k, bitSpace)
			}
		}
		// The core, without wrapping punctuation, is what is classified.
		coreS, coreE := s, i
		for coreS < coreE && leadWrap[line[coreS]] {
			coreS++
		}
		for coreE > coreS && trailWrap[line[coreE-1]] {
			coreE--
		}
		kind := uint8(kindLiteral)
		if coreS < coreE {
			kind = classify(line[coreS:coreE], st)
		}
		// Written field by field: a composite literal is built on the
		// stack and copied with wider loads than its stores, which stalls.
		m.spans = slices.Grow(m.spans, 1)[:len(m.spans)+1]
		sp := &m.spans[len(m.spans)-1]
		sp.start, sp.end, sp.coreS, sp.coreE, sp.kind = s, i, coreS, coreE, kind
	}
	// Month and weekday names are variable when they belong to a date, that
	// is when they sit next to a variable token. Right to left, so that
	// "Sun Dec 04" masks both names.
	for k := len(m.spans) - 1; k >= 0; k-- {
		sp := &m.spans[k]
		if sp.kind == kindUnit {
			sp.kind = kindLiteral
			if k > 0 && m.spans[k-1].kind == kindVar {
				sp.kind = kindVar // "1905.0 B", "3 ms"
			}
			continue
		}
		if sp.kind != kindDateWord {
			continue
		}
		if (k+1 < len(m.spans) && m.spans[k+1].kind == kindVar) || (k > 0 && m.spans[k-1].kind == kindVar) {
			sp.kind = kindVar
		} else {
			sp.kind = kindLiteral
		}
	}
	// One pass writes the tokens; a masked one is written into the buffer
	// first and aliases it: valid until the next call, as documented;
	// whoever keeps a token clones it. When the buffer grows, the tokens
	// already made keep the bytes they alias (append copies, it does not
	// move them).
	for k := range m.spans {
		sp := &m.spans[k]
		bufStart := len(m.buf)
		switch sp.kind {
		case kindVar:
			if sp.coreS == sp.start && sp.coreE == sp.end {
				m.toks = append(m.toks, Wildcard)
				continue
			}
			m.buf = append(m.buf, line[sp.start:sp.coreS]...)
			m.buf = append(m.buf, Wildcard...)
		case kindMixed:
			m.buf = append(m.buf, line[sp.start:sp.coreS]...)
			m.buf = appendMixed(m.buf, line[sp.coreS:sp.coreE])
		default:
			m.toks = append(m.toks, line[sp.start:sp.end])
			continue
		}
		m.buf = append(m.buf, line[sp.coreE:sp.end]...)
		m.toks = append(m.toks, unsafe.String(&m.buf[bufStart], len(m.buf)-bufStart))
	}
	return m.toks
}

// MaskLine returns line with its variable parts replaced by Wildcard and its
// whitespace normalised to single spaces.
func MaskLine(line string) string {
	var m Masker
	return strings.Join(m.Mask(line), " ")
}

// classify returns the kind of a token's core (not empty), whose bytes st
// sums up.
func classify(core string, st tokStats) uint8 {
	// The token's bits decide which special classifiers can apply.
	digits, letters := st.digits, st.bits&bitLetter != 0
	eq, dash, dot := st.bits&bitEq != 0, st.bits&bitDash != 0, st.bits&bitDot != 0
	switch {
	case len(core) == 36 && dash && isUUID(core):
		return kindVar
	case dot && letters && st.bits&bitNotLower == 0 && isHostName(core):
		return kindVar // host names are lower case
	case digits == 0 && len(core) <= 9 && st.bits&bitNotLower != 0 && isDateWord(core):
		return kindDateWord
	case digits == 0 && len(core) <= 3 && isUnit(core):
		return kindUnit
	case dash && isGeneratedName(core),
		digits == 4 && len(core) == 5 && isKlogLevel(core),
		eq && kvVariable(core) > 0:
		return kindMixed
	case digits == 0 && (len(core) < 8 || st.hexLetters < 8):
		return kindLiteral // no digit, too few hex letters for a hex run
	case !letters:
		// Numbers, dates, times, addresses: every run holds a digit.
		return kindVar
	}
	// Scan the alphanumeric runs: a run is variable when it holds a digit
	// or is a long hex string. The core is variable as a whole when no
	// literal letters remain.
	// A core with variable runs stays partly literal only when each
	// variable run fills a keyed slot: "uid=0", "sshd[24200]", "LOCAL(0)",
	// "port:80". Identifiers that merely contain numbers ("dn228/dn228",
	// "R02-M1-N0-C:J12-U11", "tbird-admin1") are variable as a whole.
	hasVar, hasLit, keyed := false, false, true
	for i := 0; i < len(core); {
		if isSep(core[i]) {
			i++
			continue
		}
		j, v := scanRun(core, i)
		if v {
			hasVar = true
			if keyed && !isKeyedSlot(core, i) {
				keyed = false
			}
		} else {
			hasLit = true
		}
		i = j
	}
	if hasVar && !keyed {
		hasLit = false
	}
	switch {
	case hasVar && !hasLit:
		return kindVar
	case hasVar:
		return kindMixed
	}
	return kindLiteral
}

// isKeyedSlot reports whether the run starting at core[i] follows a literal
// key and one of the bytes = [ ( : # (a sign may sit between them).
func isKeyedSlot(core string, i int) bool {
	if i > 0 && (core[i-1] == '-' || core[i-1] == '+') {
		i--
	}
	if i < 2 {
		return false
	}
	switch core[i-1] {
	case '=', '[', '(', ':', '#':
	default:
		return false
	}
	c := byteClass[core[i-2]]
	return c == clsLower || c == clsUpper || c == clsHigh || c == clsDigit || core[i-2] == ')' || core[i-2] == ']'
}

// scanRun scans the alphanumeric run starting at core[i] and reports its end
// and whether it is variable.
func scanRun(core string, i int) (int, bool) {
	j, digits, hex := i, uint8(0), true
	for ; j < len(core); j++ {
		b := byteBits[core[j]]
		if b&(bitDigit|bitLetter) == 0 {
			break // a separator
		}
		digits |= b & bitDigit
		hex = hex && b&(bitDigit|bitHexLetter) != 0
	}
	return j, digits != 0 || (hex && j-i >= 8)
}

// appendMixed appends core with its variable runs replaced by Wildcard.
// Variable runs joined by a single separator collapse into one Wildcard, so
// "appattempt_1445144423722_0020_000001" becomes "appattempt_<*>". A sign
// directly before a number that follows a separator belongs to the number.
// klog severities ("I1126") keep their letter.
func appendMixed(dst []byte, core string) []byte {
	if isGeneratedName(core) {
		return appendGeneratedName(dst, core)
	}
	if k := kvVariable(core); k > 0 {
		dst = append(dst, core[:k+1]...)
		return append(dst, Wildcard...)
	}
	lastVarEnd := -1 // index in dst just after the last written Wildcard
	for i := 0; i < len(core); {
		c := core[i]
		if isSep(c) {
			if (c == '-' || c == '+') && i+1 < len(core) && byteClass[core[i+1]] == clsDigit &&
				(i == 0 || isSep(core[i-1])) {
				i++ // sign of the number that follows
				continue
			}
			dst = append(dst, c)
			i++
			continue
		}
		j, v := scanRun(core, i)
		switch {
		case !v:
			dst = append(dst, core[i:j]...)
		case j-i == 5 && i == 0 && isKlogLevel(core[i:j]):
			dst = append(dst, core[i])
			dst = append(dst, Wildcard...)
			lastVarEnd = len(dst)
		case lastVarEnd >= 0 && len(dst) == lastVarEnd+1:
			dst = dst[:lastVarEnd] // "<*>.<*>" collapses into "<*>"
		default:
			dst = append(dst, Wildcard...)
			lastVarEnd = len(dst)
		}
		i = j
	}
	return dst
}

// kvVariable returns the index of the '=' of a "key=value" core whose key is
// an identifier and whose single value holds a variable run, else 0.
func kvVariable(core string) int {
	k := strings.IndexByte(core, '=')
	if k <= 0 || k == len(core)-1 || strings.IndexByte(core[k+1:], '=') >= 0 {
		return 0
	}
	for i := 0; i < k; i++ {
		c := core[i]
		if byteClass[c] == clsDigit || (byteClass[c] == clsSep && c != '_' && c != '-' && c != '.') {
			return 0
		}
	}
	v := core[k+1:]
	for i := 0; i < len(v); {
		if isSep(v[i]) {
			i++
			continue
		}
		j, isVar := scanRun(v, i)
		if isVar {
			return k
		}
		i = j
	}
	return 0
}

func isKlogLevel(run string) bool {
	if len(run) != 5 {
		return false
	}
	switch run[0] {
	case 'I', 'W', 'E', 'F':
	default:
		return false
	}
	for k := 1; k < len(run); k++ {
		if byteClass[run[k]] != clsDigit {
			return false
		}
	}
	return true
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// isDateWord reports whether s is an English month or weekday name, short or
// long, capitalised or upper case.
func isDateWord(s string) bool {
	if len(s) < 3 || len(s) > 9 || byteClass[s[0]] != clsUpper {
		return false
	}
	switch s {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
		"January", "February", "March", "April", "June", "July", "August", "September", "October", "November", "December",
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
		"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
		"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN":
		return true
	}
	return false
}

// isUnit reports a size or duration unit written apart from its number.
func isUnit(s string) bool {
	switch s {
	case "B", "KB", "MB", "GB", "TB", "PB", "kB", "KiB", "MiB", "GiB", "TiB", "K", "M", "G",
		"ns", "us", "µs", "ms", "s",
		"AM", "PM", "am", "pm": // the half of the day after a time

		return true
	}
	return false
}

// Kubernetes generates name suffixes from this alphabet (no vowels, no
// confusable digits): pod-template hashes and the random 5-character suffix.
func isK8sRand(c byte) bool {
	switch c {
	case 'b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'q', 'r', 's', 't', 'v', 'w', 'x', 'z',
		'2', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func isK8sRandSeg(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isK8sRand(s[i]) {
			return false
		}
	}
	return true
}

// isGeneratedName reports whether s looks like a Kubernetes generated pod name
// "<owner>-<hash>-<xxxxx>" whose random parts carry no digit (names with
// digits are masked by the run rule anyway).
func isGeneratedName(s string) bool {
	if len(s) < 14 || s[len(s)-6] != '-' { // "o-hhhhhh-rrrrr" at least
		return false
	}
	last := strings.LastIndexByte(s, '-')
	if last <= 0 || !isK8sRandSeg(s[last+1:], 5, 5) {
		return false
	}
	prev := strings.LastIndexByte(s[:last], '-')
	if prev <= 0 {
		return false
	}
	return isK8sRandSeg(s[prev+1:last], 6, 10)
}

func appendGeneratedName(dst []byte, s string) []byte {
	last := strings.LastIndexByte(s, '-')
	prev := strings.LastIndexByte(s[:last], '-')
	dst = appendMixed(dst, s[:prev])
	return append(dst, "-"+Wildcard+"-"+Wildcard...)
}
