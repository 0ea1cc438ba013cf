package main

import (
	"os"
	"time"
)

// Batch modes run to completion, as Jobs and CronJobs do: three rounds of
// work a second apart, logged, then exit 0. A failing step is fatal (exit
// 1 with a "fatal:" line), except in batch-silent.
func init() {
	modes["batch-fine"] = func() error { return batch(nil) }
	modes["batch-write-root"] = func() error { return batch(writeFile("/var/lib/scenario/state")) }
	modes["batch-chown"] = func() error { return batch(chownFile) }
	modes["batch-silent"] = batchSilent
}

func batch(step func() error) error {
	logf("started uid=%d gid=%d euid=%d", os.Getuid(), os.Getgid(), os.Geteuid())
	for n := 1; n <= 3; n++ {
		if step != nil {
			if err := step(); err != nil {
				return err
			}
		}
		logf("processed batch n=%d", n)
		time.Sleep(time.Second)
	}
	logf("done")
	return nil
}

// batchSilent writes its report to /tmp in the root filesystem (1777, any
// user may write there) and, when it cannot, exits with code 3 without a
// word: only the exit code tells the failure.
func batchSilent() error {
	logf("started uid=%d gid=%d euid=%d", os.Getuid(), os.Getgid(), os.Geteuid())
	for n := 1; n <= 3; n++ {
		if err := os.WriteFile("/tmp/report", []byte(time.Now().String()), 0o644); err != nil {
			os.Exit(3)
		}
		logf("processed batch n=%d", n)
		time.Sleep(time.Second)
	}
	logf("done")
	return nil
}
