package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/scenario"
)

// checkContainer runs one container's args and env through glocust's own
// parser, with the files the container mounts, and checks what the pod needs
// from them. Python (locustio/locust) containers take the same flags: glocust
// parses Locust 2.47's command line.
func checkContainer(o *overlay, w workload) error {
	c := w.c
	if len(c.Command) > 0 {
		return fmt.Errorf("command %q overrides the image's entrypoint; put flags in args", c.Command)
	}
	env, err := podEnv(o, c)
	if err != nil {
		return err
	}
	if unknown := config.UnknownEnv(env); len(unknown) > 0 {
		var hints []string
		for _, u := range unknown {
			h := u
			if s := config.SuggestEnv(u); s != "" {
				h += " (did you mean " + s + "?)"
			}
			hints = append(hints, h)
		}
		return fmt.Errorf("unknown LOCUST_*/GLOCUST_* variables: %s", strings.Join(hints, ", "))
	}
	files, err := mountedFiles(o, w.pod, c)
	if err != nil {
		return err
	}
	p := &config.Parser{
		NoDefaultConfigFiles: true, // the images' working directories hold no locust.conf
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, fmt.Errorf("%s is not mounted: %w", name, fs.ErrNotExist)
		},
	}
	opts, err := p.Parse(c.Args, env)
	if err != nil {
		return err
	}
	if len(opts.Warnings) > 0 {
		return fmt.Errorf("parser warnings: %s", strings.Join(opts.Warnings, "; "))
	}
	secrets := secretFiles(w.pod, c)
	for _, f := range []struct{ option, path string }{{"--tls-cert", opts.TLSCert}, {"--tls-key", opts.TLSKey}, {"--web-login-file", opts.WebLoginFile}} {
		if f.path != "" && secrets[f.path] == "" {
			return fmt.Errorf("%s %s is not a file of a mounted Secret (list its key under the volume's items)", f.option, f.path)
		}
	}
	if c.Args != nil && !opts.IsSet("config") {
		return errors.New("settings: pass the mounted locust.conf with --config")
	}
	switch w.role {
	case "master":
		if opts.Mode() != config.ModeMaster {
			return fmt.Errorf("a master pod runs in %s mode", opts.Mode())
		}
	case "worker":
		if opts.Mode() != config.ModeWorker {
			return fmt.Errorf("a worker pod runs in %s mode", opts.Mode())
		}
		found := false
		for _, s := range o.services() {
			found = found || s == opts.MasterHost
		}
		if !found || opts.MasterPort != 5557 {
			return fmt.Errorf("workers connect to %s:%d, not to a master Service of this set on 5557 (%v)", opts.MasterHost, opts.MasterPort, o.services())
		}
	}
	for _, f := range opts.Locustfiles() {
		src, ok := files[f]
		if !ok {
			return fmt.Errorf("locustfile %s is not mounted", f)
		}
		if strings.HasSuffix(f, ".py") {
			continue // a Python master's locustfile: checked in TestMixedClassesMatch
		}
		if _, err := scenario.Parse(f, []byte(src)); err != nil {
			return err
		}
	}
	if isGlocust(c) {
		for _, e := range env {
			k, v, _ := strings.Cut(e, "=")
			if k == "GOMAXPROCS" || k == "GOMEMLIMIT" {
				if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 1 {
					return fmt.Errorf("%s=%q is not a value Go accepts here", k, v)
				}
			}
		}
	}
	return nil
}

func isGlocust(c container) bool { return strings.Contains(c.Image, "glocust:") }

// checkOverlays checks every container of every overlay; it returns the
// problems found, each naming overlay, workload and container.
func checkOverlays(all map[string]*overlay) []error {
	var errs []error
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := all[n]
		ws := o.workloads()
		if len(ws) == 0 {
			errs = append(errs, fmt.Errorf("%s: no workloads", n))
		}
		for _, w := range ws {
			if err := checkContainer(o, w); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s container %s: %w", n, w.owner, w.c.Name, err))
			}
		}
	}
	return errs
}

// TestManifestsParse: every container's args and env pass glocust's parser.
func TestManifestsParse(t *testing.T) {
	all := overlays(t)
	for _, want := range []string{"autoscaled", "glocust", "headless", "mixed", "protected", "seed", "servicemonitor"} {
		if all[want] == nil {
			t.Errorf("overlay %s missing", want)
		}
	}
	for _, err := range checkOverlays(all) {
		t.Error(err)
	}
}

var pyClassRE = regexp.MustCompile(`(?m)^class (\w+)\((?:Http|FastHttp)?User\):\n((?:[ \t]+.*\n|\n)*)`)
var pyAttrRE = regexp.MustCompile(`(?m)^\s+(weight|fixed_count)\s*=\s*(\d+)`)

// TestMixedClassesMatch: the Python master's locustfile declares exactly the
// workers' scenario classes, with the same weights and fixed counts.
func TestMixedClassesMatch(t *testing.T) {
	o := overlays(t)["mixed"]
	master := o.workload(t, "Deployment", "master")
	worker := o.workload(t, "Deployment", "worker")
	if !strings.HasPrefix(master.c.Image, "locustio/locust:") {
		t.Fatalf("mixed master image %s", master.c.Image)
	}
	mfiles, err := mountedFiles(o, master.pod, master.c)
	if err != nil {
		t.Fatal(err)
	}
	wfiles, err := mountedFiles(o, worker.pod, worker.c)
	if err != nil {
		t.Fatal(err)
	}
	var py, yml string
	for p, s := range mfiles {
		if strings.HasSuffix(p, ".py") {
			py = s
		}
	}
	for p, s := range wfiles {
		if strings.HasSuffix(p, ".yaml") {
			yml = s
		}
	}
	sc, err := scenario.Parse("scenario.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, c := range sc.Classes {
		want[c.Name] = fmt.Sprintf("weight=%d fixed_count=%d", c.Weight, c.FixedCount)
	}
	have := map[string]string{}
	for _, m := range pyClassRE.FindAllStringSubmatch(py, -1) {
		attrs := map[string]string{"weight": "1", "fixed_count": "0"}
		for _, a := range pyAttrRE.FindAllStringSubmatch(m[2], -1) {
			attrs[a[1]] = a[2]
		}
		have[m[1]] = fmt.Sprintf("weight=%s fixed_count=%s", attrs["weight"], attrs["fixed_count"])
	}
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Errorf("locustfile classes %v, scenario classes %v", have, want)
	}
}

// TestMisspellingsFail: a misspelt flag, LOCUST_* name, locust.conf key or
// ConfigMap key in a copy of the manifests fails the check above.
func TestMisspellingsFail(t *testing.T) {
	cases := []struct{ file, from, to, want string }{
		{"overlays/headless/master-job.yaml", "--enable-rebalancing", "--enable-rebalancnig", "unrecognized arguments: --enable-rebalancnig"},
		{"overlays/mixed/master-deployment.yaml", "--master\n", "--mastr\n", "--mastr"},
		{"base/worker-deployment.yaml", "name: LOCUST_MASTER_NODE_HOST", "name: LOCUST_MASTER_HOST", "LOCUST_MASTER_HOST"},
		{"overlays/headless/worker-job.yaml", "--web-port=8089", "--web-prot=8089", "--web-prot"},
		{"base/locust.conf", "spawn-rate = 5", "spawn-rte = 5", "--spawn-rte"},
		{"base/settings.env", "LOCUST_HOST=", "LOCUST_HSOT=", "no key LOCUST_HOST"},
		{"overlays/seed/slave-deployment.yaml", "value: locust-master", "value: locust-mastr", "locust-mastr"},
		{"components/web-login/master-patch.yaml", "name: GLOCUST_WEB_LOGIN_FILE", "name: GLOCUST_WEB_LOGIN_FLIE", "GLOCUST_WEB_LOGIN_FLIE (did you mean GLOCUST_WEB_LOGIN_FILE?)"},
		{"components/web-login/master-patch.yaml", "mountPath: /etc/glocust/web-login", "mountPath: /etc/glocust/login", "--web-login-file /etc/glocust/web-login/htpasswd is not a file of a mounted Secret"},
		{"components/web-tls/master-patch.yaml", "path: tls.key", "path: key.pem", "--tls-key /etc/glocust/web-tls/tls.key is not a file of a mounted Secret"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file)+"/"+strings.TrimSpace(c.to), func(t *testing.T) {
			dir := t.TempDir()
			copyManifests(t, ".", dir)
			p := filepath.Join(dir, c.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), c.from) {
				t.Fatalf("%s has no %q: update this test", c.file, c.from)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), c.from, c.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			all, err := renderDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, err := range checkOverlays(all) {
				msgs = append(msgs, err.Error())
			}
			if !strings.Contains(strings.Join(msgs, "\n"), c.want) {
				t.Errorf("the misspelt copy passed, or failed for another reason; want %q in:\n%s", c.want, strings.Join(msgs, "\n"))
			}
		})
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
