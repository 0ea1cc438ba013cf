package hardening

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// RecommendationVersion is the current version of the recommendation model.
const RecommendationVersion = 1

// Recommendation is the verified hardening of one workload: the complete
// securityContext (existing settings merged with the recommended ones) for
// the pod and for every container and init container, by name. It is the
// value of the cinch.dev/recommendation annotation.
type Recommendation struct {
	Version        int                                `json:"version"`
	Pod            *corev1.PodSecurityContext         `json:"pod,omitempty"`
	Containers     map[string]*corev1.SecurityContext `json:"containers,omitempty"`
	InitContainers map[string]*corev1.SecurityContext `json:"initContainers,omitempty"`
}

// Combine combines the passed checks (and the result of a capability search,
// see Variant) into a recommendation for t.
//
// Each container gets its own securityContext: t's settings merged with what
// the passed checks set for that container. A field that every container and
// init container ends up with the same value for (runAsNonRoot, runAsUser,
// runAsGroup, seccompProfile) is moved to the pod level, unless the pod level
// already holds a different value that is not weaker; it stays at container
// level only where the container set it explicitly in t.
func Combine(t *corev1.PodTemplateSpec, passed []CheckID, opts Options, addBack map[string][]corev1.Capability) Recommendation {
	v := Variant(t, passed, opts, addBack)
	rec := Recommendation{
		Version:        RecommendationVersion,
		Containers:     map[string]*corev1.SecurityContext{},
		InitContainers: map[string]*corev1.SecurityContext{},
	}
	pod := v.Spec.SecurityContext.DeepCopy()
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	refs := containersOf(&v.Spec)
	orig := containersOf(&t.Spec)
	scs := make([]*corev1.SecurityContext, len(refs))
	for i, r := range refs {
		sc := r.c.SecurityContext.DeepCopy()
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		scs[i] = sc
	}
	if len(refs) > 0 && !isWindows(&v.Spec) {
		for _, f := range hoistable {
			first := f.eff(v.Spec.SecurityContext, refs[0].c.SecurityContext)
			if first == nil || (f.needsPodUser && pod.RunAsUser == nil) {
				continue
			}
			agree := true
			for _, r := range refs[1:] {
				if !reflect.DeepEqual(first, f.eff(v.Spec.SecurityContext, r.c.SecurityContext)) {
					agree = false
					break
				}
			}
			podVal := f.pod(pod)
			if !agree || (podVal != nil && !reflect.DeepEqual(podVal, first) && !f.weaker(podVal, first)) {
				continue
			}
			f.setPod(pod, first)
			for i := range refs {
				if f.ctr(orig[i].c.SecurityContext) == nil {
					f.clearCtr(scs[i])
				}
			}
		}
	}
	for i, r := range refs {
		if r.init {
			rec.InitContainers[r.c.Name] = scs[i]
		} else {
			rec.Containers[r.c.Name] = scs[i]
		}
	}
	if !reflect.DeepEqual(pod, &corev1.PodSecurityContext{}) {
		rec.Pod = pod
	}
	if len(rec.InitContainers) == 0 {
		rec.InitContainers = nil
	}
	if len(rec.Containers) == 0 {
		rec.Containers = nil
	}
	return rec
}

// hoistField is a field that can be set both at pod and container level.
type hoistField struct {
	eff      func(*corev1.PodSecurityContext, *corev1.SecurityContext) any
	pod      func(*corev1.PodSecurityContext) any
	ctr      func(*corev1.SecurityContext) any
	setPod   func(*corev1.PodSecurityContext, any)
	clearCtr func(*corev1.SecurityContext)
	// weaker reports whether pod-level value a is weaker than b.
	weaker func(a, b any) bool
	// needsPodUser: hoist only when the pod level also sets runAsUser.
	// containerd 1.6 refuses a pod sandbox whose securityContext has
	// runAsGroup without runAsUser ("user group is specified without
	// user"), while the same runAsGroup per container runs.
	needsPodUser bool
}

func nilIfNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

// hoist builds the hoistField of a *T field from its effective value and
// the addresses of its pod-level and container-level copies.
func hoist[T any](
	eff func(*corev1.PodSecurityContext, *corev1.SecurityContext) *T,
	pod func(*corev1.PodSecurityContext) **T,
	ctr func(*corev1.SecurityContext) **T,
	clone func(*T) *T,
	weaker func(a, b *T) bool,
) hoistField {
	return hoistField{
		eff: func(p *corev1.PodSecurityContext, s *corev1.SecurityContext) any { return nilIfNil(eff(p, s)) },
		pod: func(p *corev1.PodSecurityContext) any { return nilIfNil(*pod(p)) },
		ctr: func(s *corev1.SecurityContext) any {
			if s == nil {
				return nil
			}
			return nilIfNil(*ctr(s))
		},
		setPod:   func(p *corev1.PodSecurityContext, v any) { *pod(p) = clone(v.(*T)) },
		clearCtr: func(s *corev1.SecurityContext) { *ctr(s) = nil },
		weaker:   func(a, b any) bool { return weaker(a.(*T), b.(*T)) },
	}
}

func clonePtr[T any](v *T) *T { return ptr(*v) }

// rootWeaker: id 0 is weaker than any other id.
func rootWeaker(a, b *int64) bool { return *a == 0 && *b != 0 }

var hoistable = []hoistField{
	hoist(effRunAsNonRoot,
		func(p *corev1.PodSecurityContext) **bool { return &p.RunAsNonRoot },
		func(s *corev1.SecurityContext) **bool { return &s.RunAsNonRoot },
		clonePtr[bool], func(a, b *bool) bool { return !*a && *b }),
	hoist(effRunAsUser,
		func(p *corev1.PodSecurityContext) **int64 { return &p.RunAsUser },
		func(s *corev1.SecurityContext) **int64 { return &s.RunAsUser },
		clonePtr[int64], rootWeaker),
	func() hoistField {
		f := hoist(effRunAsGroup,
			func(p *corev1.PodSecurityContext) **int64 { return &p.RunAsGroup },
			func(s *corev1.SecurityContext) **int64 { return &s.RunAsGroup },
			clonePtr[int64], rootWeaker)
		f.needsPodUser = true
		return f
	}(),
	hoist(effSeccomp,
		func(p *corev1.PodSecurityContext) **corev1.SeccompProfile { return &p.SeccompProfile },
		func(s *corev1.SecurityContext) **corev1.SeccompProfile { return &s.SeccompProfile },
		(*corev1.SeccompProfile).DeepCopy,
		func(a, b *corev1.SeccompProfile) bool {
			return a.Type == corev1.SeccompProfileTypeUnconfined && b.Type != corev1.SeccompProfileTypeUnconfined
		}),
}

// Apply returns a deep copy of t with rec applied. A field of rec is used
// where t's field is unset or weaker; where t already holds a value at least
// as strong, or one that cannot be ordered against rec's (another non-zero
// uid, a Localhost seccomp profile), t's value is kept: Apply never loosens
// t. A container that drops ALL capabilities in t keeps its capabilities;
// otherwise the drop and add lists are merged. Containers of t that rec does
// not name are left as they are (they still inherit pod-level fields).
func (r Recommendation) Apply(t *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	out := t.DeepCopy()
	if r.Pod != nil {
		if out.Spec.SecurityContext == nil {
			out.Spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		mergePodSC(out.Spec.SecurityContext, r.Pod)
	}
	for _, ref := range containersOf(&out.Spec) {
		src := r.Containers
		if ref.init {
			src = r.InitContainers
		}
		rsc, ok := src[ref.c.Name]
		if !ok || rsc == nil {
			continue
		}
		sc := ensureSC(ref.c)
		mergeSC(sc, rsc)
		if reflect.DeepEqual(sc, &corev1.SecurityContext{}) {
			ref.c.SecurityContext = nil
		}
	}
	return out
}

func mergeWantTrue(dst **bool, src *bool) {
	if src != nil && (*dst == nil || (!**dst && *src)) {
		*dst = ptr(*src)
	}
}

func mergeWantFalse(dst **bool, src *bool) {
	if src != nil && (*dst == nil || (**dst && !*src)) {
		*dst = ptr(*src)
	}
}

func mergeID(dst **int64, src *int64) {
	if src != nil && (*dst == nil || (**dst == 0 && *src != 0)) {
		*dst = ptr(*src)
	}
}

func mergeSeccomp(dst **corev1.SeccompProfile, src *corev1.SeccompProfile) {
	if src == nil {
		return
	}
	if *dst == nil || ((*dst).Type == corev1.SeccompProfileTypeUnconfined && src.Type != corev1.SeccompProfileTypeUnconfined) {
		*dst = src.DeepCopy()
	}
}

func fillNil[T any](dst **T, src *T) {
	if *dst == nil && src != nil {
		v := *src
		*dst = &v
	}
}

func mergePodSC(dst, src *corev1.PodSecurityContext) {
	mergeWantTrue(&dst.RunAsNonRoot, src.RunAsNonRoot)
	mergeID(&dst.RunAsUser, src.RunAsUser)
	mergeID(&dst.RunAsGroup, src.RunAsGroup)
	mergeID(&dst.FSGroup, src.FSGroup)
	mergeSeccomp(&dst.SeccompProfile, src.SeccompProfile)
	if dst.SELinuxOptions == nil && src.SELinuxOptions != nil {
		dst.SELinuxOptions = src.SELinuxOptions.DeepCopy()
	}
	if dst.WindowsOptions == nil && src.WindowsOptions != nil {
		dst.WindowsOptions = src.WindowsOptions.DeepCopy()
	}
	if dst.AppArmorProfile == nil && src.AppArmorProfile != nil {
		dst.AppArmorProfile = src.AppArmorProfile.DeepCopy()
	}
	fillNil(&dst.FSGroupChangePolicy, src.FSGroupChangePolicy)
	fillNil(&dst.SupplementalGroupsPolicy, src.SupplementalGroupsPolicy)
	fillNil(&dst.SELinuxChangePolicy, src.SELinuxChangePolicy)
	if dst.SupplementalGroups == nil && src.SupplementalGroups != nil {
		dst.SupplementalGroups = slices.Clone(src.SupplementalGroups)
	}
	if dst.Sysctls == nil && src.Sysctls != nil {
		dst.Sysctls = slices.Clone(src.Sysctls)
	}
}

func mergeSC(dst, src *corev1.SecurityContext) {
	mergeWantTrue(&dst.RunAsNonRoot, src.RunAsNonRoot)
	mergeID(&dst.RunAsUser, src.RunAsUser)
	mergeID(&dst.RunAsGroup, src.RunAsGroup)
	mergeSeccomp(&dst.SeccompProfile, src.SeccompProfile)
	mergeWantTrue(&dst.ReadOnlyRootFilesystem, src.ReadOnlyRootFilesystem)
	mergeWantFalse(&dst.Privileged, src.Privileged)
	// allowPrivilegeEscalation=false is invalid next to privileged=true.
	if !isTrue(dst.Privileged) {
		mergeWantFalse(&dst.AllowPrivilegeEscalation, src.AllowPrivilegeEscalation)
	}
	if src.Capabilities != nil && !dropsAll(dst) {
		if dst.Capabilities == nil {
			dst.Capabilities = &corev1.Capabilities{}
		}
		for _, c := range src.Capabilities.Drop {
			if !slices.Contains(dst.Capabilities.Drop, c) {
				dst.Capabilities.Drop = append(dst.Capabilities.Drop, c)
			}
		}
		for _, c := range src.Capabilities.Add {
			if !slices.Contains(dst.Capabilities.Add, c) {
				dst.Capabilities.Add = append(dst.Capabilities.Add, c)
			}
		}
	}
	if dst.SELinuxOptions == nil && src.SELinuxOptions != nil {
		dst.SELinuxOptions = src.SELinuxOptions.DeepCopy()
	}
	if dst.WindowsOptions == nil && src.WindowsOptions != nil {
		dst.WindowsOptions = src.WindowsOptions.DeepCopy()
	}
	if dst.AppArmorProfile == nil && src.AppArmorProfile != nil {
		dst.AppArmorProfile = src.AppArmorProfile.DeepCopy()
	}
	fillNil(&dst.ProcMount, src.ProcMount)
}

// settings are the effective security settings of one container: what the
// container runtime will be told, after pod-level inheritance.
type settings struct {
	RunAsNonRoot   *bool
	RunAsUser      *int64
	RunAsGroup     *int64
	FSGroup        *int64
	Seccomp        string
	ReadOnlyRootFS *bool
	AllowPrivEsc   *bool
	Privileged     *bool
	Drop           []corev1.Capability
	Add            []corev1.Capability
}

func normCaps(cs []corev1.Capability) []corev1.Capability {
	out := make([]corev1.Capability, 0, len(cs))
	for _, c := range cs {
		c = corev1.Capability(strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_"))
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func effective(pod *corev1.PodSecurityContext, c *corev1.Container) settings {
	sc := c.SecurityContext
	s := settings{
		RunAsNonRoot: effRunAsNonRoot(pod, sc),
		RunAsUser:    effRunAsUser(pod, sc),
		RunAsGroup:   effRunAsGroup(pod, sc),
	}
	if pod != nil {
		s.FSGroup = pod.FSGroup
	}
	if p := effSeccomp(pod, sc); p != nil {
		s.Seccomp = string(p.Type)
		if p.LocalhostProfile != nil {
			s.Seccomp += "/" + *p.LocalhostProfile
		}
	}
	if sc != nil {
		s.ReadOnlyRootFS = sc.ReadOnlyRootFilesystem
		s.AllowPrivEsc = sc.AllowPrivilegeEscalation
		s.Privileged = sc.Privileged
		if sc.Capabilities != nil {
			s.Drop = normCaps(sc.Capabilities.Drop)
			s.Add = normCaps(sc.Capabilities.Add)
		}
	}
	return s
}

// SameSettings reports whether a and b run every container and init container
// with the same effective security settings, and are otherwise equal specs.
// It tells whether a trial already verified a recommendation.
func SameSettings(a, b *corev1.PodTemplateSpec) bool {
	ra, rb := containersOf(&a.Spec), containersOf(&b.Spec)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		if ra[i].c.Name != rb[i].c.Name || ra[i].init != rb[i].init {
			return false
		}
		if !reflect.DeepEqual(effective(a.Spec.SecurityContext, ra[i].c), effective(b.Spec.SecurityContext, rb[i].c)) {
			return false
		}
	}
	// Everything else must be equal too.
	sa, sb := a.Spec.DeepCopy(), b.Spec.DeepCopy()
	for _, s := range []*corev1.PodSpec{sa, sb} {
		s.SecurityContext = nil
		for _, r := range containersOf(s) {
			r.c.SecurityContext = nil
		}
	}
	return reflect.DeepEqual(sa, sb)
}

func fmtBool(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b)
}

func fmtID(i *int64) string {
	if i == nil {
		return "unset"
	}
	return strconv.FormatInt(*i, 10)
}

func fmtCaps(cs []corev1.Capability) string {
	if len(cs) == 0 {
		return "[]"
	}
	ss := make([]string, len(cs))
	for i, c := range cs {
		ss[i] = string(c)
	}
	return "[" + strings.Join(ss, ",") + "]"
}

// Weaker lists the settings of t that are less hardened than rec, one
// human-readable line each (for admission warnings), in container order.
// It is empty when t already runs with rec, or with something stronger.
func Weaker(rec Recommendation, t *corev1.PodTemplateSpec) []string {
	applied := rec.Apply(t)
	var out []string
	if !reflect.DeepEqual(fsGroup(t), fsGroup(applied)) {
		out = append(out, fmt.Sprintf("spec.securityContext.fsGroup is %s, recommended %s", fmtID(fsGroup(t)), fmtID(fsGroup(applied))))
	}
	have, want := containersOf(&t.Spec), containersOf(&applied.Spec)
	for i := range have {
		h := effective(t.Spec.SecurityContext, have[i].c)
		w := effective(applied.Spec.SecurityContext, want[i].c)
		kind := "container"
		if have[i].init {
			kind = "init container"
		}
		add := func(field, hv, wv string) {
			if hv != wv {
				out = append(out, fmt.Sprintf("%s %q: %s is %s, recommended %s", kind, have[i].c.Name, field, hv, wv))
			}
		}
		add("runAsNonRoot", fmtBool(h.RunAsNonRoot), fmtBool(w.RunAsNonRoot))
		add("runAsUser", fmtID(h.RunAsUser), fmtID(w.RunAsUser))
		add("runAsGroup", fmtID(h.RunAsGroup), fmtID(w.RunAsGroup))
		add("seccompProfile", orUnset(h.Seccomp), orUnset(w.Seccomp))
		add("readOnlyRootFilesystem", fmtBool(h.ReadOnlyRootFS), fmtBool(w.ReadOnlyRootFS))
		add("allowPrivilegeEscalation", fmtBool(h.AllowPrivEsc), fmtBool(w.AllowPrivEsc))
		add("privileged", fmtBool(h.Privileged), fmtBool(w.Privileged))
		add("capabilities.drop", fmtCaps(h.Drop), fmtCaps(w.Drop))
		add("capabilities.add", fmtCaps(h.Add), fmtCaps(w.Add))
	}
	return out
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

func fsGroup(t *corev1.PodTemplateSpec) *int64 {
	if t.Spec.SecurityContext == nil {
		return nil
	}
	return t.Spec.SecurityContext.FSGroup
}
