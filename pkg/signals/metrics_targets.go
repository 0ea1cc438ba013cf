package signals

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// The schemes a metrics endpoint is scraped with.
const (
	SchemeHTTP  = "http"
	SchemeHTTPS = "https"
)

// defaultMetricsPath is the path of an endpoint that declares none.
const defaultMetricsPath = "/metrics"

// MetricsEntry is one declared Prometheus endpoint in a pod's own terms:
// an entry of cinch.dev/metrics, the prometheus.io/* annotations, or an
// endpoint of a Prometheus Operator monitor that selects the pod.
type MetricsEntry struct {
	// Port is a port number or a container port name; empty means every
	// TCP port the pod's containers declare.
	Port string
	// Path is the HTTP path; empty means /metrics.
	Path string
	// Scheme is http or https; empty means http.
	Scheme string
	// Source names the declaration in the problems it causes (e.g.
	// "PodMonitor web"); empty means cinch.dev/metrics.
	Source string
}

// MetricsTarget is one declared Prometheus endpoint of a pod.
type MetricsTarget struct {
	// Container declares the port; empty when no container port names it.
	Container string
	Port      int32
	// Path is the HTTP path, /metrics unless declared.
	Path string
	// Scheme is http or https.
	Scheme string
}

// Endpoint is the target as oracle.MetricsScrape.Endpoint names it (the
// scheme is not part of it).
func (t MetricsTarget) Endpoint() string { return oracle.MetricsEndpoint(t.Port, t.Path) }

// MetricsTargets derives the Prometheus endpoints pod declares, and the
// problems of declarations that cannot be scraped, from, in this order:
//
//   - prometheus.io/scrape "true": the port of prometheus.io/port (a
//     number or a container port name), or without it every declared TCP
//     container port, as Prometheus' common kubernetes-pods job scrapes
//     them; the path of prometheus.io/path (default /metrics) and the
//     scheme of prometheus.io/scheme (http or https, default http);
//   - cinch.dev/metrics: a comma-separated list of [SCHEME:][:]PORT[/PATH]
//     (ParseMetricsAnnotation);
//   - declared: endpoints declared outside the pod (Prometheus Operator
//     monitors), in the pod's terms.
//
// Targets are deduplicated by port and path (the first declaration's
// scheme wins); at most maxEndpoints are kept, the first declared first,
// and returned sorted by port and path.
func MetricsTargets(pod *corev1.Pod, declared []MetricsEntry, maxEndpoints int) ([]MetricsTarget, []string) {
	entries, problems := annotationEntries(pod.Annotations)
	entries = append(entries, declared...)
	ports := tcpPortsOf(pod)
	var out []MetricsTarget
	for _, e := range entries {
		ts, problem := ports.targets(e)
		if problem != "" {
			problems = append(problems, problem)
		}
		for _, t := range ts {
			dup := slices.ContainsFunc(out, func(o MetricsTarget) bool { return o.Port == t.Port && o.Path == t.Path })
			if !dup && (maxEndpoints <= 0 || len(out) < maxEndpoints) {
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, func(a, b MetricsTarget) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Path, b.Path))
	})
	return out, problems
}

// annotationEntries reads the endpoints a pod's annotations declare:
// prometheus.io/* first, then cinch.dev/metrics.
func annotationEntries(ann map[string]string) ([]MetricsEntry, []string) {
	out, problems := prometheusEntries(ann)
	v, ok := ann[hardening.AnnotationMetrics]
	if !ok {
		return out, problems
	}
	entries, err := ParseMetricsAnnotation(v)
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", hardening.AnnotationMetrics, err))
	}
	return append(out, entries...), problems
}

// prometheusEntries reads the endpoint of the prometheus.io/* annotations:
// none unless prometheus.io/scrape is "true".
func prometheusEntries(ann map[string]string) ([]MetricsEntry, []string) {
	if !strings.EqualFold(strings.TrimSpace(ann[AnnotationPrometheusScrape]), "true") {
		return nil, nil
	}
	e := MetricsEntry{
		Port:   strings.TrimSpace(ann[AnnotationPrometheusPort]),
		Path:   strings.TrimSpace(ann[AnnotationPrometheusPath]),
		Scheme: strings.ToLower(strings.TrimSpace(ann[AnnotationPrometheusScheme])),
		Source: AnnotationPrometheusPort,
	}
	switch {
	case e.Scheme != "" && e.Scheme != SchemeHTTP && e.Scheme != SchemeHTTPS:
		return nil, []string{fmt.Sprintf("%s %q: not http or https", AnnotationPrometheusScheme, ann[AnnotationPrometheusScheme])}
	case e.Path != "" && !strings.HasPrefix(e.Path, "/"):
		return nil, []string{fmt.Sprintf("%s %q: not a path", AnnotationPrometheusPath, e.Path)}
	}
	return []MetricsEntry{e}, nil
}

// podPorts are the TCP ports a pod's containers and sidecars declare.
type podPorts struct {
	// owner is the first container declaring a port, named the port
	// numbers by name; declared holds the ports in declaration order.
	owner    map[int32]string
	named    map[string]int32
	declared []int32
}

// servingContainers are a pod's containers and its sidecars (init
// containers that keep running).
func servingContainers(pod *corev1.Pod) []corev1.Container {
	out := append([]corev1.Container(nil), pod.Spec.Containers...)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, c)
		}
	}
	return out
}

func tcpPortsOf(pod *corev1.Pod) podPorts {
	p := podPorts{owner: map[int32]string{}, named: map[string]int32{}}
	for _, c := range servingContainers(pod) {
		for _, cp := range c.Ports {
			if cp.Protocol != "" && cp.Protocol != corev1.ProtocolTCP {
				continue
			}
			if _, ok := p.owner[cp.ContainerPort]; !ok {
				p.owner[cp.ContainerPort] = c.Name
				p.declared = append(p.declared, cp.ContainerPort)
			}
			if cp.Name != "" {
				p.named[cp.Name] = cp.ContainerPort
			}
		}
	}
	return p
}

// resolve is the number of port s: a number 1-65535 (declared or not) or
// a declared container port's name.
func (p podPorts) resolve(s string) (int32, bool) {
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int32(n), n > 0 && n <= 65535
	}
	n, ok := p.named[s]
	return n, ok
}

// targets resolves entry e against the pod's ports: its port, or every
// declared port when it names none. A port it cannot resolve is the
// problem it returns.
func (p podPorts) targets(e MetricsEntry) ([]MetricsTarget, string) {
	numbers := p.declared
	if e.Port != "" {
		n, ok := p.resolve(e.Port)
		if !ok {
			return nil, fmt.Sprintf("%s %q: no such port", cmp.Or(e.Source, hardening.AnnotationMetrics), e.Port)
		}
		numbers = []int32{n}
	}
	out := make([]MetricsTarget, 0, len(numbers))
	for _, n := range numbers {
		out = append(out, MetricsTarget{
			Container: p.owner[n], Port: n,
			Path:   cmp.Or(e.Path, defaultMetricsPath),
			Scheme: cmp.Or(e.Scheme, SchemeHTTP),
		})
	}
	return out, ""
}

// maxMetricsEntries bounds the entries of cinch.dev/metrics.
const maxMetricsEntries = 8

// ParseMetricsAnnotation parses the value of cinch.dev/metrics: a
// comma-separated list of [SCHEME:][:]PORT[/PATH] (spaces around entries
// ignored, empty entries skipped), SCHEME http (the default) or https,
// PORT a number 1-65535 or a container port name, PATH /metrics when left
// out: "9090", ":9090/stats", "https:8443/metrics", "http/debug/vars" (the
// port named http). It returns the entries it could read and an error
// naming each one it could not.
func ParseMetricsAnnotation(v string) ([]MetricsEntry, error) {
	var out []MetricsEntry
	var errs []error
	for i, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if len(out) == maxMetricsEntries {
			errs = append(errs, fmt.Errorf("more than %d entries", maxMetricsEntries))
			break
		}
		e, err := parseMetricsEntry(item)
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d %q: %w", i+1, item, err))
			continue
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

// parseMetricsEntry parses one entry of cinch.dev/metrics.
func parseMetricsEntry(item string) (MetricsEntry, error) {
	scheme, rest := cutScheme(item)
	p, path, _ := strings.Cut(strings.TrimPrefix(rest, ":"), "/")
	path = "/" + path
	if path == "/" {
		path = defaultMetricsPath
	}
	switch {
	case p == "":
		return MetricsEntry{}, errors.New("no port")
	case strings.ContainsAny(path, " \t?#") || strings.ContainsAny(p, " \t:"):
		return MetricsEntry{}, errors.New("want [SCHEME:][:]PORT[/PATH]")
	}
	if n, err := strconv.Atoi(p); err == nil && (n < 1 || n > 65535) {
		return MetricsEntry{}, errors.New("port out of range")
	} else if err != nil && !validPortName(p) {
		return MetricsEntry{}, fmt.Errorf("%q is neither a port number nor a port name", p)
	}
	return MetricsEntry{Port: p, Path: path, Scheme: scheme}, nil
}

// cutScheme splits a leading "http:" or "https:" (any case) off item. A
// port name never holds a colon, so "http/x" is still the port named http.
func cutScheme(item string) (scheme, rest string) {
	for _, s := range []string{SchemeHTTPS, SchemeHTTP} {
		if len(item) > len(s) && strings.EqualFold(item[:len(s)+1], s+":") {
			return s, item[len(s)+1:]
		}
	}
	return "", item
}

// validPortName reports a name a container port may have (IANA service
// name: at most 15 lower-case letters, digits and inner hyphens, a
// letter among them).
func validPortName(s string) bool {
	if s == "" || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return letter
}
