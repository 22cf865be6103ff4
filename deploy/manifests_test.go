package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The rendered manifests, read with just enough structure for these tests.
// The full, strict decoding into k8s.io/api types is deploy/verify's job.

type meta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type object struct {
	Kind     string            `yaml:"kind"`
	Metadata meta              `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
	Spec     struct {
		Template    *podTemplate `yaml:"template"`    // Deployment, Job
		Parallelism *int         `yaml:"parallelism"` // Job
		Completions *int         `yaml:"completions"` // Job
	} `yaml:"spec"`
}

type podTemplate struct {
	Metadata meta    `yaml:"metadata"`
	Spec     podSpec `yaml:"spec"`
}

type podSpec struct {
	InitContainers []container `yaml:"initContainers"`
	Containers     []container `yaml:"containers"`
	Volumes        []volume    `yaml:"volumes"`
}

type container struct {
	Name         string   `yaml:"name"`
	Image        string   `yaml:"image"`
	Command      []string `yaml:"command"`
	Args         []string `yaml:"args"`
	Env          []envVar `yaml:"env"`
	EnvFrom      []any    `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
	Resources struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		ConfigMapKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"configMapKeyRef"`
		ResourceFieldRef *struct {
			Resource string `yaml:"resource"`
			Divisor  string `yaml:"divisor"`
		} `yaml:"resourceFieldRef"`
		FieldRef  any `yaml:"fieldRef"`
		SecretRef any `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name  string      `yaml:"name"`
		Items []keyToPath `yaml:"items"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName string      `yaml:"secretName"`
		Items      []keyToPath `yaml:"items"`
	} `yaml:"secret"`
}

type keyToPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
}

// overlay is one rendered overlay.
type overlay struct {
	name    string
	objects []object
}

func (o *overlay) configMap(name string) *object {
	for i := range o.objects {
		if x := &o.objects[i]; x.Kind == "ConfigMap" && x.Metadata.Name == name {
			return x
		}
	}
	return nil
}

func (o *overlay) services() []string {
	var out []string
	for _, x := range o.objects {
		if x.Kind == "Service" {
			out = append(out, x.Metadata.Name)
		}
	}
	return out
}

// workload is a Deployment's or Job's pod template with its container.
type workload struct {
	owner string // Kind/name
	role  string // app.kubernetes.io/component
	obj   *object
	pod   *podTemplate
	c     container
}

func (o *overlay) workloads() []workload {
	var out []workload
	for i := range o.objects {
		x := &o.objects[i]
		if x.Spec.Template == nil || (x.Kind != "Deployment" && x.Kind != "Job") {
			continue
		}
		t := x.Spec.Template
		for _, c := range append(append([]container{}, t.Spec.InitContainers...), t.Spec.Containers...) {
			out = append(out, workload{x.Kind + "/" + x.Metadata.Name, t.Metadata.Labels["app.kubernetes.io/component"], x, t, c})
		}
	}
	return out
}

func (o *overlay) workload(t *testing.T, kind, role string) workload {
	t.Helper()
	for _, w := range o.workloads() {
		if strings.HasPrefix(w.owner, kind+"/") && w.role == role {
			return w
		}
	}
	t.Fatalf("%s: no %s %s", o.name, role, kind)
	return workload{}
}

func parseRendered(name string, data []byte) (*overlay, error) {
	o := &overlay{name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var x object
		err := dec.Decode(&x)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		o.objects = append(o.objects, x)
	}
	return o, nil
}

// goTool is the go command that runs these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// renderDir renders every overlay of a deploy directory (this one, or a
// modified copy) with deploy/verify's render command: kustomize, as kubectl
// apply -k builds it.
func renderDir(deployDir string) (map[string]*overlay, error) {
	abs, err := filepath.Abs(deployDir)
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp("", "glocust-rendered-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	cmd := exec.Command(goTool(), "run", "./cmd/render", "-deploy", abs, "-out", out)
	cmd.Dir = "verify"
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("render %s: %v\n%s", deployDir, err, msg)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	all := map[string]*overlay{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(e.Name(), ".yaml")
		if all[name], err = parseRendered(name, b); err != nil {
			return nil, err
		}
	}
	return all, nil
}

var rendered struct {
	once sync.Once
	all  map[string]*overlay
	err  error
}

// overlays renders this deploy directory once per test binary.
func overlays(t *testing.T) map[string]*overlay {
	t.Helper()
	rendered.once.Do(func() { rendered.all, rendered.err = renderDir(".") })
	if rendered.err != nil {
		t.Fatal(rendered.err)
	}
	if len(rendered.all) == 0 {
		t.Fatal("no overlays rendered")
	}
	return rendered.all
}

// podEnv resolves a container's env as the kubelet would: literal values
// with $(VAR) expansion, configMapKeyRef from the overlay's ConfigMaps and
// resourceFieldRef from the container's limits. It returns KEY=value entries.
func podEnv(o *overlay, c container) ([]string, error) {
	var env []string
	vals := map[string]string{}
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s: envFrom is not resolved by these tests; use env with configMapKeyRef", c.Name)
	}
	for _, e := range c.Env {
		v := expand(e.Value, vals)
		if f := e.ValueFrom; f != nil {
			switch {
			case f.ConfigMapKeyRef != nil:
				cm := o.configMap(f.ConfigMapKeyRef.Name)
				if cm == nil {
					return nil, fmt.Errorf("env %s: no ConfigMap %s", e.Name, f.ConfigMapKeyRef.Name)
				}
				var ok bool
				if v, ok = cm.Data[f.ConfigMapKeyRef.Key]; !ok {
					return nil, fmt.Errorf("env %s: ConfigMap %s has no key %s", e.Name, f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key)
				}
			case f.ResourceFieldRef != nil:
				q, ok := c.Resources.Limits[strings.TrimPrefix(f.ResourceFieldRef.Resource, "limits.")]
				if !ok {
					return nil, fmt.Errorf("env %s: container %s has no %s", e.Name, c.Name, f.ResourceFieldRef.Resource)
				}
				n, err := quantity(q)
				if err != nil {
					return nil, fmt.Errorf("env %s: %w", e.Name, err)
				}
				div := 1.0
				if f.ResourceFieldRef.Divisor != "" {
					if div, err = quantity(f.ResourceFieldRef.Divisor); err != nil {
						return nil, fmt.Errorf("env %s: divisor: %w", e.Name, err)
					}
				}
				v = strconv.FormatInt(int64(math.Ceil(n/div)), 10)
			case f.FieldRef != nil:
				v = "downward-api-field"
			default:
				return nil, fmt.Errorf("env %s: unsupported valueFrom", e.Name)
			}
		}
		vals[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env, nil
}

var refRE = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expand does the kubelet's $(VAR) expansion ($$ is a literal $).
func expand(s string, vals map[string]string) string {
	return refRE.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := vals[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// quantity parses the Kubernetes quantities these manifests use.
func quantity(s string) (float64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"m", 1e-3}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			return f * u.mult, err
		}
	}
	return strconv.ParseFloat(s, 64)
}

func volumesByName(pod *podTemplate) map[string]volume {
	vols := map[string]volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	return vols
}

// mountedFiles maps the path of every ConfigMap file a container mounts to
// its content.
func mountedFiles(o *overlay, pod *podTemplate, c container) (map[string]string, error) {
	vols := volumesByName(pod)
	files := map[string]string{}
	for _, m := range c.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			return nil, fmt.Errorf("container %s: volumeMount %s has no volume", c.Name, m.Name)
		}
		if v.ConfigMap == nil {
			continue
		}
		cm := o.configMap(v.ConfigMap.Name)
		if cm == nil {
			return nil, fmt.Errorf("volume %s: no ConfigMap %s", v.Name, v.ConfigMap.Name)
		}
		keys := map[string]string{}
		if len(v.ConfigMap.Items) == 0 {
			for k := range cm.Data {
				keys[k] = k
			}
		}
		for _, it := range v.ConfigMap.Items {
			if _, ok := cm.Data[it.Key]; !ok {
				return nil, fmt.Errorf("volume %s: ConfigMap %s has no key %s", v.Name, cm.Metadata.Name, it.Key)
			}
			keys[it.Key] = it.Path
		}
		for k, p := range keys {
			if m.SubPath != "" {
				if m.SubPath == p {
					files[m.MountPath] = cm.Data[k]
				}
				continue
			}
			files[filepath.Join(m.MountPath, p)] = cm.Data[k]
		}
	}
	return files, nil
}

// secretFiles maps the path of every Secret file a container mounts to
// "secret/key". The Secrets are not part of the manifests (their values are
// the operator's), so only the keys a volume lists under items are known.
func secretFiles(pod *podTemplate, c container) map[string]string {
	vols := volumesByName(pod)
	files := map[string]string{}
	for _, m := range c.VolumeMounts {
		v := vols[m.Name]
		if v.Secret == nil || m.SubPath != "" {
			continue
		}
		for _, it := range v.Secret.Items {
			files[filepath.Join(m.MountPath, it.Path)] = v.Secret.SecretName + "/" + it.Key
		}
	}
	return files
}
