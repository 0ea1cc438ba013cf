package signals

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

// convertEvents turns a namespace's Events into oracle events, oldest first.
// The object is "Kind/name"; the count falls back to the series count and is
// at least 1.
func convertEvents(evs []corev1.Event) []oracle.Event {
	sorted := make([]corev1.Event, len(evs))
	copy(sorted, evs)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := eventTime(sorted[i]), eventTime(sorted[j])
		if !a.Equal(b) {
			return a.Before(b)
		}
		return sorted[i].Name < sorted[j].Name
	})
	out := make([]oracle.Event, 0, len(sorted))
	for _, e := range sorted {
		count := e.Count
		if e.Series != nil && e.Series.Count > count {
			count = e.Series.Count
		}
		out = append(out, oracle.Event{
			Type:    e.Type,
			Reason:  e.Reason,
			Object:  e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name,
			Message: e.Message,
			Count:   max(count, 1),
		})
	}
	return out
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}
