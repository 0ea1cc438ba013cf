package signals

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func heartbeats(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "2026-03-01T12:00:%02d.123456Z pid=7 heartbeat n=%d\n", i%60, i)
	}
	return b.String()
}

func TestReadBounded(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		maxLines     int
		maxLineBytes int
		want         boundedLog
	}{
		{
			name: "empty log", in: "", maxLines: 4, maxLineBytes: 100,
			want: boundedLog{},
		},
		{
			name: "fits", in: "started uid=0\nheartbeat n=1\n", maxLines: 4, maxLineBytes: 100,
			want: boundedLog{Lines: []string{"started uid=0", "heartbeat n=1"}, Read: 2},
		},
		{
			name: "last line without newline", in: "a\nfatal: open /var/lib/scenario/state: read-only file system", maxLines: 4, maxLineBytes: 100,
			want: boundedLog{Lines: []string{"a", "fatal: open /var/lib/scenario/state: read-only file system"}, Read: 2},
		},
		{
			name: "head and tail kept, middle dropped", in: "1\n2\n3\n4\n5\n6\n7\n", maxLines: 4, maxLineBytes: 100,
			want: boundedLog{Lines: []string{"1", "2", "6", "7"}, Dropped: 3, Read: 7},
		},
		{
			name: "odd cap keeps the extra line at the head", in: "1\n2\n3\n4\n5\n6\n7\n", maxLines: 3, maxLineBytes: 100,
			want: boundedLog{Lines: []string{"1", "2", "7"}, Dropped: 4, Read: 7},
		},
		{
			name: "one line cap keeps the first", in: "1\n2\n3\n", maxLines: 1, maxLineBytes: 100,
			want: boundedLog{Lines: []string{"1"}, Dropped: 2, Read: 3},
		},
		{
			name: "long lines cut", in: "abcdefghij\nxy\n", maxLines: 4, maxLineBytes: 4,
			want: boundedLog{Lines: []string{"abcd", "xy"}, Read: 2},
		},
		{
			name: "cut does not split a rune", in: "aé\n", maxLines: 4, maxLineBytes: 2,
			want: boundedLog{Lines: []string{"a"}, Read: 1},
		},
		{
			name: "empty lines count", in: "\n\nx\n", maxLines: 4, maxLineBytes: 4,
			want: boundedLog{Lines: []string{"", "", "x"}, Read: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBounded(strings.NewReader(tt.in), tt.maxLines, tt.maxLineBytes)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadBoundedLongStream(t *testing.T) {
	// A line far longer than the reader's buffer, then many lines.
	in := strings.Repeat("x", 200_000) + "\n" + heartbeats(10_000)
	got, err := readBounded(strings.NewReader(in), 100, 64)
	require.NoError(t, err)
	require.Len(t, got.Lines, 100)
	assert.Equal(t, strings.Repeat("x", 64), got.Lines[0])
	assert.Equal(t, "2026-03-01T12:00:40.123456Z pid=7 heartbeat n=10000", got.Lines[99])
	assert.Equal(t, 10_001-100, got.Dropped)
	assert.Equal(t, 10_001, got.Read)
}

type failingReader struct{ data io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestReadBoundedError(t *testing.T) {
	got, err := readBounded(failingReader{strings.NewReader("a\nb\n")}, 4, 10)
	require.Error(t, err)
	assert.Equal(t, 2, got.Read)
}

func FuzzReadBounded(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), 2, 3)
	f.Add([]byte("\xff\xfe\n\n"), 1, 1)
	f.Fuzz(func(t *testing.T, in []byte, maxLines, maxLineBytes int) {
		if maxLines < 1 || maxLines > 1000 || maxLineBytes < 1 || maxLineBytes > 1000 {
			t.Skip()
		}
		got, err := readBounded(strings.NewReader(string(in)), maxLines, maxLineBytes)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(got.Lines), maxLines)
		assert.Equal(t, got.Read, len(got.Lines)+got.Dropped)
		for _, l := range got.Lines {
			assert.LessOrEqual(t, len(l), maxLineBytes)
		}
	})
}
