package manifests

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// Ports are the only ports glocust's pods and Services may declare: Locust's
// single ZeroMQ socket and the web port. (5558 has been unused since Locust 1.0.)
var Ports = map[string]int32{"zmq": 5557, "web": 8089}

// RequiredLabels are on every object.
var RequiredLabels = []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"}

// Pod is a pod template found in a workload.
type Pod struct {
	Owner Object
	Meta  *metav1.ObjectMeta
	Spec  *corev1.PodSpec
}

// Role is the pod's app.kubernetes.io/component label: master or worker.
func (p Pod) Role() string { return p.Meta.Labels["app.kubernetes.io/component"] }

// Pods returns the pod templates of every Deployment and Job.
func Pods(objs []Object) []Pod {
	var out []Pod
	for _, o := range objs {
		switch w := o.Obj.(type) {
		case *appsv1.Deployment:
			out = append(out, Pod{o, &w.Spec.Template.ObjectMeta, &w.Spec.Template.Spec})
		case *batchv1.Job:
			out = append(out, Pod{o, &w.Spec.Template.ObjectMeta, &w.Spec.Template.Spec})
		}
	}
	return out
}

// IsGlocust reports whether a container runs the glocust image.
func IsGlocust(c corev1.Container) bool {
	return strings.Contains(c.Image, "/glocust:") || strings.HasPrefix(c.Image, "glocust:")
}

var psa = func() interface {
	EvaluatePod(psaapi.LevelVersion, *metav1.ObjectMeta, *corev1.PodSpec) []psapolicy.CheckResult
} {
	e, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		panic(err)
	}
	return e
}()

// Lint runs the project's checks on one rendered overlay and returns every
// problem found. The API server validates a lot more (see the dry run);
// these are the rules that a valid manifest can still break.
func Lint(objs []Object) []error {
	l := &linter{objs: objs, pods: Pods(objs), cms: map[string]*corev1.ConfigMap{}}
	for _, o := range objs {
		if cm, ok := o.Obj.(*corev1.ConfigMap); ok {
			l.cms[cm.Name] = cm
		}
	}
	l.labels()
	l.namespace()
	for _, p := range l.pods {
		l.pod(p)
	}
	l.workloads()
	l.services()
	l.networkPolicies()
	l.pdbs()
	l.hpas()
	return l.errs
}

type linter struct {
	objs []Object
	pods []Pod
	cms  map[string]*corev1.ConfigMap
	errs []error
}

func (l *linter) errf(o fmt.Stringer, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", o, fmt.Sprintf(format, args...)))
}

func (l *linter) labels() {
	for _, o := range l.objs {
		m, ok := o.Obj.(metav1.Object)
		if !ok {
			continue
		}
		for _, k := range RequiredLabels {
			if m.GetLabels()[k] == "" {
				l.errf(o, "label %s missing", k)
			}
		}
	}
	for _, p := range l.pods {
		for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"} {
			if p.Meta.Labels[k] == "" {
				l.errf(p.Owner, "pod template label %s missing", k)
			}
		}
		if r := p.Role(); r != "master" && r != "worker" {
			l.errf(p.Owner, "pod template app.kubernetes.io/component is %q, want master or worker", r)
		}
	}
}

func (l *linter) namespace() {
	n := 0
	for _, o := range l.objs {
		ns, ok := o.Obj.(*corev1.Namespace)
		if !ok {
			continue
		}
		n++
		for _, mode := range []string{"enforce", "warn", "audit"} {
			if v := ns.Labels["pod-security.kubernetes.io/"+mode]; v != "restricted" {
				l.errf(o, "label pod-security.kubernetes.io/%s is %q, want restricted", mode, v)
			}
		}
	}
	if n != 1 {
		l.errs = append(l.errs, fmt.Errorf("want exactly one Namespace (enforcing Pod Security restricted), have %d", n))
	}
}

func (l *linter) pod(p Pod) {
	s := p.Spec
	// Pod Security "restricted", as the admission plugin evaluates it.
	if reasons := PodSecurityRestricted(p); len(reasons) > 0 {
		l.errf(p.Owner, "violates Pod Security restricted: %s", strings.Join(reasons, "; "))
	}
	if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
		l.errf(p.Owner, "automountServiceAccountToken must be false")
	}
	if s.EnableServiceLinks == nil || *s.EnableServiceLinks {
		l.errf(p.Owner, "enableServiceLinks must be false (service links inject LOCUST_*/GLOCUST_* look-alike variables)")
	}
	if s.SecurityContext == nil || s.SecurityContext.RunAsUser == nil || *s.SecurityContext.RunAsUser == 0 {
		l.errf(p.Owner, "pod securityContext.runAsUser must be a non-zero uid")
	}
	if p.Role() == "worker" && slices.ContainsFunc(s.Containers, IsGlocust) && !widePortRange(s.SecurityContext) {
		l.errf(p.Owner, "a worker pod needs securityContext.sysctls net.ipv4.ip_local_port_range from 1024 (each user holds a connection; "+
			"the default range caps a pod at about 28,000 to one address)")
	}
	if s.TerminationGracePeriodSeconds == nil {
		l.errf(p.Owner, "terminationGracePeriodSeconds must be set (graceful stop)")
	} else if st := l.stopTimeout(p); st >= 0 && *s.TerminationGracePeriodSeconds < st+15 {
		l.errf(p.Owner, "terminationGracePeriodSeconds %d leaves under 15 s beyond stop-timeout %d", *s.TerminationGracePeriodSeconds, st)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range s.Volumes {
		vols[v.Name] = v
		if v.ConfigMap != nil {
			cm := l.cms[v.ConfigMap.Name]
			if cm == nil {
				l.errf(p.Owner, "volume %s: ConfigMap %s is not in this set", v.Name, v.ConfigMap.Name)
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					l.errf(p.Owner, "volume %s: ConfigMap %s has no key %s", v.Name, cm.Name, it.Key)
				}
			}
		}
	}
	for _, c := range s.InitContainers {
		l.container(p, c, vols)
	}
	for _, c := range s.Containers {
		l.container(p, c, vols)
	}
	if p.Role() == "worker" {
		if len(s.TopologySpreadConstraints) == 0 {
			l.errf(p.Owner, "workers need topologySpreadConstraints")
		}
		for _, t := range s.TopologySpreadConstraints {
			sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(p.Meta.Labels)) {
				l.errf(p.Owner, "topologySpreadConstraint %s: labelSelector does not select the workers", t.TopologyKey)
			}
		}
	}
}

var stopTimeoutRE = regexp.MustCompile(`(?m)^\s*stop-timeout\s*[=:]?\s*(\d+)\s*$`)

// stopTimeout is the stop-timeout (whole seconds) in the locust.conf that
// the pod mounts, or -1.
func (l *linter) stopTimeout(p Pod) int64 {
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap == nil || l.cms[v.ConfigMap.Name] == nil {
			continue
		}
		if m := stopTimeoutRE.FindStringSubmatch(l.cms[v.ConfigMap.Name].Data["locust.conf"]); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			return n
		}
	}
	return -1
}

func (l *linter) container(p Pod, c corev1.Container, vols map[string]corev1.Volume) {
	o := fmt.Stringer(containerRef{p.Owner, c.Name})
	img := c.Image
	at := strings.LastIndex(img, ":")
	if at < 0 || strings.Contains(img[at:], "/") || strings.HasSuffix(img, ":latest") {
		l.errf(o, "image %q needs a pinned tag (not latest)", img)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		l.errf(o, "readOnlyRootFilesystem must be true")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			l.errf(o, "resources.requests.%s missing", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			l.errf(o, "resources.limits.%s missing", r)
		}
	}
	for _, port := range c.Ports {
		if want, ok := Ports[port.Name]; !ok || want != port.ContainerPort {
			l.errf(o, "port %s/%d: only zmq/5557 and web/8089 are allowed", port.Name, port.ContainerPort)
		}
	}
	if p.Role() == "master" && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
		l.errf(o, "the master needs readiness and liveness probes")
	}
	for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if pr == nil {
			continue
		}
		var port intstr.IntOrString
		switch {
		case pr.HTTPGet != nil:
			port = pr.HTTPGet.Port
		case pr.TCPSocket != nil:
			port = pr.TCPSocket.Port
		case pr.Exec != nil:
			l.errf(o, "exec probes need a shell or tool in the image; glocust's has none")
			continue
		}
		if port.Type == intstr.String && !hasPort(c, port.StrVal) {
			l.errf(o, "probe port %q is not a port of the container", port.StrVal)
		}
	}
	if p.Role() == "master" && IsGlocust(c) {
		l.probeScheme(o, c)
	}
	for _, m := range c.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			l.errf(o, "volumeMount %s has no volume", m.Name)
		} else if (v.ConfigMap != nil || v.Secret != nil) && !m.ReadOnly {
			l.errf(o, "volumeMount %s: ConfigMap/Secret mounts must be readOnly", m.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			cm := l.cms[ref.Name]
			if cm == nil {
				l.errf(o, "env %s: ConfigMap %s is not in this set", e.Name, ref.Name)
			} else if _, ok := cm.Data[ref.Key]; !ok {
				l.errf(o, "env %s: ConfigMap %s has no key %s", e.Name, ref.Name, ref.Key)
			}
		}
	}
	if IsGlocust(c) {
		l.goRuntimeEnv(o, c)
	}
}

// probeScheme: a glocust master given --tls-cert (LOCUST_TLS_CERT) serves
// its web port, probes included, over HTTPS only, and plain HTTP otherwise;
// its HTTP probes must use that scheme, or the kubelet restarts it forever.
func (l *linter) probeScheme(o fmt.Stringer, c corev1.Container) {
	want := corev1.URISchemeHTTP
	for _, e := range c.Env {
		if e.Name == "LOCUST_TLS_CERT" {
			want = corev1.URISchemeHTTPS
		}
	}
	for _, a := range c.Args {
		if a == "--tls-cert" || strings.HasPrefix(a, "--tls-cert=") {
			want = corev1.URISchemeHTTPS
		}
	}
	for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if pr == nil || pr.HTTPGet == nil {
			continue
		}
		if got := cmp.Or(pr.HTTPGet.Scheme, corev1.URISchemeHTTP); got != want {
			l.errf(o, "probe %s: scheme %s, but the master serves its web port over %s (--tls-cert)", pr.HTTPGet.Path, got, want)
		}
	}
}

// goRuntimeEnv: GOMAXPROCS and GOMEMLIMIT come from the container's own
// limits through the downward API, in units Go accepts (a CPU count and bytes).
func (l *linter) goRuntimeEnv(o fmt.Stringer, c corev1.Container) {
	want := map[string]string{"GOMAXPROCS": "limits.cpu", "GOMEMLIMIT": "limits.memory"}
	for _, e := range c.Env {
		res, ok := want[e.Name]
		if !ok {
			continue
		}
		delete(want, e.Name)
		var ref *corev1.ResourceFieldSelector
		if e.ValueFrom != nil {
			ref = e.ValueFrom.ResourceFieldRef
		}
		if ref == nil || ref.Resource != res || ref.ContainerName != c.Name || !ref.Divisor.Equal(resource.MustParse("1")) {
			l.errf(o, "%s must come from resourceFieldRef {containerName: %s, resource: %s, divisor: 1}", e.Name, c.Name, res)
		}
	}
	for name := range want {
		l.errf(o, "env %s missing (set it from the limits with the downward API)", name)
	}
}

func hasPort(c corev1.Container, name string) bool {
	for _, p := range c.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

type containerRef struct {
	owner Object
	name  string
}

func (c containerRef) String() string { return c.owner.String() + " container " + c.name }

func (l *linter) workloads() {
	for _, o := range l.objs {
		switch w := o.Obj.(type) {
		case *appsv1.Deployment:
			sel, err := metav1.LabelSelectorAsSelector(w.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(w.Spec.Template.Labels)) {
				l.errf(o, "selector does not match the template's labels")
			}
			if w.Spec.Template.Labels["app.kubernetes.io/component"] == "master" {
				if w.Spec.Replicas == nil || *w.Spec.Replicas != 1 {
					l.errf(o, "a master Deployment needs replicas: 1")
				}
				if w.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
					l.errf(o, "a master Deployment needs strategy Recreate (never two masters)")
				}
			}
		case *batchv1.Job:
			if w.Spec.Template.Labels["app.kubernetes.io/component"] == "worker" {
				l.workerJob(o, w)
				continue
			}
			s := w.Spec
			if s.BackoffLimit == nil || *s.BackoffLimit != 0 {
				l.errf(o, "backoffLimit must be 0 (a retry is another run)")
			}
			if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
				l.errf(o, "restartPolicy must be Never")
			}
			if s.ActiveDeadlineSeconds == nil {
				l.errf(o, "activeDeadlineSeconds must be set")
			}
			if s.TTLSecondsAfterFinished == nil {
				l.errf(o, "ttlSecondsAfterFinished must be set")
			}
			for _, c := range s.Template.Spec.Containers {
				args := " " + strings.Join(c.Args, " ")
				if _, ok := ExpectWorkers(c); !ok {
					l.errf(o, "container %s: a headless master needs --expect-workers (or LOCUST_EXPECT_WORKERS)", c.Name)
				}
				if !strings.Contains(args, " --headless") && !strings.Contains(args, " --autostart") {
					l.errf(o, "container %s: a master Job needs --headless or --autostart", c.Name)
				}
			}
			if !l.has(func(x any) bool {
				j, ok := x.(*batchv1.Job)
				_, hpa := x.(*autoscalingv2.HorizontalPodAutoscaler)
				return hpa || ok && j.Spec.Template.Labels["app.kubernetes.io/component"] == "worker"
			}) {
				l.errf(o, "a master Job needs its workers in the set: a worker Job (or an HPA'd Deployment)")
			}
		}
	}
}

// workerJob checks workers that run as a Job (a headless run's): a fixed
// count, the master's --expect-workers, that completes when the master sends
// quit; a failed worker is retried a little, on its own budget, evictions
// are not held against it, and the Job outlives the master Job.
func (l *linter) workerJob(o Object, w *batchv1.Job) {
	s := w.Spec
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		l.errf(o, "restartPolicy must be Never (a failed worker gets a new pod; podFailurePolicy needs Never)")
	}
	if s.Parallelism == nil || s.Completions == nil || *s.Parallelism != *s.Completions || *s.Parallelism < 1 {
		l.errf(o, "completions (%s) must equal parallelism (%s): one run-long pod per worker", i32(s.Completions), i32(s.Parallelism))
	}
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.BackoffLimitPerIndex == nil {
		l.errf(o, "a worker Job must be Indexed with backoffLimitPerIndex (one worker's failures must not end the others)")
	} else if n := *s.BackoffLimitPerIndex; n < 1 || n > 3 {
		l.errf(o, "backoffLimitPerIndex %d: want 1 to 3 (retry a crashed worker, but not for long)", n)
	}
	if s.BackoffLimit != nil || s.MaxFailedIndexes != nil {
		l.errf(o, "backoffLimit and maxFailedIndexes end every worker when some fail; leave them unset")
	}
	ignoresDisruption := false
	if s.PodFailurePolicy != nil {
		for _, r := range s.PodFailurePolicy.Rules {
			for _, c := range r.OnPodConditions {
				ignoresDisruption = ignoresDisruption || (r.Action == batchv1.PodFailurePolicyActionIgnore && c.Type == corev1.DisruptionTarget)
			}
		}
	}
	if !ignoresDisruption {
		l.errf(o, "podFailurePolicy must Ignore DisruptionTarget (an evicted worker is replaced, not counted as a failure; no PDB covers Job workers)")
	}
	if s.TTLSecondsAfterFinished == nil {
		l.errf(o, "ttlSecondsAfterFinished must be set")
	}
	if s.ActiveDeadlineSeconds == nil {
		l.errf(o, "activeDeadlineSeconds must be set")
	}
	masters := 0
	for _, m := range l.objs {
		mj, ok := m.Obj.(*batchv1.Job)
		if !ok || mj.Spec.Template.Labels["app.kubernetes.io/component"] != "master" {
			continue
		}
		masters++
		if s.ActiveDeadlineSeconds != nil && (mj.Spec.ActiveDeadlineSeconds == nil || *s.ActiveDeadlineSeconds <= *mj.Spec.ActiveDeadlineSeconds) {
			l.errf(o, "activeDeadlineSeconds %d must exceed %s's (%s): workers must outlive the master", *s.ActiveDeadlineSeconds, m, i64(mj.Spec.ActiveDeadlineSeconds))
		}
		if s.TTLSecondsAfterFinished != nil && (mj.Spec.TTLSecondsAfterFinished == nil || *mj.Spec.TTLSecondsAfterFinished != *s.TTLSecondsAfterFinished) {
			l.errf(o, "ttlSecondsAfterFinished %d differs from %s's (%s): the Jobs of a run go together", *s.TTLSecondsAfterFinished, m, i32(mj.Spec.TTLSecondsAfterFinished))
		}
		for _, c := range mj.Spec.Template.Spec.Containers {
			n, ok := ExpectWorkers(c)
			if ok && (s.Parallelism == nil || int(*s.Parallelism) != n) {
				l.errf(o, "parallelism %s is not %s's --expect-workers=%d", i32(s.Parallelism), m, n)
			}
			if !slices.Contains(c.Args, "--enable-rebalancing") {
				l.errf(containerRef{m, c.Name}, "a retried worker joins mid-run: the master needs --enable-rebalancing")
			}
		}
	}
	if masters != 1 {
		l.errf(o, "a worker Job needs exactly one master Job in its set, have %d", masters)
	}
}

// has reports whether some object of the set satisfies f.
func (l *linter) has(f func(any) bool) bool {
	for _, o := range l.objs {
		if f(o.Obj) {
			return true
		}
	}
	return false
}

// ExpectWorkers is the --expect-workers a container passes, as an argument
// or as LOCUST_EXPECT_WORKERS (a literal value).
func ExpectWorkers(c corev1.Container) (int, bool) {
	if n, ok := argInt(c.Args, "--expect-workers"); ok {
		return n, true
	}
	for _, e := range c.Env {
		if e.Name == "LOCUST_EXPECT_WORKERS" && e.ValueFrom == nil {
			n, err := strconv.Atoi(e.Value)
			return n, err == nil
		}
	}
	return 0, false
}

func i32(p *int32) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(int(*p))
}

func i64(p *int64) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatInt(*p, 10)
}

// podsSelected returns the pod templates a selector in this set selects.
func (l *linter) podsSelected(sel labels.Selector) []Pod {
	var out []Pod
	for _, p := range l.pods {
		if !sel.Empty() && sel.Matches(labels.Set(p.Meta.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

func (l *linter) services() {
	for _, o := range l.objs {
		svc, ok := o.Obj.(*corev1.Service)
		if !ok {
			continue
		}
		pods := l.podsSelected(labels.SelectorFromSet(svc.Spec.Selector))
		if len(pods) == 0 {
			l.errf(o, "selector %v selects no pod template", svc.Spec.Selector)
		}
		for _, p := range pods {
			if p.Role() != "master" {
				l.errf(o, "selects %s, which is not a master", p.Owner)
			}
		}
		if len(svc.Spec.Ports) != len(Ports) {
			l.errf(o, "must have exactly the ports zmq/5557 and web/8089")
		}
		for _, sp := range svc.Spec.Ports {
			if want, ok := Ports[sp.Name]; !ok || want != sp.Port {
				l.errf(o, "port %s/%d: only zmq/5557 and web/8089 are allowed", sp.Name, sp.Port)
			}
			if sp.TargetPort.Type != intstr.String || sp.TargetPort.StrVal != sp.Name {
				l.errf(o, "port %s: targetPort must be the named container port %q", sp.Name, sp.Name)
				continue
			}
			for _, p := range pods {
				found := false
				for _, c := range p.Spec.Containers {
					found = found || hasPort(c, sp.TargetPort.StrVal)
				}
				if !found {
					l.errf(o, "targetPort %s is not a port of %s", sp.TargetPort.StrVal, p.Owner)
				}
			}
		}
	}
}

func (l *linter) networkPolicies() {
	guarded := map[string]bool{} // master workloads whose 5557 is guarded
	for _, o := range l.objs {
		np, ok := o.Obj.(*networkingv1.NetworkPolicy)
		if !ok {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || sel.Empty() {
			l.errf(o, "podSelector must select the master pods")
			continue
		}
		targets := l.podsSelected(sel)
		for _, rule := range np.Spec.Ingress {
			zmq := false
			for _, p := range rule.Ports {
				zmq = zmq || p.Port == nil || (p.Port.Type == intstr.String && p.Port.StrVal == "zmq") || (p.Port.Type == intstr.Int && p.Port.IntVal == 5557)
			}
			if !zmq {
				continue
			}
			if len(rule.From) == 0 {
				l.errf(o, "an ingress rule opens 5557 to everyone")
			}
			for _, peer := range rule.From {
				if peer.PodSelector == nil || peer.NamespaceSelector != nil || peer.IPBlock != nil {
					l.errf(o, "5557 may only be opened to worker pods of this namespace")
					continue
				}
				ps, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
				from := l.podsSelected(ps)
				if err != nil || len(from) == 0 {
					l.errf(o, "the 5557 rule's podSelector selects no worker")
				}
				for _, p := range from {
					if p.Role() != "worker" {
						l.errf(o, "the 5557 rule's podSelector selects %s, not a worker", p.Owner)
					}
				}
			}
		}
		for _, p := range targets {
			if p.Role() == "master" {
				guarded[p.Owner.String()] = true
			}
		}
	}
	for _, p := range l.pods {
		if p.Role() == "master" && !guarded[p.Owner.String()] {
			l.errf(p.Owner, "no NetworkPolicy guards the master's port 5557")
		}
	}
}

// pdbs checks that every workload has a disruption budget and that none
// can hold a node drain up for ever: each allows an eviction whenever its
// pods are healthy (maxUnavailable of at least 1), except over Job pods
// with a deadline, whose wait the deadline bounds; and an unready pod never
// counts (unhealthyPodEvictionPolicy AlwaysAllow).
func (l *linter) pdbs() {
	covered := map[string]bool{}
	for _, o := range l.objs {
		pdb, ok := o.Obj.(*policyv1.PodDisruptionBudget)
		if !ok {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		pods := l.podsSelected(sel)
		if err != nil || len(pods) == 0 {
			l.errf(o, "selects no pod template")
		}
		for _, p := range pods {
			covered[p.Owner.String()] = true
		}
		if pdb.Spec.UnhealthyPodEvictionPolicy == nil || *pdb.Spec.UnhealthyPodEvictionPolicy != policyv1.AlwaysAllow {
			l.errf(o, "unhealthyPodEvictionPolicy must be AlwaysAllow: an unready pod would hold node drains up")
		}
		if pdb.Spec.MinAvailable != nil {
			for _, p := range pods {
				if j, ok := p.Owner.Obj.(*batchv1.Job); !ok || j.Spec.ActiveDeadlineSeconds == nil {
					l.errf(o, "minAvailable blocks node drains for as long as %s runs (a Deployment's pods: for ever); use maxUnavailable: 1", p.Owner)
				}
			}
			continue
		}
		if m := pdb.Spec.MaxUnavailable; m == nil || m.Type == intstr.Int && m.IntVal < 1 || m.Type == intstr.String && strings.TrimSuffix(m.StrVal, "%") == "0" {
			l.errf(o, "maxUnavailable must allow at least one eviction, or node drains wait for ever")
		}
	}
	for _, p := range l.pods {
		if p.Role() == "worker" && p.Owner.GVK.Kind == "Job" {
			// A Job's pods have no scale for maxUnavailable to work from; an
			// evicted worker is replaced instead (podFailurePolicy, workerJob).
			continue
		}
		if !covered[p.Owner.String()] {
			l.errf(p.Owner, "no PodDisruptionBudget covers it")
		}
	}
}

func (l *linter) hpas() {
	scaled := map[string]bool{}
	for _, o := range l.objs {
		hpa, ok := o.Obj.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok {
			continue
		}
		ref := hpa.Spec.ScaleTargetRef
		var target *appsv1.Deployment
		for _, t := range l.objs {
			if d, ok := t.Obj.(*appsv1.Deployment); ok && ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && d.Name == ref.Name {
				target = d
			}
		}
		if target == nil {
			l.errf(o, "scaleTargetRef %s %s is not a Deployment in this set", ref.Kind, ref.Name)
			continue
		}
		scaled[target.Name] = true
		if target.Spec.Replicas != nil {
			l.errf(o, "Deployment %s has a static replicas field that fights the HPA on every apply", target.Name)
		}
		if target.Spec.Template.Labels["app.kubernetes.io/component"] != "worker" {
			l.errf(o, "scales %s, which is not the workers", target.Name)
		}
		min := int32(1)
		if hpa.Spec.MinReplicas != nil {
			min = *hpa.Spec.MinReplicas
		}
		for _, p := range l.pods {
			for _, c := range p.Spec.Containers {
				if n, ok := ExpectWorkers(c); ok && n > int(min) {
					l.errf(o, "minReplicas %d is below %s's --expect-workers=%d", min, p.Owner, n)
				}
				if p.Role() == "master" && !slices.Contains(c.Args, "--enable-rebalancing") {
					l.errf(containerRef{p.Owner, c.Name}, "workers are autoscaled: the master needs --enable-rebalancing")
				}
			}
		}
	}
	// Without an HPA, a worker Deployment has a fixed count, enough for
	// the masters' --expect-workers.
	for _, p := range l.pods {
		d, ok := p.Owner.Obj.(*appsv1.Deployment)
		if p.Role() != "worker" || !ok || scaled[d.Name] {
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
			l.errf(p.Owner, "a worker Deployment without an HPA needs its replicas (the fixed worker count)")
			continue
		}
		for _, m := range l.pods {
			for _, c := range m.Spec.Containers {
				if n, ok := ExpectWorkers(c); ok && n > int(*d.Spec.Replicas) {
					l.errf(p.Owner, "replicas %d is below %s's --expect-workers=%d", *d.Spec.Replicas, m.Owner, n)
				}
			}
		}
	}
}

// widePortRange reports whether the pod widens the ephemeral port range
// down to 1024 at least.
func widePortRange(sc *corev1.PodSecurityContext) bool {
	if sc == nil {
		return false
	}
	for _, s := range sc.Sysctls {
		if f := strings.Fields(s.Value); s.Name == "net.ipv4.ip_local_port_range" && len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			return err1 == nil && err2 == nil && lo <= 1024 && hi >= 65000
		}
	}
	return false
}

func argInt(args []string, name string) (int, bool) {
	for i, a := range args {
		v, ok := strings.CutPrefix(a, name+"=")
		if !ok && a == name && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// PodSecurityRestricted returns why a pod template breaks Pod Security
// "restricted" (latest), as the admission plugin evaluates it; none if it
// passes.
func PodSecurityRestricted(p Pod) []string {
	res := psapolicy.AggregateCheckResults(psa.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, p.Meta, p.Spec))
	if res.Allowed {
		return nil
	}
	return res.ForbiddenReasons
}
