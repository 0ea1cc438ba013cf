// Package clone makes throw-away copies of a namespace, one per trial: a
// fresh namespace labelled as a clone of its source (never with the opt-in
// label), holding copies of the source's configuration (ConfigMaps, Secrets,
// ServiceAccounts, Services, Roles, RoleBindings, PVCs), of its other
// workloads, and of the target workload with the trial's pod template,
// isolated by a default-deny egress NetworkPolicy. ClusterRoleBindings that
// name the source's service accounts are copied for the clone's accounts.
//
// The copy is an allow list: Ingresses, Gateway routes, Endpoints,
// EndpointSlices, Events, Pods, ReplicaSets, Jobs, custom resources and every
// object with a controller ownerReference are not copied.
//
// Delete removes one clone, Sweep removes clones older than a TTL and the
// ClusterRoleBinding copies whose clone is gone.
package clone
