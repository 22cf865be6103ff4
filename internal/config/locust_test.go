package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/glocust/glocust/internal/testenv"
)

// oracleCase is one parse to compare with Locust's own parser.
type oracleCase struct {
	Args []string          `json:"args"`
	Env  map[string]string `json:"env,omitempty"`
	Conf *string           `json:"conf"`
}

type oracleResult struct {
	Code int            `json:"code"`
	Err  string         `json:"err"`
	Vars map[string]any `json:"vars"`
}

func conf(s string) *string { return &s }

// oracleCases are parses whose outcome must match Locust 2.47 exactly: the
// exit code, and on success every compared option.
var oracleCases = []oracleCase{
	{Args: []string{}},
	{Args: []string{"-u10", "-r=2", "-t1h2m", "--headless"}},
	{Args: []string{"--users=10", "--spawn", "3", "--run-time", "20", "-H", "http://x"}},
	{Args: []string{"-u", "-5", "-u", " 1_000 "}},
	{Args: []string{"A", "B", "--headless"}},
	{Args: []string{"--headless", "A", "B"}},
	{Args: []string{"A", "-u", "1", "B"}},
	{Args: []string{"-T", "a", "b", "-E", "c"}},
	{Args: []string{"-T", "a", "B"}},
	{Args: []string{"-T", "a", "--", "B"}},
	{Args: []string{"-T"}},
	{Args: []string{"--", "-u"}},
	{Args: []string{"--worker", "-f", "-"}},
	{Args: []string{"--processes", "-1", "--master-port", "6000", "--master-host", "m"}},
	{Args: []string{"-lu3"}},
	{Args: []string{"-lx"}},
	{Args: []string{"-L", "debug", "-P", "9000", "-s", "1m30s"}},
	{Args: []string{"-L", "trace"}},
	{Args: []string{"--host", "-a b"}},
	{Args: []string{"--host", "-x"}},
	{Args: []string{"--host="}},
	{Args: []string{"--foo"}},
	{Args: []string{"--hots", "x"}},
	{Args: []string{"--exp", "3"}},
	{Args: []string{"--exit", "3"}},
	{Args: []string{"--users", "x"}},
	{Args: []string{"-u"}},
	{Args: []string{"-r", "0"}},
	{Args: []string{"-r", "inf"}},
	{Args: []string{"-r", "1e-3"}},
	{Args: []string{"-r", "x"}},
	{Args: []string{"-t", "1.5h"}},
	{Args: []string{"-t", "0"}},
	{Args: []string{"-s", "90"}},
	{Args: []string{"-s", "2h5s"}},
	{Args: []string{"--expect-workers", "0"}},
	{Args: []string{"--expect-workers", "3", "--expect-workers-max-wait", "10", "--master"}},
	{Args: []string{"--headless=true"}},
	{Args: []string{"--slave"}},
	{Args: []string{"--legacy-ui"}},
	{Args: []string{"--web-auth", "a:b"}},
	{Env: map[string]string{"LOCUST_WEB_AUTH": "a:b"}},
	{Conf: conf("web-auth = a:b\n")},
	{Args: []string{"--csv", "out/x", "--csv-full-history", "--html", "r.html", "--json", "--json-file", "j"}},
	{Args: []string{"--csv-full-history"}},
	{Args: []string{"--print-stats", "--only-summary", "--reset-stats", "--skip-log-setup", "--logfile", "l"}},
	{Args: []string{"--exit-code-on-error", "3", "--equal-weights", "--profile", "p", "--otel"}},
	{Args: []string{"--web-host", "0.0.0.0", "--web-base-path", "/x", "--class-picker", "--web-login", "--tls-cert", "c", "--tls-key", "k"}},
	{Args: []string{"--autostart", "--autoquit", "10", "--enable-rebalancing", "--headful"}},
	{Args: []string{"--master-bind-host", "1.2.3.4", "--master-bind-port", "6001"}},
	{Args: []string{"--config-users", `{"user_class_name":"A"}`}},
	{Args: []string{"--config-users", `{"weight":1}`}},
	{Args: []string{"-h", "--bogus"}},
	{Args: []string{"-V"}},
	{Env: map[string]string{"LOCUST_USERS": "5", "LOCUST_SPAWN_RATE": "0.5", "LOCUST_RUN_TIME": "1h30m", "LOCUST_HOST": "h"}},
	{Args: []string{"-u", "3"}, Env: map[string]string{"LOCUST_USERS": "5"}},
	{Args: []string{"--user", "3"}, Env: map[string]string{"LOCUST_USERS": "5"}},
	{Env: map[string]string{"LOCUST_MODE_MASTER": "true", "LOCUST_MASTER_BIND_PORT": "7000", "LOCUST_EXPECT_WORKERS": "2"}},
	{Env: map[string]string{"LOCUST_MODE_WORKER": "1", "LOCUST_MASTER_NODE_HOST": "m", "LOCUST_MASTER_NODE_PORT": "7001"}},
	{Env: map[string]string{"LOCUST_HEADLESS": "yes", "LOCUST_AUTOSTART": "off", "LOCUST_RESET_STATS": "ON"}},
	{Env: map[string]string{"LOCUST_HEADLESS": "maybe"}},
	{Env: map[string]string{"LOCUST_HEADLESS": ""}},
	{Env: map[string]string{"LOCUST_USERS": ""}},
	{Env: map[string]string{"LOCUST_TAGS": "a b", "LOCUST_EXCLUDE_TAGS": "[c, d]"}},
	{Env: map[string]string{"LOCUST_TAGS": `["x", "y z"]`, "LOCUST_EXCLUDE_TAGS": ""}},
	{Env: map[string]string{"LOCUST_LOCUSTFILE": "a.py,b.py", "LOCUST_LOGLEVEL": "warning", "LOCUST_STOP_TIMEOUT": "1m"}},
	{Env: map[string]string{"LOCUST_USERCLASS_PICKER": "1", "LOCUST_ENABLE_OPENTELEMETRY": "1", "LOCUST_WEB_PORT": "9"}},
	{Env: map[string]string{"LOCUST_CSV": "c", "LOCUST_CSV_FULL_HISTORY": "true", "LOCUST_HTML": "h"}},
	{Env: map[string]string{"LOCUST_USER_CLASSES": "X  Y"}},
	{Args: []string{"A"}, Env: map[string]string{"LOCUST_USER_CLASSES": "X Y"}},
	{Env: map[string]string{"LOCUST_CONFIG": "x.conf", "LOCUST_MODE": "MASTER", "LOCUST_JSON": "1"}},
	{Conf: conf("headless = true\nusers: 4\n[x]\n--spawn-rate 3\ntags = [a, b]\nhost=\n")},
	{Conf: conf("headless = true\n"), Env: map[string]string{"LOCUST_HEADLESS": "false"}},
	{Conf: conf("users = 3\nusers = 9\nrun-time = 10m # c\nhost = \"http://a # b\"\n")},
	{Conf: conf("users = 3\n"), Args: []string{"-u", "4"}},
	{Conf: conf("users = many\n"), Args: []string{"-u", "4"}},
	{Conf: conf("foo = 1\n")},
	{Conf: conf("spawn_rate = 1\n")},
	{Conf: conf("users = [1, 2]\n")},
	{Conf: conf("headless = sometimes\n")},
	{Conf: conf("exclude-tags = x y\nlocustfile = 'a.py'\n")},
}

// TestAgainstLocust parses oracleCases with Locust 2.47's parser (through the
// pinned Python) and with Parse, and compares the results.
func TestAgainstLocust(t *testing.T) {
	python := testenv.Python(t)
	in, err := json.Marshal(oracleCases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "testdata/locust_parse.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	var want []oracleResult
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(oracleCases) {
		t.Fatalf("oracle output: %v (%d results)", err, len(want))
	}
	for i, c := range oracleCases {
		files := map[string]string{}
		if c.Conf != nil {
			files["locust.conf"] = *c.Conf
		}
		var env []string
		for k, v := range c.Env {
			env = append(env, k+"="+v)
		}
		o, err := fakeFS(files).Parse(c.Args, env)
		w := want[i]
		if o != nil && (o.Help || o.ShowVersion) {
			if w.Code != 0 || w.Vars != nil {
				t.Errorf("case %d %+v: glocust stops for help/version, Locust: code %d", i, c, w.Code)
			}
			continue
		}
		if w.Vars == nil {
			var e *Error
			if err == nil || !errors.As(err, &e) || e.Code != w.Code {
				t.Errorf("case %d %+v: Locust fails with %d: %s\nglocust: %v (code %d)", i, c, w.Code, strings.TrimSpace(w.Err), err, ExitCode(err))
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d %+v: Locust accepts it, glocust: %v", i, c, err)
			continue
		}
		got := locustVars(o)
		for k, gv := range got {
			wv, ok := w.Vars[k]
			if !ok {
				t.Errorf("case %d: Locust has no %q", i, k)
				continue
			}
			if !reflect.DeepEqual(normalize(gv), normalize(wv)) {
				t.Errorf("case %d %+v: %s = %#v, Locust %#v", i, c, k, gv, wv)
			}
		}
	}
}

// locustVars renders Options as Locust's namespace (dest -> value).
func locustVars(o *Options) map[string]any {
	opt := func(name string, v any) any {
		if !o.IsSet(name) {
			return nil
		}
		return v
	}
	secs := func(d interface{ Seconds() float64 }) int { return int(d.Seconds()) }
	return map[string]any{
		"locustfile": o.Locustfile, "host": opt("host", o.Host), "num_users": opt("users", o.Users),
		"spawn_rate": opt("spawn-rate", o.SpawnRate), "run_time": opt("run-time", secs(o.RunTime)),
		"list_commands": o.List, "web_host": o.WebHost, "web_port": o.WebPort, "headless": o.Headless,
		"autostart": o.Autostart, "autoquit": secs(o.Autoquit), "headful": o.Headful, "web_login": o.WebLogin,
		"tls_cert": o.TLSCert, "tls_key": o.TLSKey, "class_picker": o.ClassPicker, "master": o.Master,
		"master_bind_host": o.MasterBindHost, "master_bind_port": o.MasterBindPort,
		"expect_workers": o.ExpectWorkers, "expect_workers_max_wait": secs(o.ExpectWorkersMaxWait),
		"enable_rebalancing": o.EnableRebalancing, "worker": o.Worker, "processes": opt("processes", o.Processes),
		"master_host": o.MasterHost, "master_port": o.MasterPort, "web_base_path": o.WebBasePath,
		"tags": opt("tags", o.Tags), "exclude_tags": opt("exclude-tags", o.ExcludeTags),
		"csv_prefix": opt("csv", o.CSVPrefix), "stats_history_enabled": o.CSVFullHistory,
		"print_stats": o.PrintStats, "only_summary": o.OnlySummary, "reset_stats": o.ResetStats,
		"html_file": opt("html", o.HTMLFile), "json": o.JSON, "json_file": opt("json-file", o.JSONFile),
		"skip_log_setup": o.SkipLogSetup, "loglevel": o.LogLevel, "logfile": opt("logfile", o.LogFile),
		"show_task_ratio": o.ShowTaskRatio, "show_task_ratio_json": o.ShowTaskRatioJSON,
		"exit_code_on_error": o.ExitCodeOnError, "stop_timeout": secs(o.StopTimeout),
		"equal_weights": o.EqualWeights, "profile": opt("profile", o.Profile), "otel": o.OTel,
		"user_classes": append([]string{}, o.UserClasses...),
	}
}

// normalize makes Go and JSON-decoded values comparable.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		return nil
	}
	if l, ok := out.([]any); ok && len(l) == 0 {
		return []any{}
	}
	return out
}
