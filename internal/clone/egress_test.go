package clone

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestAPIServerEgress(t *testing.T) {
	tcp := ptr.To(corev1.ProtocolTCP)
	slice := func(typ discoveryv1.AddressType, port int32, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{AddressType: typ, Endpoints: eps, Ports: []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(port), Protocol: tcp}}}
	}
	ep := func(ready *bool, addrs ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	}
	port := func(p int32) []networkingv1.NetworkPolicyPort {
		return []networkingv1.NetworkPolicyPort{{Protocol: tcp, Port: ptr.To(intstr.FromInt32(p))}}
	}
	block := func(cidrs ...string) []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for _, c := range cidrs {
			out = append(out, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
		}
		return out
	}
	tests := []struct {
		name string
		in   []discoveryv1.EndpointSlice
		want []networkingv1.NetworkPolicyEgressRule
	}{
		{"none", nil, nil},
		{
			"three servers, one not ready, a duplicate",
			[]discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, 6443,
				ep(nil, "198.18.255.1"), ep(ptr.To(true), "198.18.255.2", "198.18.255.1"), ep(ptr.To(false), "198.18.255.3"))},
			[]networkingv1.NetworkPolicyEgressRule{{To: block("198.18.255.1/32", "198.18.255.2/32"), Ports: port(6443)}},
		},
		{
			"dual stack",
			[]discoveryv1.EndpointSlice{
				slice(discoveryv1.AddressTypeIPv4, 443, ep(nil, "198.18.255.1")),
				slice(discoveryv1.AddressTypeIPv6, 443, ep(nil, "fd00::1")),
			},
			[]networkingv1.NetworkPolicyEgressRule{
				{To: block("198.18.255.1/32"), Ports: port(443)},
				{To: block("fd00::1/128"), Ports: port(443)},
			},
		},
		{"no ready address", []discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, 6443, ep(ptr.To(false), "198.18.255.1"))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, apiServerEgress(tt.in))
		})
	}
}

func TestEgressPolicy(t *testing.T) {
	api := []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "198.18.255.1/32"}}}}}
	np := EgressPolicy("cinch-x", api)
	assert.Equal(t, "cinch-x", np.Namespace)
	assert.Equal(t, DenyEgressPolicy, np.Name)
	assert.Empty(t, np.Spec.PodSelector.MatchLabels, "every pod of the clone")
	assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, np.Spec.PolicyTypes)
	require.Len(t, np.Spec.Egress, 3)
	own := np.Spec.Egress[0].To[0]
	require.NotNil(t, own.PodSelector)
	assert.Nil(t, own.NamespaceSelector, "a bare pod selector means: this namespace only")
	assert.Empty(t, own.PodSelector.MatchLabels)
	dns := np.Spec.Egress[1].To[0]
	require.NotNil(t, dns.NamespaceSelector)
	assert.Equal(t, map[string]string{corev1.LabelMetadataName: "kube-system"}, dns.NamespaceSelector.MatchLabels)
	assert.Equal(t, map[string]string{"k8s-app": "kube-dns"}, dns.PodSelector.MatchLabels)
	assert.Equal(t, api[0], np.Spec.Egress[2])
}
