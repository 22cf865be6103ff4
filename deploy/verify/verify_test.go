package verify

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/glocust/glocust/deploy/verify/manifests"
)

const deployDir = ".."

// overlays are the overlays the README promises; each must render.
var overlays = []string{"autoscaled", "glocust", "headless", "mixed", "protected", "seed", "servicemonitor"}

func render(t *testing.T, overlay string) []manifests.Object {
	t.Helper()
	y, err := manifests.RenderYAML(filepath.Join(deployDir, "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Decode(y, overlay == "servicemonitor")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestOverlaysListed(t *testing.T) {
	have, err := manifests.Overlays(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(have) != fmt.Sprint(overlays) {
		t.Fatalf("overlays = %v, want %v (update the tests and README)", have, overlays)
	}
}

// TestOverlays renders every overlay, strict-decodes every object against
// the allowlist and runs the project's lints.
func TestOverlays(t *testing.T) {
	// Kinds each overlay must have; the headless overlay runs its workers as
	// a Job, so it has no Deployment (and only the master's PDB); only the
	// autoscaled overlay has an HPA: the others run a fixed worker count.
	common := []string{"Namespace", "ConfigMap", "Service", "NetworkPolicy", "PodDisruptionBudget"}
	want := map[string]map[string]int{
		"autoscaled":     {"HorizontalPodAutoscaler": 1, "Deployment": 2, "Job": 0},
		"headless":       {"Job": 2, "Deployment": 0, "HorizontalPodAutoscaler": 0, "PodDisruptionBudget": 1},
		"servicemonitor": {"ServiceMonitor": 1, "Job": 0, "HorizontalPodAutoscaler": 0},
	}
	for _, name := range overlays {
		t.Run(name, func(t *testing.T) {
			objs := render(t, name)
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GVK.Kind]++
			}
			for _, k := range common {
				if kinds[k] == 0 {
					t.Errorf("no %s", k)
				}
			}
			if w, ok := want[name]; ok {
				for k, n := range w {
					if kinds[k] != n {
						t.Errorf("%s: want %d %s, have %d", name, n, k, kinds[k])
					}
				}
			} else {
				if kinds["Deployment"] != 2 {
					t.Errorf("%s: want 2 Deployments, have %d", name, kinds["Deployment"])
				}
				if kinds["Job"] != 0 || kinds["HorizontalPodAutoscaler"] != 0 {
					t.Errorf("%s: want no Job and no HPA, have %d and %d", name, kinds["Job"], kinds["HorizontalPodAutoscaler"])
				}
			}
			for _, err := range manifests.Lint(objs) {
				t.Error(err)
			}
		})
	}
}

// headlessJobs returns the headless overlay's master and worker Jobs.
func headlessJobs(t *testing.T, objs []manifests.Object) (master, worker *batchv1.Job) {
	t.Helper()
	for _, o := range objs {
		if j, ok := o.Obj.(*batchv1.Job); ok {
			switch j.Spec.Template.Labels["app.kubernetes.io/component"] {
			case "master":
				master = j
			case "worker":
				worker = j
			}
		}
	}
	if master == nil || worker == nil {
		t.Fatalf("headless: master Job %v, worker Job %v", master != nil, worker != nil)
	}
	return master, worker
}

// TestHeadlessWorkerJob: the headless workers are a Job that runs exactly
// the workers the master waits for and completes with the run; the base's
// worker Deployment, HPA and worker PDB are gone.
func TestHeadlessWorkerJob(t *testing.T) {
	objs := render(t, "headless")
	for _, o := range objs {
		switch o.String() {
		case "Deployment/glocust-worker", "HorizontalPodAutoscaler/glocust-worker", "PodDisruptionBudget/glocust-worker":
			t.Errorf("headless: %s is still there", o)
		}
	}
	master, worker := headlessJobs(t, objs)
	s := worker.Spec
	n, ok := manifests.ExpectWorkers(master.Spec.Template.Spec.Containers[0])
	if !ok {
		t.Fatal("the master Job sets no --expect-workers / LOCUST_EXPECT_WORKERS")
	}
	if s.Parallelism == nil || s.Completions == nil || int(*s.Parallelism) != n || int(*s.Completions) != n {
		t.Errorf("parallelism %v, completions %v, master's --expect-workers %d: want all equal",
			ptr.Deref(s.Parallelism, -1), ptr.Deref(s.Completions, -1), n)
	}
	if ptr.Deref(s.CompletionMode, "") != batchv1.IndexedCompletion || ptr.Deref(s.BackoffLimitPerIndex, -1) != 2 || s.BackoffLimit != nil {
		t.Errorf("want Indexed, backoffLimitPerIndex 2 and no overall backoffLimit; have %v, %v, %v",
			ptr.Deref(s.CompletionMode, ""), ptr.Deref(s.BackoffLimitPerIndex, -1), ptr.Deref(s.BackoffLimit, -1))
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %s, want Never", s.Template.Spec.RestartPolicy)
	}
	if ptr.Deref(s.ActiveDeadlineSeconds, 0) <= ptr.Deref(master.Spec.ActiveDeadlineSeconds, 0) {
		t.Errorf("worker activeDeadlineSeconds %d not above the master's %d", ptr.Deref(s.ActiveDeadlineSeconds, 0), ptr.Deref(master.Spec.ActiveDeadlineSeconds, 0))
	}
	if ptr.Deref(s.TTLSecondsAfterFinished, -1) != ptr.Deref(master.Spec.TTLSecondsAfterFinished, -2) {
		t.Errorf("ttlSecondsAfterFinished %d, master's %d: want equal", ptr.Deref(s.TTLSecondsAfterFinished, -1), ptr.Deref(master.Spec.TTLSecondsAfterFinished, -2))
	}
	for _, p := range manifests.Pods(objs) {
		if reasons := manifests.PodSecurityRestricted(p); len(reasons) > 0 {
			t.Errorf("%s violates Pod Security restricted: %s", p.Owner, strings.Join(reasons, "; "))
		}
	}
}

// TestHeadlessWorkerCount: the worker count is one field, worker-job.yaml's
// parallelism; kustomize copies it into completions and the master's
// --expect-workers.
func TestHeadlessWorkerCount(t *testing.T) {
	dir := t.TempDir()
	copyManifests(t, deployDir, dir)
	p := filepath.Join(dir, "overlays", "headless", "worker-job.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	const from, to = "\n  parallelism: 2\n", "\n  parallelism: 7\n"
	if strings.Count(string(b), from) != 1 {
		t.Fatalf("worker-job.yaml has no single %q: update this test", from)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	y, err := manifests.RenderYAML(filepath.Join(dir, "overlays", "headless"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Decode(y, false)
	if err != nil {
		t.Fatal(err)
	}
	master, worker := headlessJobs(t, objs)
	n, _ := manifests.ExpectWorkers(master.Spec.Template.Spec.Containers[0])
	if ptr.Deref(worker.Spec.Parallelism, 0) != 7 || ptr.Deref(worker.Spec.Completions, 0) != 7 || n != 7 {
		t.Errorf("after parallelism: 7, have parallelism %d, completions %d, --expect-workers %d",
			ptr.Deref(worker.Spec.Parallelism, 0), ptr.Deref(worker.Spec.Completions, 0), n)
	}
	for _, err := range manifests.Lint(objs) {
		t.Error(err)
	}
}

// TestHeadlessWorkerPodMatchesDeployment: the worker Job's pod is the
// base's worker Deployment's (the interactive overlay's), but for what a Job
// needs: restartPolicy Never and the spread's matchLabelKeys (the Job's pods
// instead of a ReplicaSet's). ConfigMap names differ only by their hashes.
func TestHeadlessWorkerPodMatchesDeployment(t *testing.T) {
	_, job := headlessJobs(t, render(t, "headless"))
	var dep *appsv1.Deployment
	for _, o := range render(t, "glocust") {
		if d, ok := o.Obj.(*appsv1.Deployment); ok && d.Name == "glocust-worker" {
			dep = d
		}
	}
	if dep == nil {
		t.Fatal("glocust: no worker Deployment")
	}
	jp, dp := job.Spec.Template.DeepCopy(), dep.Spec.Template.DeepCopy()
	if jp.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("worker Job restartPolicy %s", jp.Spec.RestartPolicy)
	}
	jp.Spec.RestartPolicy = dp.Spec.RestartPolicy
	for i := range jp.Spec.TopologySpreadConstraints {
		if k := jp.Spec.TopologySpreadConstraints[i].MatchLabelKeys; fmt.Sprint(k) != "[batch.kubernetes.io/controller-uid]" {
			t.Errorf("worker Job spread %d: matchLabelKeys %v, want [batch.kubernetes.io/controller-uid]", i, k)
		}
		jp.Spec.TopologySpreadConstraints[i].MatchLabelKeys = nil
	}
	for i := range dp.Spec.TopologySpreadConstraints {
		dp.Spec.TopologySpreadConstraints[i].MatchLabelKeys = nil
	}
	hash := regexp.MustCompile(`(glocust-(?:settings|scenario))-[a-z0-9]{10}`)
	js, ds := hash.ReplaceAll(jsonOf(t, jp), []byte("$1")), hash.ReplaceAll(jsonOf(t, dp), []byte("$1"))
	if !bytes.Equal(js, ds) {
		i := 0
		for i < len(js) && i < len(ds) && js[i] == ds[i] {
			i++
		}
		at := func(b []byte) string { return string(b[max(0, i-120):min(len(b), i+120)]) }
		t.Errorf("overlays/headless/worker-job.yaml's pod differs from base/worker-deployment.yaml's; keep them in step. At byte %d:\njob:        ...%s...\ndeployment: ...%s...", i, at(js), at(ds))
	}
}

// copyManifests copies the deploy directory (with its verify module,
// which kustomize ignores) to dst.
func copyManifests(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

func TestSeedNames(t *testing.T) {
	have := map[string]bool{}
	for _, o := range render(t, "seed") {
		have[o.String()] = true
	}
	for _, want := range []string{"ConfigMap/locust-cm", "ConfigMap/scripts-cm", "Deployment/locust-master", "Service/locust-master", "Deployment/locust-slave"} {
		if !have[want] {
			t.Errorf("seed: %s missing (the article's names)", want)
		}
	}
}

func TestMixedMasterImage(t *testing.T) {
	for _, p := range manifests.Pods(render(t, "mixed")) {
		if p.Role() == "master" && p.Spec.Containers[0].Image != "locustio/locust:2.47.0" {
			t.Errorf("mixed master image = %s, want locustio/locust:2.47.0", p.Spec.Containers[0].Image)
		}
	}
}

// TestDecodeRejects: the strict decoder and the allowlist catch what a
// hand-edited manifest gets wrong.
func TestDecodeRejects(t *testing.T) {
	cases := map[string]struct{ doc, want string }{
		"removed API": {"apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: locust-master}\n", "not an allowed"},
		"beta HPA":    {"apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: w}\nspec: {maxReplicas: 2, scaleTargetRef: {kind: Deployment, name: w}}\n", "not an allowed"},
		"typo field":  {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selecter: {a: b}}\n", `unknown field "spec.selecter"`},
		"wrong type":  {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: two}\n", "cannot unmarshal"},
		"duplicate":   {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x, a: y}\n", "a"},
		"monitoring":  {"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\nspec: {selector: {}}\n", "not an allowed"},
	}
	for name, c := range cases {
		_, err := manifests.Decode([]byte(c.doc), false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}
	sm := "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\nspec: {selector: {}, endpoints: [{port: web, metricsPath: /metrics}]}\n"
	if _, err := manifests.Decode([]byte(sm), true); err == nil || !strings.Contains(err.Error(), "metricsPath") {
		t.Errorf("ServiceMonitor typo: err = %v, want unknown field metricsPath", err)
	}
}

// TestLintRejects breaks a correct overlay one way at a time; every break
// must be reported.
func TestLintRejects(t *testing.T) {
	worker := func(objs []manifests.Object) *appsv1.Deployment {
		for _, o := range objs {
			if d, ok := o.Obj.(*appsv1.Deployment); ok && d.Spec.Template.Labels["app.kubernetes.io/component"] == "worker" {
				return d
			}
		}
		t.Fatal("no worker Deployment")
		return nil
	}
	pdb := func(objs []manifests.Object, name string) *policyv1.PodDisruptionBudget {
		for _, o := range objs {
			if p, ok := o.Obj.(*policyv1.PodDisruptionBudget); ok && p.Name == name {
				return p
			}
		}
		t.Fatalf("no PodDisruptionBudget %s", name)
		return nil
	}
	cases := map[string]struct {
		breakIt func([]manifests.Object)
		want    string
	}{
		"static replicas with HPA": {func(o []manifests.Object) { worker(o).Spec.Replicas = ptr.To[int32](3) }, "static replicas"},
		"no replicas without HPA":  {func(o []manifests.Object) { worker(o).Spec.Replicas = nil }, "needs its replicas"},
		"replicas below expect-workers": {func(o []manifests.Object) {
			for _, x := range o {
				if d, ok := x.Obj.(*appsv1.Deployment); ok && d.Name == "glocust-master" {
					c := &d.Spec.Template.Spec.Containers[0]
					c.Args = append(c.Args, "--expect-workers=3")
				}
			}
		}, "replicas 2 is below Deployment/glocust-master's --expect-workers=3"},
		"master PDB minAvailable": {func(o []manifests.Object) {
			p := pdb(o, "glocust-master")
			p.Spec.MaxUnavailable, p.Spec.MinAvailable = nil, ptr.To(intstr.FromInt32(1))
		}, "minAvailable blocks node drains for as long as Deployment/glocust-master runs"},
		"worker PDB maxUnavailable 0": {func(o []manifests.Object) {
			pdb(o, "glocust-worker").Spec.MaxUnavailable = ptr.To(intstr.FromString("0%"))
		},
			"maxUnavailable must allow at least one eviction"},
		"PDB unhealthy pods": {func(o []manifests.Object) { pdb(o, "glocust-worker").Spec.UnhealthyPodEvictionPolicy = nil },
			"unhealthyPodEvictionPolicy must be AlwaysAllow"},
		"narrow port range": {func(o []manifests.Object) {
			worker(o).Spec.Template.Spec.SecurityContext.Sysctls[0].Value = "32768 60999"
		}, "net.ipv4.ip_local_port_range"},
		"latest tag": {func(o []manifests.Object) {
			worker(o).Spec.Template.Spec.Containers[0].Image = "ghcr.io/glocust/glocust:latest"
		}, "pinned tag"},
		"no tag": {func(o []manifests.Object) {
			worker(o).Spec.Template.Spec.Containers[0].Image = "ghcr.io/glocust/glocust"
		}, "pinned tag"},
		"port 5558": {func(o []manifests.Object) {
			c := &worker(o).Spec.Template.Spec.Containers[0]
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: "zmq-plus-1", ContainerPort: 5558})
		}, "only zmq/5557"},
		"no limits": {func(o []manifests.Object) { worker(o).Spec.Template.Spec.Containers[0].Resources.Limits = nil }, "limits.cpu missing"},
		"privilege": {func(o []manifests.Object) {
			worker(o).Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
		}, "allowPrivilegeEscalation"},
		"token": {func(o []manifests.Object) { worker(o).Spec.Template.Spec.AutomountServiceAccountToken = nil }, "automountServiceAccountToken"},
		"writable root": {func(o []manifests.Object) {
			worker(o).Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptr.To(false)
		}, "readOnlyRootFilesystem"},
		"no spread":         {func(o []manifests.Object) { worker(o).Spec.Template.Spec.TopologySpreadConstraints = nil }, "topologySpreadConstraints"},
		"GOMAXPROCS static": {func(o []manifests.Object) { setEnv(worker(o), "GOMAXPROCS", "4") }, "GOMAXPROCS must come from resourceFieldRef"},
		"missing CM key": {func(o []manifests.Object) {
			worker(o).Spec.Template.Spec.Containers[0].Env[2].ValueFrom.ConfigMapKeyRef.Key = "LOCUST_HSOT"
		}, "has no key LOCUST_HSOT"},
		"short grace": {func(o []manifests.Object) {
			worker(o).Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
		}, "terminationGracePeriodSeconds"},
		"selector": {func(o []manifests.Object) { worker(o).Spec.Template.Labels["app.kubernetes.io/component"] = "wrker" }, "selector does not match"},
	}
	// The overlay each case breaks: glocust unless it needs another's.
	overlayOf := map[string]string{"static replicas with HPA": "autoscaled"}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			objs := render(t, cmp.Or(overlayOf[name], "glocust"))
			c.breakIt(objs)
			assertLintReports(t, objs, c.want)
		})
	}
}

// TestLintProbeScheme: a master's probes use HTTPS exactly when it serves
// TLS (overlays/protected through components/web-tls).
func TestLintProbeScheme(t *testing.T) {
	for overlay, scheme := range map[string]corev1.URIScheme{"protected": corev1.URISchemeHTTP, "glocust": corev1.URISchemeHTTPS} {
		objs := render(t, overlay)
		for _, o := range objs {
			if d, ok := o.Obj.(*appsv1.Deployment); ok && d.Spec.Template.Labels["app.kubernetes.io/component"] == "master" {
				d.Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Scheme = scheme
			}
		}
		assertLintReports(t, objs, "probe /healthz: scheme "+string(scheme))
	}
}

// TestLintRejectsWorkerJob breaks the headless overlay's worker Job one way
// at a time; every break must be reported.
func TestLintRejectsWorkerJob(t *testing.T) {
	cases := map[string]struct {
		breakIt func(master, worker *batchv1.Job)
		want    string
	}{
		"completions":    {func(_, w *batchv1.Job) { w.Spec.Completions = ptr.To[int32](3) }, "must equal parallelism"},
		"expect-workers": {func(m, _ *batchv1.Job) { setJobEnv(m, "LOCUST_EXPECT_WORKERS", "3") }, "is not Job/glocust-master's --expect-workers=3"},
		"no count":       {func(m, _ *batchv1.Job) { setJobEnv(m, "LOCUST_EXPECT_WORKERS", "x") }, "needs --expect-workers"},
		"OnFailure":      {func(_, w *batchv1.Job) { w.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, "restartPolicy must be Never"},
		"not indexed": {func(_, w *batchv1.Job) {
			w.Spec.CompletionMode, w.Spec.BackoffLimitPerIndex = nil, nil
		}, "must be Indexed with backoffLimitPerIndex"},
		"many retries":  {func(_, w *batchv1.Job) { w.Spec.BackoffLimitPerIndex = ptr.To[int32](10) }, "backoffLimitPerIndex 10"},
		"job-wide":      {func(_, w *batchv1.Job) { w.Spec.BackoffLimit = ptr.To[int32](2) }, "leave them unset"},
		"evictions":     {func(_, w *batchv1.Job) { w.Spec.PodFailurePolicy = nil }, "podFailurePolicy must Ignore DisruptionTarget"},
		"deadline":      {func(_, w *batchv1.Job) { w.Spec.ActiveDeadlineSeconds = ptr.To[int64](600) }, "workers must outlive the master"},
		"ttl":           {func(_, w *batchv1.Job) { w.Spec.TTLSecondsAfterFinished = ptr.To[int32](60) }, "the Jobs of a run go together"},
		"no rebalance":  {func(m, _ *batchv1.Job) { dropArg(m, "--enable-rebalancing") }, "needs --enable-rebalancing"},
		"no spread":     {func(_, w *batchv1.Job) { w.Spec.Template.Spec.TopologySpreadConstraints = nil }, "topologySpreadConstraints"},
		"loose":         {func(_, w *batchv1.Job) { w.Spec.Template.Spec.Containers[0].SecurityContext = nil }, "Pod Security restricted"},
		"no worker Job": {func(_, w *batchv1.Job) { w.Spec.Template.Labels["app.kubernetes.io/component"] = "master" }, "needs its workers in the set"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			objs := render(t, "headless")
			c.breakIt(headlessJobs(t, objs))
			assertLintReports(t, objs, c.want)
		})
	}
}

func setJobEnv(j *batchv1.Job, name, value string) {
	c := &j.Spec.Template.Spec.Containers[0]
	for i := range c.Env {
		if c.Env[i].Name == name {
			c.Env[i] = corev1.EnvVar{Name: name, Value: value}
		}
	}
}

func dropArg(j *batchv1.Job, arg string) {
	c := &j.Spec.Template.Spec.Containers[0]
	var out []string
	for _, a := range c.Args {
		if a != arg {
			out = append(out, a)
		}
	}
	c.Args = out
}

// assertLintReports fails the test unless linting objs reports want.
func assertLintReports(t *testing.T, objs []manifests.Object, want string) {
	t.Helper()
	var all []string
	for _, err := range manifests.Lint(objs) {
		all = append(all, err.Error())
	}
	if !strings.Contains(strings.Join(all, "\n"), want) {
		t.Errorf("lint did not report %q; it said:\n%s", want, strings.Join(all, "\n"))
	}
}

func setEnv(d *appsv1.Deployment, name, value string) {
	c := &d.Spec.Template.Spec.Containers[0]
	for i := range c.Env {
		if c.Env[i].Name == name {
			c.Env[i] = corev1.EnvVar{Name: name, Value: value}
		}
	}
}
