package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBusyTicks(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want uint64
		err  bool
	}{
		{"every field", "cpu  100 2 30 5000 40 5 6 7 8 9\ncpu0 50 1 15 2500 20 2 3 3 4 4\n", 100 + 2 + 30 + 5 + 6 + 7, false},
		{"no steal column", "cpu 10 0 5 900 3 1 1\n", 10 + 5 + 1 + 1, false},
		{"per-cpu line first", "cpu0 10 0 5 900 3 1 1 0\n", 0, true},
		{"too short", "cpu 10 0 5\n", 0, true},
		{"not a number", "cpu 10 x 5 900 3 1 1 0\n", 0, true},
		{"empty", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := busyTicks([]byte(tt.stat))
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMachineCPUGrows(t *testing.T) {
	a, err := machineCPU()
	require.NoError(t, err)
	for i := 0; i < 50_000_000; i++ {
		_ = i * i
	}
	b, err := machineCPU()
	require.NoError(t, err)
	assert.Positive(t, a)
	assert.GreaterOrEqual(t, b, a)
}
