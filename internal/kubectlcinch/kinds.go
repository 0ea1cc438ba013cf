package kubectlcinch

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// ErrUnknownKind is returned for a kind kubectl-cinch does not handle.
var ErrUnknownKind = errors.New("unknown workload kind")

// kind describes one workload kind: everything kubectl-cinch needs to
// know about it. Where its pod template lives comes from
// hardening.TemplatePath. Adding a kind is one entry in kinds (and the
// kind in pkg/hardening's contract).
type kind struct {
	// Name is the kind as Cinch's contract spells it (hardening.Kind*).
	Name string
	// Resource is the API resource the dynamic client uses.
	Resource schema.GroupVersionResource
	// Aliases are the names users type, lower case: singular, plural,
	// short name, resource.group.
	Aliases []string
	// Schema returns an empty typed object, the strategic-merge-patch
	// schema of the kind.
	Schema func() runtime.Object
}

// qualified returns the kind as kubectl names objects in its output,
// e.g. deployment.apps.
func (k kind) qualified() string {
	if k.Resource.Group == "" {
		return strings.ToLower(k.Name)
	}
	return strings.ToLower(k.Name) + "." + k.Resource.Group
}

var kinds = []kind{
	{
		Name:     hardening.KindDeployment,
		Resource: appsv1.SchemeGroupVersion.WithResource("deployments"),
		Aliases:  []string{"deployment", "deployments", "deploy", "deployment.apps", "deployments.apps"},
		Schema:   func() runtime.Object { return &appsv1.Deployment{} },
	},
	{
		Name:     hardening.KindStatefulSet,
		Resource: appsv1.SchemeGroupVersion.WithResource("statefulsets"),
		Aliases:  []string{"statefulset", "statefulsets", "sts", "statefulset.apps", "statefulsets.apps"},
		Schema:   func() runtime.Object { return &appsv1.StatefulSet{} },
	},
	{
		Name:     hardening.KindDaemonSet,
		Resource: appsv1.SchemeGroupVersion.WithResource("daemonsets"),
		Aliases:  []string{"daemonset", "daemonsets", "ds", "daemonset.apps", "daemonsets.apps"},
		Schema:   func() runtime.Object { return &appsv1.DaemonSet{} },
	},
	{
		Name:     hardening.KindJob,
		Resource: batchv1.SchemeGroupVersion.WithResource("jobs"),
		Aliases:  []string{"job", "jobs", "job.batch", "jobs.batch"},
		Schema:   func() runtime.Object { return &batchv1.Job{} },
	},
	{
		Name:     hardening.KindCronJob,
		Resource: batchv1.SchemeGroupVersion.WithResource("cronjobs"),
		Aliases:  []string{"cronjob", "cronjobs", "cj", "cronjob.batch", "cronjobs.batch"},
		Schema:   func() runtime.Object { return &batchv1.CronJob{} },
	},
}

// kindsInOrder returns the kinds Cinch hardens (hardening.Kinds) that this
// package describes, in that order.
func kindsInOrder() []kind {
	var out []kind
	for _, name := range hardening.Kinds() {
		if k, ok := kindNamed(name); ok {
			out = append(out, k)
		}
	}
	return out
}

func kindNamed(name string) (kind, bool) {
	i := slices.IndexFunc(kinds, func(k kind) bool { return k.Name == name })
	if i < 0 {
		return kind{}, false
	}
	return kinds[i], true
}

// lookupKind finds a kind by its name or one of its aliases, ignoring case.
func lookupKind(s string) (kind, error) {
	l := strings.ToLower(s)
	for _, k := range kindsInOrder() {
		if l == strings.ToLower(k.Name) || slices.Contains(k.Aliases, l) {
			return k, nil
		}
	}
	return kind{}, fmt.Errorf("%w %q: use one of %s", ErrUnknownKind, s, strings.Join(hardening.Kinds(), ", "))
}

// Target names one workload of the current namespace.
type Target struct {
	Kind string
	Name string
}

func (t Target) String() string { return t.Kind + "/" + t.Name }

// ParseTarget reads the workload arguments of explain, diff and apply:
// KIND/NAME or KIND NAME, with kubectl's names for the kind (deploy,
// statefulsets, ds, ...).
func ParseTarget(args []string) (Target, error) {
	var k, name string
	switch len(args) {
	case 1:
		var ok bool
		k, name, ok = strings.Cut(args[0], "/")
		if !ok {
			return Target{}, fmt.Errorf("want KIND/NAME or KIND NAME, got %q", args[0])
		}
	case 2:
		k, name = args[0], args[1]
		if strings.Contains(name, "/") {
			return Target{}, fmt.Errorf("want KIND/NAME or KIND NAME, got %q", strings.Join(args, " "))
		}
	default:
		return Target{}, fmt.Errorf("want one workload, KIND/NAME or KIND NAME, got %d arguments", len(args))
	}
	if name == "" {
		return Target{}, fmt.Errorf("want KIND/NAME or KIND NAME: name is empty")
	}
	kd, err := lookupKind(k)
	if err != nil {
		return Target{}, err
	}
	return Target{Kind: kd.Name, Name: name}, nil
}
