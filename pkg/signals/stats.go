package signals

import (
	"encoding/json"
	"fmt"
)

// The parts of the kubelet's stats summary (k8s.io/kubelet/pkg/apis/stats/v1alpha1)
// that a recording uses.
type statsSummary struct {
	Pods []statsPod `json:"pods"`
}

type statsPod struct {
	PodRef struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"podRef"`
	CPU        *statsCPU        `json:"cpu"`
	Memory     *statsMemory     `json:"memory"`
	Containers []statsContainer `json:"containers"`
}

type statsContainer struct {
	Name   string       `json:"name"`
	CPU    *statsCPU    `json:"cpu"`
	Memory *statsMemory `json:"memory"`
}

type statsCPU struct {
	UsageNanoCores *uint64 `json:"usageNanoCores"`
}

type statsMemory struct {
	WorkingSetBytes *uint64 `json:"workingSetBytes"`
}

// usage is CPU and memory summed over some pods.
type usage struct {
	CPUNanoCores     uint64
	MemoryWorkingSet uint64
	// Pods is how many of the wanted pods the summary reported.
	Pods int
}

// sumUsage parses a stats summary and sums CPU (usageNanoCores) and memory
// (workingSetBytes) over the pods of namespace ns whose names are in pods.
// A pod without pod-level figures is summed from its containers.
func sumUsage(raw []byte, ns string, pods map[string]bool) (usage, error) {
	var s statsSummary
	if err := json.Unmarshal(raw, &s); err != nil {
		return usage{}, fmt.Errorf("decode stats summary: %w", err)
	}
	var u usage
	for _, p := range s.Pods {
		if p.PodRef.Namespace != ns || !pods[p.PodRef.Name] {
			continue
		}
		u.Pods++
		if p.CPU != nil && p.CPU.UsageNanoCores != nil {
			u.CPUNanoCores += *p.CPU.UsageNanoCores
		} else {
			for _, c := range p.Containers {
				if c.CPU != nil && c.CPU.UsageNanoCores != nil {
					u.CPUNanoCores += *c.CPU.UsageNanoCores
				}
			}
		}
		if p.Memory != nil && p.Memory.WorkingSetBytes != nil {
			u.MemoryWorkingSet += *p.Memory.WorkingSetBytes
		} else {
			for _, c := range p.Containers {
				if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
					u.MemoryWorkingSet += *c.Memory.WorkingSetBytes
				}
			}
		}
	}
	return u, nil
}
