package app

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/scenario"
)

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("users:\n  - class: A\n    wait_time: {betwen: [1, 2]}\n    tasks: [{request: {path: /}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("users:\n  - {class: Web, tasks: [{request: {path: /}}]}\n  - {class: Api, tasks: [{request: {path: /}}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := filepath.Join(dir, "vars.yaml")
	if err := os.WriteFile(vars, []byte("vars: {page_size: 10}\ndata: {acc: {file: none.csv}}\nusers:\n  - {class: Web, data: acc, tasks: [{request: {path: \"/${env.SHOP}\"}}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	envf := filepath.Join(dir, "env.yaml")
	if err := os.WriteFile(envf, []byte("users:\n  - {class: Web, tasks: [{request: {path: \"/${env.SHOP}\"}}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clash := filepath.Join(dir, "clash.yaml")
	if err := os.WriteFile(clash, []byte("vars:\n  num_users: 10\nusers:\n  - {class: Web, tasks: [{request: {path: /}}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		// vars, data, --var
		{"var clash", []string{"--worker", "-f", clash}, nil, 1,
			clash + `:2: vars.num_users: "num_users" is the name of one of Locust's options (a master would send its value for it); choose another name`},
		{"unknown var", []string{"-l", "-f", good, "--var", "size=1"}, nil, 1, "--var size: the scenario declares no variable size (declared: )"},
		{"worker reads data", []string{"--worker", "-f", vars}, []string{"SHOP=x"}, 1, vars + ":2: data.acc.file: open " + filepath.Join(dir, "none.csv")},
		{"worker reads env", []string{"--worker", "-f", envf}, nil, 1, envf + ":2: users[0].tasks[0].request.path: template: at byte 7: environment variable SHOP is not set"},
		{"master reads neither", []string{"-l", "-f", vars, "--var", "page_size=5"}, nil, 0, "Available Users:\n    Web\n"},
		// Locust's exit codes: 2 for argparse's usage errors, 1 or 255 for
		// its later checks; 1 for a scenario glocust cannot run.
		{"bad flag", []string{"--worker", "--hots", "x"}, nil, 2, "unrecognized arguments: --hots"},
		{"bad value", []string{"--worker", "-u", "many"}, nil, 2, "-u/--users"},
		{"bad env value", []string{"--worker"}, []string{"LOCUST_USERS=many"}, 2, "-u/--users: invalid int value: 'many'"},
		{"autoquit", []string{"--autoquit", "5"}, nil, 1, "--autoquit is only meaningful in combination with --autostart"},
		{"web-auth", []string{"--master", "--web-auth", "admin:secret"}, nil, 2, "argument --web-auth: The --web-auth parameters has been replaced with --web-login. (glocust: use --web-login with --web-login-file"},
		{"master and worker", []string{"--master", "--worker"}, nil, 255, "The --master argument cannot be combined with --worker"},
		{"bad yaml", []string{"--worker", "-f", bad}, nil, 1, bad + ":3:"},
		{"missing file", []string{"--worker", "-f", filepath.Join(dir, "nope.yaml")}, nil, 1, "nope.yaml"},
		{"no classes", []string{"--worker"}, nil, 1, "no user classes"},
		{"python file", []string{"--worker", "-f", "locustfile.py"}, nil, 1, "glocust cannot run Python"},
		{"bad env", []string{"--worker"}, []string{"LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP=soon"}, 1, "LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP: invalid float value: 'soon'"},
		{"version", []string{"--version"}, nil, 0, "glocust"},
		{"list", []string{"-l", "-f", good}, nil, 0, "Available Users:\n    Web\n    Api\n"},
		{"list without classes", []string{"--list"}, nil, 1, "no user classes"},
		{"help", []string{"-h"}, nil, 0, "--master-host"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(c.args, c.env, &out, &errOut)
			all := out.String() + errOut.String()
			if code != c.code || !strings.Contains(all, c.want) {
				t.Fatalf("exit %d (want %d), output does not contain %q:\n%s", code, c.code, c.want, all)
			}
		})
	}
}

// TestVarsFromEnv checks where a scenario variable's value comes from: the
// command line's --var over LOCUST_<NAME> over GLOCUST_VAR.
func TestVarsFromEnv(t *testing.T) {
	t.Parallel()
	classes := []*scenario.Class{{Name: "A", Vars: map[string]string{"page_size": "2", "env_name": "dev"}}}
	for _, c := range []struct {
		args, env []string
		want      map[string]string
	}{
		{nil, []string{"LOCUST_PAGE_SIZE=7"}, map[string]string{"page_size": "7"}},
		{nil, []string{"LOCUST_PAGE_SIZE=7", "GLOCUST_VAR=[page_size=1, env_name=prod]"}, map[string]string{"page_size": "7", "env_name": "prod"}},
		{[]string{"--var", "page_size=9"}, []string{"LOCUST_PAGE_SIZE=7", "LOCUST_ENV_NAME=qa"}, map[string]string{"page_size": "9", "env_name": "qa"}},
		{nil, []string{"LOCUST_OTHER=1"}, nil},
	} {
		opts, err := config.Parse(append([]string{"--worker"}, c.args...), c.env)
		if err != nil {
			t.Fatal(err)
		}
		varsFromEnv(opts, c.env, classes)
		if !reflect.DeepEqual(opts.Vars, c.want) {
			t.Errorf("args %q env %q: vars %v, want %v", c.args, c.env, opts.Vars, c.want)
		}
	}
}
