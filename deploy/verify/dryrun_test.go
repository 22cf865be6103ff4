package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/glocust/glocust/deploy/verify/manifests"
)

// The server-side dry run: a real kube-apiserver (built from the Go module
// proxy by apiserver/build.sh, cached outside the work tree) on Debian's
// etcd, on 127.0.0.1. Every object of every overlay is created with
// dryRun=All and strict field validation in the overlay's own namespace,
// which enforces Pod Security "restricted"; a warning is an error (the
// namespace's warn=restricted label makes the server warn about workload
// templates). Each pod template is also dry-run as a bare Pod, so that
// "enforce" itself judges it.

const token = "glocust-verify-token"

// cluster is a running etcd + kube-apiserver.
type cluster struct {
	cfg      *rest.Config
	dyn      dynamic.Interface
	mapper   meta.RESTMapper
	warnings *warnings
}

type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

func apiserverBinary(t *testing.T) string {
	if p := os.Getenv("GLOCUST_KUBE_APISERVER"); p != "" {
		return p
	}
	// Build (or find in the cache) the pinned kube-apiserver: seconds when
	// cached, ~6 min on 2 cores the first time on a machine.
	out, err := exec.Command("./apiserver/build.sh").Output()
	if err != nil {
		t.Fatalf("apiserver/build.sh: %v (set GLOCUST_KUBE_APISERVER to a kube-apiserver v1.37.2 to skip the build)", err)
	}
	return strings.TrimSpace(string(out))
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs a command whose output goes to a log file, stopped with SIGTERM
// (then SIGKILL) at cleanup.
func start(t *testing.T, logPath, bin string, args ...string) {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log (tail):\n%s", filepath.Base(bin), b)
		}
	})
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	apiserver := apiserverBinary(t)
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("etcd not found: install Debian's etcd-server (apt-get install etcd-server); .ci/run does")
	}
	dir := t.TempDir()
	began := time.Now()

	client, peer := freePort(t), freePort(t)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	start(t, filepath.Join(dir, "etcd.log"), etcd,
		"--name=verify", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=verify="+peerURL, "--log-level=warn")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	saKey := write("sa.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	saPub := write("sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	tokens := write("tokens.csv", []byte(token+",admin,admin,system:masters\n"))

	port := freePort(t)
	start(t, filepath.Join(dir, "apiserver.log"), apiserver,
		"--etcd-servers="+clientURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port), "--cert-dir="+filepath.Join(dir, "certs"),
		"--endpoint-reconciler-type=none",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		"--token-auth-file="+tokens, "--authorization-mode=RBAC")

	w := &warnings{}
	cfg := &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", port),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		WarningHandler:  w,
		QPS:             100,
		Burst:           200,
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, cfg.Host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready after 90 s (last: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := disc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver %s on etcd ready in %s", v.GitVersion, time.Since(began).Round(time.Millisecond))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.take()
	return &cluster{cfg: cfg, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)), warnings: w}
}

func (c *cluster) resource(gvk schema.GroupVersionKind) (dynamic.NamespaceableResourceInterface, bool, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false, err
	}
	return c.dyn.Resource(m.Resource), m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// apply creates the object for real with server-side apply (namespaces and
// the default ServiceAccount the ServiceAccount admission plugin wants).
func (c *cluster) apply(ctx context.Context, ns string, js []byte, gvk schema.GroupVersionKind, name string) error {
	r, namespaced, err := c.resource(gvk)
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = r
	if namespaced {
		ri = r.Namespace(ns)
	}
	_, err = ri.Patch(ctx, name, types.ApplyPatchType, js, metav1.PatchOptions{FieldManager: "glocust-verify", Force: ptrTo(true)})
	return err
}

// dryRun creates one object with dryRun=All and strict field validation; a
// warning from the server is an error.
func (c *cluster) dryRun(ctx context.Context, ns string, js []byte, gvk schema.GroupVersionKind) error {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		return err
	}
	r, namespaced, err := c.resource(gvk)
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = r
	if namespaced {
		u.SetNamespace(ns)
		ri = r.Namespace(ns)
	}
	_ = c.warnings.take()
	_, err = ri.Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
	if err != nil {
		return err
	}
	if w := c.warnings.take(); len(w) > 0 {
		return fmt.Errorf("warnings (treated as errors): %s", strings.Join(w, "; "))
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// podOf is a bare Pod with a workload's pod template, so that Pod Security
// "enforce" (which only judges Pods) sees it.
func podOf(p manifests.Pod) ([]byte, error) {
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: *p.Meta.DeepCopy(),
		Spec:       *p.Spec.DeepCopy(),
	}
	pod.Name = strings.ToLower(p.Owner.GVK.Kind) + "-" + p.Owner.Name
	return sigsyaml.Marshal(pod)
}

func jsonOf(t *testing.T, v any) []byte {
	y, err := sigsyaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	js, err := sigsyaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestServerDryRun(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	for _, name := range overlays {
		t.Run(name, func(t *testing.T) {
			objs := render(t, name)
			ns := ""
			for _, o := range objs {
				if o.GVK.Kind == "Namespace" {
					ns = o.Name
					// Real, not dry-run: the objects below need it.
					if err := c.apply(ctx, "", o.JSON, o.GVK, o.Name); err != nil {
						t.Fatalf("%s: %v", o, err)
					}
				}
			}
			if ns == "" {
				t.Fatal("no Namespace")
			}
			sa := []byte(`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}`)
			if err := c.apply(ctx, ns, sa, schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, "default"); err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				switch {
				case o.GVK.Kind == "Namespace":
					continue
				case o.GVK == manifests.ServiceMonitorGVK:
					// No Prometheus Operator CRD on this server: decoded strictly
					// into its Go types in TestOverlays instead.
					t.Logf("%s: not sent (no CRD); strict-decoded in TestOverlays", o)
					continue
				}
				if err := c.dryRun(ctx, ns, o.JSON, o.GVK); err != nil {
					t.Errorf("%s: rejected: %v", o, err)
				} else {
					t.Logf("%s: accepted (server dry run)", o)
				}
			}
			for _, p := range manifests.Pods(objs) {
				js, err := podOf(p)
				if err == nil {
					js, err = sigsyaml.YAMLToJSON(js)
				}
				if err == nil {
					err = c.dryRun(ctx, ns, js, schema.GroupVersionKind{Version: "v1", Kind: "Pod"})
				}
				if err != nil {
					t.Errorf("pod of %s: rejected: %v", p.Owner, err)
				}
			}
		})
	}

	// The harness itself: what it must refuse, it refuses.
	t.Run("rejects", func(t *testing.T) {
		objs := render(t, "glocust")
		var worker *appsv1.Deployment
		for _, o := range objs {
			if d, ok := o.Obj.(*appsv1.Deployment); ok && d.Name == "glocust-worker" {
				worker = d.DeepCopy()
			}
		}
		if worker == nil {
			t.Fatal("glocust: no worker Deployment")
		}
		const ns = "glocust"
		deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

		loose := worker.DeepCopy()
		loose.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
		err := c.dryRun(ctx, ns, jsonOf(t, loose), deploy)
		if err == nil || !strings.Contains(err.Error(), "allowPrivilegeEscalation") {
			t.Errorf("unhardened Deployment: err = %v, want a PodSecurity warning", err)
		} else {
			t.Logf("unhardened Deployment: %v", err)
		}
		pod, _ := podOf(manifests.Pod{Owner: manifests.Object{GVK: deploy, Name: "loose"}, Meta: &loose.Spec.Template.ObjectMeta, Spec: &loose.Spec.Template.Spec})
		pod, _ = sigsyaml.YAMLToJSON(pod)
		err = c.dryRun(ctx, ns, pod, schema.GroupVersionKind{Version: "v1", Kind: "Pod"})
		if !apierrors.IsForbidden(err) {
			t.Errorf("unhardened Pod: err = %v, want Forbidden by PodSecurity enforce", err)
		} else {
			t.Logf("unhardened Pod: %v", err)
		}

		bad := worker.DeepCopy()
		bad.Spec.Template.Labels["app.kubernetes.io/component"] = "wrker"
		if err := c.dryRun(ctx, ns, jsonOf(t, bad), deploy); !apierrors.IsInvalid(err) {
			t.Errorf("selector mismatch: err = %v, want Invalid", err)
		} else {
			t.Logf("selector mismatch: %v", err)
		}

		typo := bytes.Replace(jsonOf(t, worker), []byte(`"volumeMounts"`), []byte(`"volumeMount"`), 1)
		if err := c.dryRun(ctx, ns, typo, deploy); err == nil || !strings.Contains(err.Error(), "volumeMount") {
			t.Errorf("field typo: err = %v, want strict decoding error", err)
		} else {
			t.Logf("field typo: %v", err)
		}

		// The headless worker Job: podFailurePolicy needs restartPolicy Never.
		for _, o := range render(t, "headless") {
			if j, ok := o.Obj.(*batchv1.Job); ok && j.Name == "glocust-worker" {
				j = j.DeepCopy()
				j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				err := c.dryRun(ctx, ns, jsonOf(t, j), o.GVK)
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "podFailurePolicy") {
					t.Errorf("worker Job with OnFailure: err = %v, want Invalid (podFailurePolicy needs Never)", err)
				} else {
					t.Logf("worker Job with OnFailure: %v", err)
				}
			}
		}

		seed := []byte(`{"apiVersion":"extensions/v1beta1","kind":"Deployment","metadata":{"name":"locust-master"}}`)
		if err := c.dryRun(ctx, ns, seed, schema.GroupVersionKind{Group: "extensions", Version: "v1beta1", Kind: "Deployment"}); err == nil || !meta.IsNoMatchError(err) && !errors.Is(err, &meta.NoKindMatchError{}) {
			t.Errorf("extensions/v1beta1: err = %v, want no match", err)
		} else {
			t.Logf("the seed's extensions/v1beta1 Deployment: %v", err)
		}
	})
}
