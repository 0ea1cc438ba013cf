package signals

import (
	"bufio"
	"errors"
	"io"
	"unicode/utf8"
)

// boundedLog is a log cut to at most maxLines lines: the first half and the
// last half are kept (start-up and, for a crash, its cause), the middle is
// counted in Dropped.
type boundedLog struct {
	Lines   []string
	Dropped int
	// Read is how many lines were read in all.
	Read int
}

// readBounded reads r line by line, keeping at most maxLines lines (the
// first ceil(maxLines/2) and the last floor(maxLines/2)) and at most
// maxLineBytes bytes of each line (cut on a rune boundary). Memory use is
// bounded by maxLines*maxLineBytes whatever the size of r.
func readBounded(r io.Reader, maxLines, maxLineBytes int) (boundedLog, error) {
	headCap := (maxLines + 1) / 2
	tailCap := maxLines - headCap
	var (
		head []string
		tail = make([]string, 0, min(tailCap, 1024))
		next int // ring position in tail once full
		out  boundedLog
	)
	br := bufio.NewReaderSize(r, 64*1024)
	var line []byte
	for {
		frag, isPrefix, err := br.ReadLine()
		if len(frag) > 0 && len(line) < maxLineBytes {
			line = append(line, frag[:min(len(frag), maxLineBytes-len(line))]...)
		}
		if err == nil && isPrefix {
			continue
		}
		if err != nil && len(frag) == 0 && len(line) == 0 {
			if errors.Is(err, io.EOF) {
				break
			}
			return out, err
		}
		s := string(cutRunes(line))
		line = line[:0]
		out.Read++
		switch {
		case len(head) < headCap:
			head = append(head, s)
		case tailCap == 0:
			out.Dropped++
		case len(tail) < tailCap:
			tail = append(tail, s)
		default:
			tail[next] = s
			next = (next + 1) % tailCap
			out.Dropped++
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return out, err
		}
	}
	out.Lines = append(head, tail[next:]...)
	out.Lines = append(out.Lines, tail[:next]...)
	return out, nil
}

// cutRunes drops a trailing partial UTF-8 sequence left by a byte cut.
func cutRunes(b []byte) []byte {
	for n := len(b); n > 0 && n > len(b)-utf8.UTFMax; n-- {
		if utf8.RuneStart(b[n-1]) {
			if !utf8.FullRune(b[n-1:]) {
				return b[:n-1]
			}
			break
		}
	}
	return b
}
