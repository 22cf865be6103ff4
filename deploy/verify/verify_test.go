package verify

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/glocust/glocust/deploy/verify/manifests"
)

const deployDir = ".."

// overlays are the overlays the README promises; each must render.
var overlays = []string{"glocust", "headless", "mixed", "seed", "servicemonitor"}

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
	for _, name := range overlays {
		t.Run(name, func(t *testing.T) {
			objs := render(t, name)
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GVK.Kind]++
			}
			for _, want := range []string{"Namespace", "ConfigMap", "Service", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler"} {
				if kinds[want] == 0 {
					t.Errorf("no %s", want)
				}
			}
			if name == "headless" && kinds["Job"] != 1 {
				t.Errorf("headless: want one Job, have %d", kinds["Job"])
			}
			if name == "servicemonitor" && kinds["ServiceMonitor"] != 1 {
				t.Errorf("servicemonitor: want one ServiceMonitor, have %d", kinds["ServiceMonitor"])
			}
			for _, err := range manifests.Lint(objs) {
				t.Error(err)
			}
		})
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
	cases := map[string]struct {
		breakIt func([]manifests.Object)
		want    string
	}{
		"static replicas with HPA": {func(o []manifests.Object) { worker(o).Spec.Replicas = ptr.To[int32](3) }, "static replicas"},
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
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			objs := render(t, "headless")
			c.breakIt(objs)
			var all []string
			for _, err := range manifests.Lint(objs) {
				all = append(all, err.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), c.want) {
				t.Errorf("lint did not report %q; it said:\n%s", c.want, strings.Join(all, "\n"))
			}
		})
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
