// Package monitors reads the Prometheus Operator's PodMonitors and
// ServiceMonitors (monitoring.coreos.com/v1) and finds the metrics
// endpoints they declare for a workload's pods, in the pod template's
// terms (a container port number or name, a path, a scheme), for TC-06.
//
// A monitor is not part of the pod template and a clone never copies it,
// so the worker reads the monitors once per run, for the source namespace,
// and hands the endpoints to the recorder as data (pipeline.Workload's
// Metrics). Where the CRDs are not installed there are no monitors.
//
// Selection (Declared) is pure and follows the operator: a monitor applies
// to a namespace its namespaceSelector names (any, matchNames, or, when
// empty, its own); a PodMonitor selects pods by their labels, a
// ServiceMonitor selects Services by theirs and through them the pods
// their selector selects. Only the endpoint's port, path and scheme are
// read: credentials, query parameters and relabelings are not.
package monitors
