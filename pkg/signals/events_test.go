package signals

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

func TestConvertEvents(t *testing.T) {
	evs := []corev1.Event{
		{
			ObjectMeta:     metav1.ObjectMeta{Name: "web-abcde.182", CreationTimestamp: at(9)},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-abcde"},
			Type:           corev1.EventTypeWarning, Reason: "BackOff", Message: "Back-off restarting failed container app in pod web-abcde",
			FirstTimestamp: at(5), Count: 7,
		},
		{
			ObjectMeta:     metav1.ObjectMeta{Name: "web-abcde.181", CreationTimestamp: at(1)},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-abcde"},
			Type:           corev1.EventTypeNormal, Reason: "Scheduled", Message: "Successfully assigned ns/web-abcde to cinch-node",
			EventTime: metav1.NewMicroTime(at(1).Time), Series: &corev1.EventSeries{Count: 2},
		},
		{
			ObjectMeta:     metav1.ObjectMeta{Name: "web.180", CreationTimestamp: at(0)},
			InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "web"},
			Type:           corev1.EventTypeNormal, Reason: "ScalingReplicaSet", Message: "Scaled up replica set web-6d4cf56db6 from 0 to 1",
		},
	}
	want := []oracle.Event{
		{Type: "Normal", Reason: "ScalingReplicaSet", Object: "Deployment/web", Message: "Scaled up replica set web-6d4cf56db6 from 0 to 1", Count: 1},
		{Type: "Normal", Reason: "Scheduled", Object: "Pod/web-abcde", Message: "Successfully assigned ns/web-abcde to cinch-node", Count: 2},
		{Type: "Warning", Reason: "BackOff", Object: "Pod/web-abcde", Message: "Back-off restarting failed container app in pod web-abcde", Count: 7},
	}
	assert.Equal(t, want, convertEvents(evs))
}
