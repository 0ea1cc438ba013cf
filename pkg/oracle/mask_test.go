package oracle

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaskLine(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"rfc3339 utc", "2024-11-26T03:40:41.123456Z INFO started", "<*> INFO started"},
		{"rfc3339 zone", "2024-11-26T03:40:41+01:00 INFO started", "<*> INFO started"},
		{"iso no zone comma millis", "2024-11-26 03:40:41,123 INFO started", "<*> <*> INFO started"},
		{"syslog", "Nov 26 03:40:41 host sshd[123]: ok", "<*> <*> <*> host sshd[<*>]: ok"},
		{"syslog long month", "September 2 03:40:41 ok", "<*> <*> <*> ok"},
		{"klog keeps severity", "I1126 03:40:41.123456   12345 controller.go:123] synced", "I<*> <*> <*> controller.go:<*>] synced"},
		{"klog error", "E1126 03:40:41.123456 1 x.go:9] failed", "E<*> <*> <*> x.go:<*>] failed"},
		{"apache", "[Sun Dec 04 04:47:44 2005] [notice] ok", "[<*>] [notice] ok"},
		{"apache access", `10.1.2.3 - - [26/Nov/2024:03:40:41 +0000] "GET / HTTP/1.1" 200 615`, `<*> - - [<*>] "GET / <*>" <*> <*>`},
		{"bracketed groups are one token", "INFO [AsyncDispatcher event handler] x [IPC Server handler 5 on 80] y [a b", "INFO [AsyncDispatcher event handler] x [<*>] y [a b"},
		{"units after numbers", "size 1905.0 B, free 413.9 MB took 3 ms of B", "size <*> <*>, free <*> <*> took <*> <*> of B"},
		{"epoch seconds and millis", "ts=1732592441 ms=1732592441123 msg=hi", "ts=<*> ms=<*> msg=hi"},
		{"bare epoch", "1732592441123 tick", "<*> tick"},
		{"integers and floats", "count 42 ratio -3.14 exp 1e-9 big +17", "count <*> ratio <*> exp <*> big <*>"},
		{"hex", "at 0xdeadbeef sha deadbeefcafebabe word cafe", "at <*> sha <*> word cafe"},
		{"uuid", "id 123e4567-e89b-12d3-a456-426614174000 and deadbeef-cafe-babe-dead-beefcafebabe", "id <*> and <*>"},
		{"ipv4 with port", "from 10.0.0.1:8080 to 192.168.1.1", "from <*> to <*>"},
		{"ipv6", "to [2001:db8::1]:443 fe80::1 ::1", "to [<*> <*> <*>"},
		{"durations", "took 42.8ms then 1m30s and 250µs", "took <*> then <*> and <*>"},
		{"sizes", "size 10MB 1.5GiB 512k", "size <*> <*> <*>"},
		{"generated pod names", "pod web-7d9f8c6b5-x2x9k web-7d9f8c6b5-bcdfk sts web-0", "pod web-<*>-<*> web-<*>-<*> sts <*>"},
		{"key value", "user=alice status=200 path=/api/v1/items/123 ok=true", "user=alice status=<*> path=<*> ok=true"},
		{"keyed slots", "uid=0 pid[77] port:80 LOCAL(0), #5", "uid=<*> pid[<*>] port:<*> LOCAL(<*>), <*>"},
		{"ids with numbers", "node R02-M1-N0-C:J12-U11 host dn228/dn228 tbird-admin1", "node <*> host <*> <*>"},
		{"prefixed ids", "block blk_-6952295868487656571 attempt appattempt_1445144423722_0020_000001", "block <*> attempt <*>"},
		{"worker pid", "start worker process 7", "start worker process <*>"},
		{"pipe separated", "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", "<*> Step_LSC <*> onStandStepChanged <*>"},
		{"host names", "connect to a.b.example.org ok from web-1.prod.internal", "connect to <*> ok from <*>"},
		{"host and port", "dial db.example.org:5432 and my-svc.my-ns.svc.cluster.local:53", "dial <*> and <*>"},
		{"two-label host", "resolve example.com (www.google.com)", "resolve <*> (<*>)"},
		{"country code under a second level", "open proxy.cse.cuhk.edu.hk:5070 via bbc.co.uk", "open <*> via <*>"},
		{"single label host keeps its name", "localhost:8080 db:5432", "localhost:<*> db:<*>"},
		{"java packages are not hosts", "org.apache.hadoop.ipc.Server com.android.server.am java.lang.Thread", "org.apache.hadoop.ipc.Server com.android.server.am java.lang.Thread"},
		{"file names and keys are not hosts", "main.go jquery.min.js mapred.task.id nginx.conf e.g. Foo.Bar.com", "main.go jquery.min.js mapred.task.id nginx.conf e.g. Foo.Bar.com"},
		{"am pm after a time", "at 3:04:05 PM and 11:00 am but PM alone", "at <*> <*> and <*> <*> but PM alone"},
		{"rfc 1123 date", "Date: Tue, 26 Nov 2024 03:40:41 GMT", "Date: <*>, <*> <*> <*> <*> GMT"},
		{"day month year words", "on 4 December 2024, 26-Nov-2024 or Nov/26/2024", "on <*> <*> <*>, <*> or <*>"},
		{"whitespace normalised", "  a\t b  ", "a b"},
		{"month word alone stays", "May the force", "May the force"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, MaskLine(tt.line))
		})
	}
}

func TestMaskerReuse(t *testing.T) {
	var m Masker
	first := strings.Join(m.Mask("a 1 b=2"), " ")
	second := strings.Join(m.Mask("x y"), " ")
	assert.Equal(t, "a <*> b=<*>", first)
	assert.Equal(t, "x y", second)
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"2024-11-26T03:40:41.123456Z INFO started", "[Sun Dec 04 04:47:44 2005] [notice] ok",
		"uid=0 pid[77] port:80", "web-7d9f8c6b5-x2x9k", "blk_-1", "-", "=", "a=b=c", "\xff\xfe", "x|y||z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var m Masker
		toks := m.Mask(line)
		again := strings.Join(toks, " ")
		require.Equal(t, again, MaskLine(line), "deterministic")
		for _, tok := range toks {
			require.NotEmpty(t, tok)
			require.True(t, tok[0] == '[' || !strings.ContainsAny(tok, " \t\r\n|"), "token %q holds a delimiter", tok)
			require.False(t, strings.ContainsAny(tok, "0123456789"), "token %q keeps a digit", tok)
		}
		if utf8.ValidString(line) {
			require.True(t, utf8.ValidString(again) || !utf8.ValidString(line))
		}
		// Masking never splits tokens; it only joins bracketed groups.
		require.LessOrEqual(t, len(toks), len(strings.FieldsFunc(line, func(r rune) bool { return r < 128 && byteClass[r] == clsSpace })))
	})
}
