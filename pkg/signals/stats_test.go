package signals

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// summaryJSON is an abridged kubelet stats summary of cinch-node with two
// pods of the trial namespace, one of another namespace and a pod whose
// pod-level figures are not in yet.
const summaryJSON = `{
 "node": {"nodeName": "cinch-node", "cpu": {"time": "2026-03-01T12:00:05Z", "usageNanoCores": 412000000}},
 "pods": [
  {"podRef": {"name": "web-6d4cf56db6-abcde", "namespace": "cinch-web-fine-x7k2p", "uid": "1"},
   "startTime": "2026-03-01T12:00:00Z",
   "containers": [{"name": "app", "cpu": {"usageNanoCores": 1100000, "usageCoreNanoSeconds": 95000000}, "memory": {"workingSetBytes": 3100000, "rssBytes": 2000000}}],
   "cpu": {"time": "2026-03-01T12:00:05Z", "usageNanoCores": 1200000, "usageCoreNanoSeconds": 96000000},
   "memory": {"time": "2026-03-01T12:00:05Z", "usageBytes": 4000000, "workingSetBytes": 3500000},
   "network": {"rxBytes": 100}},
  {"podRef": {"name": "web-6d4cf56db6-fghij", "namespace": "cinch-web-fine-x7k2p", "uid": "2"},
   "containers": [
     {"name": "app", "cpu": {"usageNanoCores": 700000}, "memory": {"workingSetBytes": 2000000}},
     {"name": "sidecar", "cpu": {"usageNanoCores": 300000}, "memory": {"workingSetBytes": 1000000}},
     {"name": "starting"}
   ]},
  {"podRef": {"name": "web-6d4cf56db6-abcde", "namespace": "other", "uid": "3"},
   "cpu": {"usageNanoCores": 999999999}, "memory": {"workingSetBytes": 999999999}}
 ]
}`

func TestSumUsage(t *testing.T) {
	tests := []struct {
		name string
		ns   string
		pods map[string]bool
		want usage
	}{
		{
			name: "pod-level figures, and container sums when the pod has none",
			ns:   "cinch-web-fine-x7k2p",
			pods: map[string]bool{"web-6d4cf56db6-abcde": true, "web-6d4cf56db6-fghij": true},
			want: usage{CPUNanoCores: 1200000 + 700000 + 300000, MemoryWorkingSet: 3500000 + 2000000 + 1000000, Pods: 2},
		},
		{
			name: "only the wanted pods",
			ns:   "cinch-web-fine-x7k2p",
			pods: map[string]bool{"web-6d4cf56db6-abcde": true},
			want: usage{CPUNanoCores: 1200000, MemoryWorkingSet: 3500000, Pods: 1},
		},
		{
			name: "same pod name in another namespace is not counted",
			ns:   "cinch-web-fine-zzzzz",
			pods: map[string]bool{"web-6d4cf56db6-abcde": true},
			want: usage{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sumUsage([]byte(summaryJSON), tt.ns, tt.pods)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSumUsageRejectsGarbage(t *testing.T) {
	_, err := sumUsage([]byte(`<html>400 address not allowed</html>`), "ns", map[string]bool{"p": true})
	assert.Error(t, err)
}

func FuzzSumUsage(f *testing.F) {
	f.Add([]byte(summaryJSON))
	f.Add([]byte(`{"pods":[{"podRef":{"name":"p","namespace":"n"},"cpu":null}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := sumUsage(raw, "n", map[string]bool{"p": true})
		if err != nil {
			assert.Equal(t, usage{}, u)
		}
	})
}
