package oracle

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Limits of a LineFilter, so that a workload's annotation cannot make the
// log test slow: RE2 matches in time linear in the line, and the number and
// size of the patterns are bounded.
const (
	MaxIgnorePatterns     = 32
	MaxIgnorePatternBytes = 512
)

// ErrIgnorePattern wraps every error of ParseLineFilter.
var ErrIgnorePattern = errors.New("invalid ignore-logs pattern")

// LineFilter is a workload's list of log lines it declares harmless: the
// log test (TC-03) leaves a line out, in the baselines and in every trial,
// when the filter matches it. The zero value matches nothing.
type LineFilter struct {
	substrings []string
	patterns   []*regexp.Regexp
}

// ParseLineFilter parses a list of harmless log lines, one entry per line
// of s. Surrounding whitespace and empty lines are ignored. An entry that
// starts with "^" and ends with "$" is an RE2 regular expression matched
// against the whole raw log line; any other entry is a literal, case-
// sensitive substring of the raw line. At most MaxIgnorePatterns entries of
// at most MaxIgnorePatternBytes each. An error wraps ErrIgnorePattern and
// names the entry; the filter is then empty.
func ParseLineFilter(s string) (LineFilter, error) {
	var f LineFilter
	n := 0
	for i, raw := range strings.Split(s, "\n") {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		n++
		if n > MaxIgnorePatterns {
			return LineFilter{}, fmt.Errorf("%w: more than %d entries", ErrIgnorePattern, MaxIgnorePatterns)
		}
		if len(e) > MaxIgnorePatternBytes {
			return LineFilter{}, fmt.Errorf("%w: line %d: %d bytes, limit %d", ErrIgnorePattern, i+1, len(e), MaxIgnorePatternBytes)
		}
		if len(e) >= 2 && strings.HasPrefix(e, "^") && strings.HasSuffix(e, "$") {
			re, err := regexp.Compile(e)
			if err != nil {
				return LineFilter{}, fmt.Errorf("%w: line %d: %w", ErrIgnorePattern, i+1, err)
			}
			f.patterns = append(f.patterns, re)
			continue
		}
		f.substrings = append(f.substrings, e)
	}
	return f, nil
}

// Empty reports whether the filter matches no line.
func (f LineFilter) Empty() bool { return len(f.substrings) == 0 && len(f.patterns) == 0 }

// Len is the number of entries.
func (f LineFilter) Len() int { return len(f.substrings) + len(f.patterns) }

// Match reports whether line is declared harmless.
func (f LineFilter) Match(line string) bool {
	for _, s := range f.substrings {
		if strings.Contains(line, s) {
			return true
		}
	}
	for _, re := range f.patterns {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// filter returns the lines f does not match and how many it left out. It
// returns lines itself when f is empty or matches none of them.
func (f LineFilter) filter(lines []string) ([]string, int) {
	if f.Empty() {
		return lines, 0
	}
	var out []string
	for i, l := range lines {
		if !f.Match(l) {
			if out != nil {
				out = append(out, l)
			}
			continue
		}
		if out == nil {
			out = append(make([]string, 0, len(lines)-1), lines[:i]...)
		}
	}
	if out == nil {
		return lines, 0
	}
	return out, len(lines) - len(out)
}
