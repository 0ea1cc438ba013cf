package clone

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Where a clone's pods may still send traffic under its egress policy:
// the cluster DNS (the kube-dns pods in kube-system, the label every
// distribution keeps for compatibility) and the API server's endpoints.
const (
	dnsNamespace = "kube-system"
	dnsAppLabel  = "k8s-app"
	dnsAppValue  = "kube-dns"
	// apiServerService is the default/kubernetes Service; its
	// EndpointSlices name the API server's addresses.
	apiServerService = "kubernetes"
)

// EgressPolicy returns the clone's egress NetworkPolicy: every pod of the
// clone may reach the other pods of the same clone (a frontend its
// backend), the cluster DNS, and the API server at apiServer (with the
// clone's copied RBAC, as the workload itself does); nothing else, so a
// trial never talks to the source namespace, other clones or the outside
// world. apiServer holds the API server's endpoint addresses and ports.
func EgressPolicy(ns string, apiServer []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	rules := []networkingv1.NetworkPolicyEgressRule{
		{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}},
		{To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: dnsNamespace}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{dnsAppLabel: dnsAppValue}},
		}}},
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: DenyEgressPolicy, Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      append(rules, apiServer...),
		},
	}
}

// apiServerEgress turns the API server's EndpointSlices into egress rules:
// one /32 (or /128) per ready address, with the slices' ports.
func apiServerEgress(eps []discoveryv1.EndpointSlice) []networkingv1.NetworkPolicyEgressRule {
	var out []networkingv1.NetworkPolicyEgressRule
	for _, s := range eps {
		var ports []networkingv1.NetworkPolicyPort
		for _, p := range s.Ports {
			if p.Port == nil {
				continue
			}
			ports = append(ports, networkingv1.NetworkPolicyPort{Protocol: p.Protocol, Port: ptr.To(intstr.FromInt32(*p.Port))})
		}
		var peers []networkingv1.NetworkPolicyPeer
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				cidr := a + "/32"
				if s.AddressType == discoveryv1.AddressTypeIPv6 {
					cidr = a + "/128"
				}
				if !slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool { return p.IPBlock.CIDR == cidr }) {
					peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
				}
			}
		}
		if len(peers) > 0 {
			out = append(out, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports})
		}
	}
	return out
}

// createEgressPolicy creates the clone's egress policy in ns.
func (c *Cloner) createEgressPolicy(ctx context.Context, ns string) error {
	l, err := c.cs.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + apiServerService,
	})
	if err != nil {
		return fmt.Errorf("list the API server's endpoints: %w", err)
	}
	if _, err := c.cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, EgressPolicy(ns, apiServerEgress(l.Items)), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create egress policy: %w", err)
	}
	return nil
}
