package clone

import (
	"strings"
)

// maxNameLen is the longest namespace name (a DNS-1123 label).
const maxNameLen = 63

// cloneName builds "<prefix><source>-<trial>-<suffix>", cutting source and
// trial so the name is a valid namespace name of at most 63 characters.
func cloneName(prefix, source, trial, suffix string) string {
	prefix = sanitize(prefix, false)
	source = strings.Trim(sanitize(source, true), "-")
	trial = strings.Trim(sanitize(trial, true), "-")
	suffix = strings.Trim(sanitize(suffix, true), "-")
	budget := maxNameLen - len(prefix) - len(suffix) - 2 // two separators
	if budget < 2 {
		// An absurdly long prefix: keep it legal.
		prefix = strings.TrimRight(prefix[:min(len(prefix), maxNameLen-len(suffix)-4)], "-") + "-"
		budget = maxNameLen - len(prefix) - len(suffix) - 2
	}
	srcLen := min(len(source), max(budget-len(trial), budget/2))
	source = strings.Trim(source[:srcLen], "-")
	trialLen := min(len(trial), budget-len(source))
	trial = strings.Trim(trial[:trialLen], "-")

	parts := make([]string, 0, 3)
	for _, p := range []string{source, trial, suffix} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	name := prefix + strings.Join(parts, "-")
	return strings.Trim(name, "-")
}

// sanitize lower-cases s and replaces every character that may not appear in
// a DNS-1123 label with '-', collapsing runs of '-' when collapse is set.
func sanitize(s string, collapse bool) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			continue
		}
		if collapse && strings.HasSuffix(b.String(), "-") {
			continue
		}
		b.WriteByte('-')
	}
	return b.String()
}

// labelValue makes s a valid label value: at most 63 characters of
// [A-Za-z0-9-_.], starting and ending with an alphanumeric.
func labelValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '_' || r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	v := b.String()
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.TrimFunc(v, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
}
