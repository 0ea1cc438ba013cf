package oracle

import "strings"

// isHostName reports whether core is a DNS host name, optionally with a port
// ("a.b.example.org", "db.example.org:5432", "my-svc.my-ns.svc.cluster.local"):
// lower-case labels of letters, digits and inner hyphens, at least two of
// them, the last a top-level domain. Names whose first label is itself a
// top-level domain are reverse-DNS identifiers of code (Java and Android
// packages: "org.apache.hadoop.ipc.Server", "com.android.server.am"), and a
// two-letter last label only counts below a second-level domain, so that file
// names ("main.go", "jquery.min.js") and configuration keys
// ("mapred.task.id") stay literal.
func isHostName(core string) bool {
	host := core
	if k := strings.LastIndexByte(core, ':'); k >= 0 {
		if !isPort(core[k+1:]) {
			return false
		}
		host = core[:k]
	}
	labels, first, last := 0, "", ""
	for rest := host; ; {
		k := strings.IndexByte(rest, '.')
		label := rest
		if k >= 0 {
			label = rest[:k]
		}
		if !isHostLabel(label) {
			return false
		}
		if labels == 0 {
			first = label
		}
		labels++
		last = label
		if k < 0 {
			break
		}
		rest = rest[k+1:]
	}
	if labels < 2 || isCodeRoot(first) {
		return false
	}
	for i := 0; i < len(last); i++ {
		if byteClass[last[i]] != clsLower {
			return false // a top-level domain is all letters
		}
	}
	if isTLD(last) {
		return true
	}
	// A country code under a second-level domain ("cuhk.edu.hk",
	// "bbc.co.uk"); other dotted names ending in two letters are more often
	// configuration keys ("mapred.task.id") or file names.
	if len(last) == 2 && labels >= 3 {
		k := strings.LastIndexByte(host[:len(host)-3], '.')
		return isSecondLevel(host[k+1 : len(host)-3])
	}
	return false
}

// isSecondLevel reports the second-level domains that registries under
// country codes use.
func isSecondLevel(s string) bool {
	switch s {
	case "co", "com", "ac", "edu", "gov", "net", "org", "ne", "or", "go", "gob", "nic", "mil":
		return true
	}
	return false
}

// isPort reports a decimal TCP/UDP port number.
func isPort(s string) bool {
	if len(s) == 0 || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if byteClass[s[i]] != clsDigit {
			return false
		}
	}
	return true
}

// isHostLabel reports one DNS label: lower-case letters, digits and inner
// hyphens, at most 63 bytes.
func isHostLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; byteClass[c] != clsLower && byteClass[c] != clsDigit && c != '-' {
			return false
		}
	}
	return true
}

// isTLD reports the generic top-level domains and the private suffixes that
// clusters and home networks use in place of one.
func isTLD(s string) bool {
	switch s {
	case "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io", "dev", "app", "cloud",
		"ai", "co", "me", "tv", "us", "eu", "uk", "de", "fr", "ch", "nl", "jp", "cn", "ru", "au", "ca",
		"local", "localdomain", "internal", "lan", "home", "corp", "intranet", "svc", "cluster", "arpa",
		"example", "test", "invalid", "localhost":
		return true
	}
	return false
}

// isCodeRoot reports the first labels of reverse-DNS names of code
// packages: public top-level domains and the roots of the Java platform.
func isCodeRoot(s string) bool {
	switch s {
	case "java", "javax", "jdk", "sun", "android", "androidx", "kotlin", "scala":
		return true
	case "local", "localdomain", "internal", "lan", "home", "corp", "intranet", "svc", "cluster", "arpa",
		"example", "test", "invalid", "localhost":
		return false
	}
	return isTLD(s)
}
