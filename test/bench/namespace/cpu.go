package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of /proc/stat's times (USER_HZ: 100 on every Linux
// architecture Kubernetes runs on).
const userHZ = 100

// machineCPU returns the CPU-seconds the whole machine has spent busy since
// boot: the cluster's control plane, kubelet, container runtime and the
// trial pods, which all run on it, and the benchmark itself.
func machineCPU() (float64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	ticks, err := busyTicks(data)
	if err != nil {
		return 0, err
	}
	return float64(ticks) / userHZ, nil
}

// busyTicks sums the busy fields of /proc/stat's "cpu" line: every field
// but idle and iowait (guest time is already part of user and nice).
func busyTicks(stat []byte) (uint64, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: no cpu line with at least 7 times: %q", line)
	}
	// user nice system idle iowait irq softirq [steal guest guest_nice]
	var busy uint64
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: field %d: %w", i+1, err)
		}
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, nil
}
