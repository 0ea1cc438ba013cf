// Command coredns is CoreDNS with only the plugins the local cluster's
// Corefile uses (test/cluster/addons.yaml): the cluster DNS of the local
// cluster, built from the Go module proxy. Names outside the cluster domain
// get NXDOMAIN at once: nothing is forwarded off the machine. The order in
// which plugins run is CoreDNS's own (core/dnsserver).
package main

import (
	"github.com/coredns/coredns/coremain"

	// The plugins of the Corefile; each registers itself.
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

func main() {
	coremain.Run()
}
