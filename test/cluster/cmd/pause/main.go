// Command pause is the pod sandbox process of the local cluster: it sleeps
// until SIGTERM or SIGINT and reaps nothing else. Containerd needs a sandbox
// image and these machines have no registry to pull the upstream one from.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}
