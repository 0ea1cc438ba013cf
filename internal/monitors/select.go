package monitors

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cinch-dev/cinch/internal/pipeline"
)

// Watches reports whether the monitor applies to namespace ns: its
// namespaceSelector says any, or names ns among matchNames, or is empty
// and ns is the monitor's own namespace.
func (m Monitor) Watches(ns string) bool {
	switch {
	case m.Any:
		return true
	case len(m.MatchNames) > 0:
		return slices.Contains(m.MatchNames, ns)
	}
	return m.Namespace == ns
}

// source names the monitor in the problems its endpoints cause.
func (m Monitor) source(ns string) string {
	if m.Namespace == ns {
		return m.Kind + " " + m.Name
	}
	return m.Kind + " " + m.Namespace + "/" + m.Name
}

// Declared returns the endpoints that mons declare for the pods of a
// workload of namespace ns with pod template tmpl, in the order of the
// monitors and their endpoints, without repeats (by port and path):
//
//   - a PodMonitor whose selector matches the template's labels: each
//     podMetricsEndpoint's port (a container port name), else its
//     portNumber, else its targetPort, else every container port;
//   - a ServiceMonitor whose selector matches a Service of ns (svcs) that
//     selects the template's labels: each endpoint's port (a Service port
//     name, read as that port's targetPort: a number or a container port
//     name; the Service port itself when it has none), else its
//     targetPort, else every TCP port of the Service.
//
// Paths default to /metrics and schemes to http downstream; an endpoint
// whose scheme is neither http nor https, or a Service port name the
// Service does not have, declares nothing (Prometheus would scrape nothing
// there either).
func Declared(ns string, tmpl *corev1.PodTemplateSpec, mons []Monitor, svcs []corev1.Service) []pipeline.MetricsEndpoint {
	pod := labels.Set(tmpl.Labels)
	var out []pipeline.MetricsEndpoint
	for _, m := range mons {
		if !m.Watches(ns) {
			continue
		}
		switch m.Kind {
		case KindPodMonitor:
			if m.Selector.Matches(pod) {
				out = appendEndpoints(out, m, ns, podPorts)
			}
		case KindServiceMonitor:
			for _, s := range svcs {
				if selectsThrough(m, s, ns, pod) {
					out = appendEndpoints(out, m, ns, func(e Endpoint) []string { return servicePorts(s, e) })
				}
			}
		}
	}
	return out
}

// selectsThrough reports whether ServiceMonitor m selects Service s of
// namespace ns and s selects pods labelled pod.
func selectsThrough(m Monitor, s corev1.Service, ns string, pod labels.Set) bool {
	if s.Namespace != "" && s.Namespace != ns || s.Spec.Type == corev1.ServiceTypeExternalName || len(s.Spec.Selector) == 0 {
		return false
	}
	return m.Selector.Matches(labels.Set(s.Labels)) && labels.SelectorFromSet(s.Spec.Selector).Matches(pod)
}

// appendEndpoints appends the endpoints of m, each at the pod ports ports
// finds for it ("" for every container port), to out, leaving out
// repeats.
func appendEndpoints(out []pipeline.MetricsEndpoint, m Monitor, ns string, ports func(Endpoint) []string) []pipeline.MetricsEndpoint {
	for _, e := range m.Endpoints {
		scheme := strings.ToLower(e.Scheme)
		if scheme != "" && scheme != "http" && scheme != "https" {
			continue
		}
		path := e.Path
		if path != "" && !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		for _, p := range ports(e) {
			ep := pipeline.MetricsEndpoint{Port: p, Path: path, Scheme: scheme, Source: m.source(ns)}
			if !slices.ContainsFunc(out, func(o pipeline.MetricsEndpoint) bool { return o.Port == ep.Port && o.Path == ep.Path }) {
				out = append(out, ep)
			}
		}
	}
	return out
}

// podPorts is where a podMetricsEndpoint points, in container terms.
func podPorts(e Endpoint) []string {
	switch {
	case e.Port != "":
		return []string{e.Port}
	case e.PortNumber > 0:
		return []string{strconv.Itoa(int(e.PortNumber))}
	case set(e.TargetPort):
		return []string{e.TargetPort.String()}
	}
	return []string{""}
}

// servicePorts is where a ServiceMonitor endpoint points on the pods
// behind Service s, in container terms.
func servicePorts(s corev1.Service, e Endpoint) []string {
	if e.Port == "" && set(e.TargetPort) {
		return []string{e.TargetPort.String()}
	}
	var out []string
	for _, sp := range s.Spec.Ports {
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP || e.Port != "" && sp.Name != e.Port {
			continue
		}
		out = append(out, targetPort(sp))
	}
	return out
}

// targetPort is the pod port a Service port forwards to: its targetPort
// (a number or a container port name), or its own number.
func targetPort(sp corev1.ServicePort) string {
	if set(&sp.TargetPort) {
		return sp.TargetPort.String()
	}
	return strconv.Itoa(int(sp.Port))
}

// set reports a port that is given: a name, or a number other than 0.
func set(p *intstr.IntOrString) bool {
	return p != nil && (p.Type == intstr.String && p.StrVal != "" || p.Type == intstr.Int && p.IntVal != 0)
}
