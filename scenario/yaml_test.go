package scenario

import (
	"crypto/tls"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const goodYAML = `host: http://127.0.0.1:8080
http:
  tls: {server_name: api.internal, min_version: 1.3, session_resumption: true}
  proxy: http://proxy.local:3128
  no_proxy: [localhost, .svc.cluster.local]
  trust_env: true
  resolve_interval: 10s
  accept_encoding: gzip
  content_size: received
max_request_names: 500
users:
  - class: WebUser
    weight: 3
    wait_time: {between: [0.5, 2]}
    on_start: [{request: {method: POST, path: /login, json: {user: a}}}]
    tasks:
      - weight: 5
        request: {method: GET, path: /, name: home, headers: {Accept: text/html}}
      - request: {method: GET, path: "/item?id=1", expect_status: [200]}
      - name: checkout
        steps:
          - request: {path: /cart, query: {b: "2", a: x y}}
          - request: {method: POST, path: /pay, form: {card: "1"}, timeout: 2.5}
      - weight: 0
        request: {path: /disabled}
  - class: ApiUser
    fixed_count: 2
    host: https://api.example
    http:
      tls: {insecure: true}
      proxy: {https: "proxy2:8080"}
      connection: close
      resolve_interval: 0
      accept_encoding: none
      content_size: decoded
    wait_time: {constant_throughput: 10}
    tasks:
      - request: {path: /api, expect_status: 204, timeout: "1s", allow_redirects: false, expect_body_contains: ok, connection: close}
`

func TestParseHappyPath(t *testing.T) {
	t.Parallel()
	sc, err := Parse("scenario.yaml", []byte(goodYAML))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sc.Host, "http://127.0.0.1:8080"; got != want {
		t.Errorf("host = %q, want %q", got, want)
	}
	if got, want := sc.MaxRequestNames, 500; got != want {
		t.Errorf("max_request_names = %d, want %d", got, want)
	}
	if got, want := len(sc.Classes), 2; got != want {
		t.Fatalf("classes = %d, want %d", got, want)
	}
	web, api := sc.Classes[0], sc.Classes[1]
	if web.Name != "WebUser" || web.Weight != 3 || web.FixedCount != 0 || web.WaitTime == nil || web.OnStart == nil {
		t.Errorf("WebUser = %+v", web)
	}
	var names []string
	var weights []int
	for _, tk := range web.Tasks {
		names = append(names, tk.Name)
		weights = append(weights, tk.Weight)
	}
	if got, want := strings.Join(names, ","), "home,/item?id=1,checkout"; got != want {
		t.Errorf("task names = %q, want %q", got, want)
	}
	if got, want := weights, []int{5, 1, 1}; !equalInts(got, want) {
		t.Errorf("weights = %v, want %v", got, want)
	}
	if api.FixedCount != 2 || api.Weight != 1 || api.Host != "https://api.example" {
		t.Errorf("ApiUser = %+v", api)
	}
	top := HTTPConfig{
		TLS:                 TLSConfig{ServerName: "api.internal", MinVersion: tls.VersionTLS13, SessionResumption: true},
		Proxy:               ProxyConfig{HTTP: "http://proxy.local:3128", HTTPS: "http://proxy.local:3128", NoProxy: "localhost,.svc.cluster.local"},
		TrustEnv:            true,
		ResolveInterval:     10 * time.Second,
		AcceptEncoding:      "gzip",
		ReceivedContentSize: true,
	}
	if !reflect.DeepEqual(sc.HTTP, top) || !reflect.DeepEqual(web.HTTP, top) {
		t.Errorf("http = %+v, WebUser's %+v, want %+v", sc.HTTP, web.HTTP, top)
	}
	// ApiUser's block applies key by key over the top level's.
	apiHTTP := top
	apiHTTP.TLS.Insecure = true
	apiHTTP.Proxy.HTTP, apiHTTP.Proxy.HTTPS = "", "proxy2:8080"
	apiHTTP.ConnectionClose = true
	apiHTTP.ResolveInterval = -1
	apiHTTP.AcceptEncoding, apiHTTP.ReceivedContentSize = NoAcceptEncoding, false
	if !reflect.DeepEqual(api.HTTP, apiHTTP) {
		t.Errorf("ApiUser's http = %+v, want %+v", api.HTTP, apiHTTP)
	}
	now := time.Unix(1000, 0)
	u := &UserContext{r: &Runner{now: func() time.Time { return now }}, cpLastRun: now}
	if got, want := api.WaitTime(u), 100*time.Millisecond; got != want {
		t.Errorf("constant_throughput wait = %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// req is a scenario whose only request, on line 4, has the keys keys
// besides its path.
func req(keys string) string {
	return "users:\n  - class: A\n    tasks:\n      - request: {path: /, " + keys + "}\n"
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", ``, "scenario.yaml: empty scenario"},
		{"syntax", "users: [", "scenario.yaml:1: did not find expected node content"},
		// For several of these the library gives no line, or one above the problem.
		{"syntax 2", "users:\n  - {path: /a?b}\n", "scenario.yaml:2: did not find expected ',' or '}'"},
		{"syntax first line", "\tusers: []\n", "scenario.yaml:1: found character that cannot start any token"},
		{"syntax dedent", "users:\n  - class: A\n  x: 1\n", "scenario.yaml:3: did not find expected '-' indicator"},
		{"syntax unclosed", "users:\n  - class: A\n    tasks: [{request: {path: /}}\n    weight: 1\n",
			"scenario.yaml:3: did not find expected ',' or ']'"},
		{"syntax tab", "users:\n  - class: A\n\tweight: 1\n", "scenario.yaml:3: found a tab character that violates indentation"},
		{"syntax mapping value", "users:\n  - class: A\n    weight: a: b\n", "scenario.yaml:3: mapping values are not allowed in this context"},
		{"syntax quote", "users:\n  - class: A\n    x: 'abc\n", "scenario.yaml:3: found unexpected end of stream"},
		{"syntax CR", "users:\r  - class: A\r  x: 1\r", "scenario.yaml:3: did not find expected '-' indicator"},
		{"unknown anchor", "host: http://x\nusers: *u\n", "scenario.yaml:2: unknown anchor 'u' referenced"},
		{"control character", "users:\n  - class: A\x01\n", "scenario.yaml:2: control characters are not allowed"},
		{"invalid UTF-8", "users:\n  - class: A\n    tasks: [{request: {path: /\xff}}]\n", "scenario.yaml:3: invalid leading UTF-8 octet"},
		{"CR lines", "users:\r  - class: A\r    weight: -1\r    tasks: [{request: {path: /}}]\r",
			"scenario.yaml:3: users[0].weight: expected an integer in [0, 1048576], got -1"},
		{"no users", "host: http://x\n", "scenario.yaml:1: users: at least one user class is required"},
		{"empty users", "users: []\n", "scenario.yaml:1: users: at least one user class is required"},
		{"unknown top key", "hots: x\nusers: []\n", `scenario.yaml:1: unknown key "hots" (want host, latency_correction, http, max_request_names, vars, data, users, shape, thresholds, seed)`},
		{"zero names", "max_request_names: 0\nusers: []\n", "scenario.yaml:1: max_request_names: expected an integer in [1, 2147483647], got 0"},
		{"bad wait kind", "users:\n  - class: A\n    wait_time: {betwen: [1, 2]}\n    tasks: [{request: {path: /}}]\n",
			`scenario.yaml:3: users[0].wait_time: unknown kind "betwen" (want between, constant, constant_pacing, constant_throughput)`},
		{"between arity", "users:\n  - class: A\n    wait_time: {between: [1]}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:3: users[0].wait_time: between takes [min, max]"},
		{"between order", "users:\n  - class: A\n    wait_time: {between: [3, 1]}\n    tasks: [{request: {path: /}}]\n",
			"users[0].wait_time: between: min 3 is greater than max 1"},
		{"throughput zero", "users:\n  - class: A\n    wait_time: {constant_throughput: 0}\n    tasks: [{request: {path: /}}]\n",
			"constant_throughput requires a positive rate"},
		{"bad class name", "users:\n  - class: 1abc\n    tasks: [{request: {path: /}}]\n",
			`scenario.yaml:2: users[0].class: "1abc" is not a valid Python class name`},
		{"keyword class", "users:\n  - class: class\n    tasks: [{request: {path: /}}]\n", "is not a valid Python class name"},
		{"missing class", "users:\n  - tasks: [{request: {path: /}}]\n", "scenario.yaml:2: users[0].class: required"},
		{"dup class", "users:\n  - class: A\n    tasks: [{request: {path: /}}]\n  - class: A\n    tasks: [{request: {path: /}}]\n",
			`scenario.yaml:4: users[1].class: duplicate class name "A"`},
		{"negative weight", "users:\n  - class: A\n    weight: -1\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:3: users[0].weight: expected an integer in [0, 1048576], got -1"},
		{"no tasks", "users:\n  - class: A\n", "scenario.yaml:2: users[0].tasks: at least one task is required"},
		{"all zero", "users:\n  - class: A\n    tasks: [{weight: 0, request: {path: /}}]\n",
			"users[0].tasks: at least one task with a weight > 0 is required"},
		{"unknown request key", "users:\n  - class: A\n    tasks:\n      - request: {path: /, jsn: 1}\n",
			`scenario.yaml:4: users[0].tasks[0].request: unknown key "jsn"`},
		{"no path", "users:\n  - class: A\n    tasks:\n      - request: {method: GET}\n", "users[0].tasks[0].request.path: required"},
		{"two bodies", "users:\n  - class: A\n    tasks:\n      - request: {path: /, body: x, json: 1}\n",
			"scenario.yaml:4: users[0].tasks[0].request: body, body_file, json and form are mutually exclusive"},
		{"bad status", "users:\n  - class: A\n    tasks:\n      - request: {path: /, expect_status: [200, 999]}\n",
			"scenario.yaml:4: users[0].tasks[0].request.expect_status[1]: expected an integer in [100, 599], got 999"},
		{"bad timeout", "users:\n  - class: A\n    tasks:\n      - request: {path: /, timeout: soon}\n", `invalid duration "soon"`},
		{"req and steps", "users:\n  - class: A\n    tasks:\n      - request: {path: /}\n        steps: [{request: {path: /}}]\n",
			"a task has either a request or steps, not both"},
		{"steps no name", "users:\n  - class: A\n    tasks:\n      - steps: [{request: {path: /}}]\n",
			"scenario.yaml:4: users[0].tasks[0].name: required for a task with steps"},
		{"bad host", "host: ftp://x\nusers:\n  - class: A\n    tasks: [{request: {path: /}}]\n", `scenario.yaml:1: host: invalid host "ftp://x"`},
		{"dup key", "users:\n  - class: A\n    class: B\n    tasks: [{request: {path: /}}]\n", `scenario.yaml:3: users[0]: duplicate key "class"`},
		{"header newline", "users:\n  - class: A\n    tasks:\n      - request: {path: /, headers: {X: \"a\\nb\"}}\n", `invalid header "X"`},
		{"bad method", "users:\n  - class: A\n    tasks:\n      - request: {path: /, method: \"G T\"}\n", `invalid method "G T"`},
		{"users not list", "users: {a: 1}\n", "scenario.yaml:1: users: expected a list"},
		{"unknown class key", "users:\n  - class: A\n    wieght: 1\n", `scenario.yaml:3: users[0]: unknown key "wieght"`},
		{"unknown task key", "users:\n  - class: A\n    tasks:\n      - nmae: x\n", `scenario.yaml:4: users[0].tasks[0]: unknown key "nmae"`},
		{"unknown step key", "users:\n  - class: A\n    tasks:\n      - name: s\n        steps:\n          - requests: {path: /}\n",
			`scenario.yaml:6: users[0].tasks[0].steps[0]: unknown key "requests" (want request, think, repeat, steps, as, if, unless)`},
		{"bool type", "latency_correction: 1\nusers: []\n", "scenario.yaml:1: latency_correction: expected true or false"},
		{"string type", "host: [a]\nusers: []\n", "scenario.yaml:1: host: expected a string"},
		{"null string", "users:\n  - class:\n", "scenario.yaml:2: users[0].class: expected a string"},
		{"float weight", "users:\n  - class: A\n    weight: 1.5\n", "scenario.yaml:3: users[0].weight: expected an integer"},
		{"huge weight", "users:\n  - class: A\n    weight: 99999999999999999999\n", "scenario.yaml:3: users[0].weight: expected an integer"},
		{"tasks type", "users:\n  - class: A\n    tasks: {a: 1}\n", "scenario.yaml:3: users[0].tasks: expected a list"},
		{"wait type", "users:\n  - class: A\n    wait_time: 3\n", "scenario.yaml:3: users[0].wait_time: expected one of"},
		{"wait arg type", "users:\n  - class: A\n    wait_time: {between: [1, x]}\n",
			"scenario.yaml:3: users[0].wait_time.between[1]: expected a number"},
		{"headers type", "users:\n  - class: A\n    tasks:\n      - request: {path: /, headers: [a]}\n",
			"scenario.yaml:4: users[0].tasks[0].request.headers: expected a mapping"},
		{"status type", "users:\n  - class: A\n    tasks:\n      - request: {path: /, expect_status: ok}\n",
			"scenario.yaml:4: users[0].tasks[0].request.expect_status: expected an integer"},
		{"negative timeout", "users:\n  - class: A\n    tasks:\n      - request: {path: /, timeout: -1}\n",
			"scenario.yaml:4: users[0].tasks[0].request.timeout: invalid duration -1"},
		{"json duplicate key", "users:\n  - class: A\n    tasks:\n      - request: {path: /, json: {a: 1, a: 2}}\n",
			`scenario.yaml:4: users[0].tasks[0].request.json: line 4: mapping key "a" already defined at line 4`},
		{"json self alias", "users:\n  - class: A\n    tasks:\n      - request: {path: /, json: &a [*a]}\n",
			"scenario.yaml:4: users[0].tasks[0].request.json: yaml: anchor 'a' value contains itself"},
		{"json NaN", "users:\n  - class: A\n    tasks:\n      - request: {path: /, json: .nan}\n",
			"scenario.yaml:4: users[0].tasks[0].request.json: cannot encode as JSON"},
		// The http block (top level and class) and the request's connection.
		{"http type", "http: 1\nusers: []\n", "scenario.yaml:1: http: expected a mapping"},
		{"http unknown key", "http:\n  tls_: {}\nusers: []\n",
			`scenario.yaml:2: http: unknown key "tls_" (want tls, proxy, no_proxy, trust_env, connection, resolve_interval, accept_encoding, content_size)`},
		{"tls unknown key", "http:\n  tls: {insecure: true, verify: false}\n",
			`scenario.yaml:2: http.tls: unknown key "verify" (want insecure, ca_file, cert_file, key_file, server_name, min_version, session_resumption)`},
		{"tls type", "http:\n  tls: insecure\n", "scenario.yaml:2: http.tls: expected a mapping"},
		{"insecure type", "http:\n  tls: {insecure: yes please}\n", "scenario.yaml:2: http.tls.insecure: expected true or false"},
		{"ca_file missing", "http:\n  tls:\n    ca_file: nope.pem\n", "scenario.yaml:3: http.tls.ca_file: open nope.pem: no such file or directory"},
		{"ca_file not PEM", "http:\n  tls:\n    ca_file: doc.go\n", "scenario.yaml:3: http.tls.ca_file: doc.go: no PEM certificate found"},
		{"ca_file device", "http:\n  tls:\n    ca_file: /dev/zero\n", "scenario.yaml:3: http.tls.ca_file: /dev/zero: not a regular file"},
		{"ca_file type", "http:\n  tls:\n    ca_file: [a]\n", "scenario.yaml:3: http.tls.ca_file: expected a string"},
		{"cert_file missing", "http:\n  tls:\n    cert_file: nope.pem\n",
			"scenario.yaml:3: http.tls.cert_file: cannot load the client certificate and key: open nope.pem: no such file or directory"},
		{"cert_file not PEM", "http:\n  tls:\n    cert_file: doc.go\n    key_file: doc.go\n",
			"scenario.yaml:3: http.tls.cert_file: cannot load the client certificate and key: tls: failed to find any PEM data in certificate input"},
		{"cert_file empty", "http:\n  tls:\n    cert_file: \"\"\n", "scenario.yaml:3: http.tls.cert_file: must not be empty"},
		{"key_file alone", "http:\n  tls:\n    key_file: k.pem\n", "scenario.yaml:3: http.tls.key_file: needs tls.cert_file"},
		{"key_file type", "http:\n  tls:\n    key_file: {a: 1}\n", "scenario.yaml:3: http.tls.key_file: expected a string"},
		{"server_name", "http:\n  tls: {server_name: \"a b\"}\n", `scenario.yaml:2: http.tls.server_name: invalid server name "a b"`},
		{"min_version", "http:\n  tls:\n    min_version: 1.4\n", `scenario.yaml:3: http.tls.min_version: unknown TLS version "1.4" (want 1.0, 1.1, 1.2 or 1.3)`},
		{"min_version type", "http:\n  tls:\n    min_version: [1.2]\n", `scenario.yaml:3: http.tls.min_version: unknown TLS version ""`},
		{"session_resumption type", "http:\n  tls: {session_resumption: 1}\n", "scenario.yaml:2: http.tls.session_resumption: expected true or false"},
		{"proxy scheme", "http:\n  proxy: socks5://p:1\n",
			`scenario.yaml:2: http.proxy: unsupported proxy scheme "socks5" in "socks5://p:1" (want http://host:port)`},
		{"proxy port", "http:\n  proxy: {https: \"p:x\"}\n", `scenario.yaml:2: http.proxy.https: invalid proxy URL "p:x"`},
		{"proxy scheme key", "http:\n  proxy: {ftp: p}\n", `scenario.yaml:2: http.proxy: unknown key "ftp" (want http, https)`},
		{"proxy type", "http:\n  proxy: [p]\n", "scenario.yaml:2: http.proxy: expected a string"},
		{"no_proxy comma in a list", "http:\n  no_proxy: [\"a,b\"]\n", `scenario.yaml:2: http.no_proxy: "a,b": one host per item`},
		{"no_proxy empty item", "http:\n  no_proxy: [a, \"\"]\n", "scenario.yaml:2: http.no_proxy[1]: must not be empty"},
		{"no_proxy type", "http:\n  no_proxy: {a: 1}\n", "scenario.yaml:2: http.no_proxy: expected a string"},
		{"trust_env type", "http:\n  trust_env: \"true\"\n", "scenario.yaml:2: http.trust_env: expected true or false"},
		{"connection", "http:\n  connection: closed\n", `scenario.yaml:2: http.connection: unknown value "closed" (want keep-alive or close)`},
		{"resolve_interval", "http:\n  resolve_interval: -1\n", "scenario.yaml:2: http.resolve_interval: invalid duration -1"},
		{"resolve_interval string", "http:\n  resolve_interval: often\n", `scenario.yaml:2: http.resolve_interval: invalid duration "often"`},
		{"accept_encoding empty", "http:\n  accept_encoding: \" \"\n", "scenario.yaml:2: http.accept_encoding: must not be empty (none sends no Accept-Encoding)"},
		{"accept_encoding line break", "http:\n  accept_encoding: \"gzip\\r\\nX: 1\"\n", `scenario.yaml:2: http.accept_encoding: a line break in "gzip\r\nX: 1"`},
		{"accept_encoding type", "http:\n  accept_encoding: [gzip, br]\n", "scenario.yaml:2: http.accept_encoding: expected a string"},
		{"content_size", "http:\n  content_size: compressed\n", `scenario.yaml:2: http.content_size: unknown value "compressed" (want decoded or received)`},
		{"content_size type", "http:\n  content_size: true\n", `scenario.yaml:2: http.content_size: unknown value "true" (want decoded or received)`},
		// A request's body_file, files, auth and timeout mapping.
		{"body_file missing", req("body_file: nope.bin"), "scenario.yaml:4: users[0].tasks[0].request.body_file: open nope.bin: no such file or directory"},
		{"body_file empty", req(`body_file: ""`), "scenario.yaml:4: users[0].tasks[0].request.body_file: must not be empty"},
		{"body_file type", req("body_file: [a]"), "scenario.yaml:4: users[0].tasks[0].request.body_file: expected a string"},
		{"body_file device", req("body_file: /dev/zero"), "scenario.yaml:4: users[0].tasks[0].request.body_file: /dev/zero: not a regular file"},
		{"body_file template", req(`body_file: "${x}.bin"`), "scenario.yaml:4: users[0].tasks[0].request.body_file: templates are not allowed in a file name"},
		{"body_file and body", req("body_file: doc.go, body: x"), "scenario.yaml:4: users[0].tasks[0].request: body, body_file, json and form are mutually exclusive"},
		{"files type", req("files: [doc.go]"), "scenario.yaml:4: users[0].tasks[0].request.files: expected a mapping of form field names to files"},
		{"files empty", req("files: {}"), "scenario.yaml:4: users[0].tasks[0].request.files: expected a mapping of form field names to files"},
		{"files missing", req("files: {f: nope.txt}"), "scenario.yaml:4: users[0].tasks[0].request.files.f: open nope.txt: no such file or directory"},
		{"files unknown key", req("files: {f: {file: doc.go, type: x}}"), `scenario.yaml:4: users[0].tasks[0].request.files.f: unknown key "type" (want file, filename, content_type)`},
		{"files no file", req("files: {f: {filename: a.txt}}"), "scenario.yaml:4: users[0].tasks[0].request.files.f.file: required"},
		{"files content_type", req(`files: {f: {file: doc.go, content_type: "a\nb"}}`), `scenario.yaml:4: users[0].tasks[0].request.files.f.content_type: invalid content type "a\nb"`},
		{"files filename template", req(`files: {f: {file: doc.go, filename: "${x}"}}`), "scenario.yaml:4: users[0].tasks[0].request.files.f.filename: templates are not allowed here"},
		{"files name template", req(`files: {"${x}": doc.go}`), "scenario.yaml:4: users[0].tasks[0].request.files.${x}: templates go in form values, not in names"},
		{"files empty name", req(`files: {"": doc.go}`), "scenario.yaml:4: users[0].tasks[0].request.files: a form field name must not be empty"},
		{"files and json", req("files: {f: doc.go}, json: {a: 1}"), "scenario.yaml:4: users[0].tasks[0].request.files: goes with form (the other fields of the multipart body), not with body, body_file or json"},
		{"auth type", req("auth: me"), "scenario.yaml:4: users[0].tasks[0].request.auth: expected a mapping"},
		{"auth no password", req("auth: {user: a}"), "scenario.yaml:4: users[0].tasks[0].request.auth: needs user and password"},
		{"auth unknown key", req("auth: {user: a, pass: b}"), `scenario.yaml:4: users[0].tasks[0].request.auth: unknown key "pass" (want user, password)`},
		{"auth user type", req("auth: {user: [a], password: b}"), "scenario.yaml:4: users[0].tasks[0].request.auth.user: expected a string"},
		{"auth latin-1", req("auth: {user: €uro, password: b}"), "scenario.yaml:4: users[0].tasks[0].request.auth: '€' is not a Latin-1 character"},
		{"auth and header", req("auth: {user: a, password: b}, headers: {authorization: Bearer x}"),
			"scenario.yaml:4: users[0].tasks[0].request.auth: the request also sets an Authorization header; use one or the other"},
		{"auth undefined", req(`auth: {user: "${nobody}", password: b}`), `scenario.yaml:4: users[0].tasks[0].request.auth.user: undefined variable "nobody"`},
		{"auth template syntax", req(`auth: {user: a, password: "${"}`), "scenario.yaml:4: users[0].tasks[0].request.auth.password: template: at byte 0"},
		{"timeout unknown key", req("timeout: {connect: 1, total: 2}"), `scenario.yaml:4: users[0].tasks[0].request.timeout: unknown key "total" (want connect, read)`},
		{"timeout zero", req("timeout: {connect: 0}"), "scenario.yaml:4: users[0].tasks[0].request.timeout.connect: must be more than 0 (leave connect out for no limit)"},
		{"timeout empty", req("timeout: {}"), "scenario.yaml:4: users[0].tasks[0].request.timeout: needs connect, read or both"},
		{"timeout read negative", req("timeout: {read: -1}"), "scenario.yaml:4: users[0].tasks[0].request.timeout.read: invalid duration -1"},
		{"timeout read string", req("timeout: {read: soon}"), `scenario.yaml:4: users[0].tasks[0].request.timeout.read: invalid duration "soon"`},
		// A request's response checks.
		{"expect_json type", req("expect_json: [a]"),
			"scenario.yaml:4: users[0].tasks[0].request.expect_json: expected a mapping of JSON paths to a value, {type: ...} or {exists: true|false}"},
		{"expect_json empty", req("expect_json: {}"), "scenario.yaml:4: users[0].tasks[0].request.expect_json: expected a mapping of JSON paths"},
		{"expect_json path", req(`expect_json: {"a[": 1}`), `scenario.yaml:4: users[0].tasks[0].request.expect_json.a[: json path "a[": "[" without "]" at byte 1`},
		{"expect_json path key type", req(`expect_json: {[a]: 1}`), "scenario.yaml:4: users[0].tasks[0].request.expect_json: expected a string"},
		{"expect_json template in path", req(`expect_json: {"${x}": 1}`), "scenario.yaml:4: users[0].tasks[0].request.expect_json.${x}: templates go in values, not in paths"},
		{"expect_json duplicate", req("expect_json: {a: 1, a: 2}"), `scenario.yaml:4: users[0].tasks[0].request.expect_json: duplicate key "a"`},
		{"expect_json list value", req("expect_json: {a: [1]}"),
			"scenario.yaml:4: users[0].tasks[0].request.expect_json.a: expected a string, number, boolean or null, {type: ...} or {exists: true|false}"},
		{"expect_json NaN", req("expect_json: {a: .nan}"), "scenario.yaml:4: users[0].tasks[0].request.expect_json.a: expected a finite number, got .nan"},
		{"expect_json type name", req("expect_json: {a: {type: str}}"),
			`scenario.yaml:4: users[0].tasks[0].request.expect_json.a.type: unknown type "str" (want string, number, integer, boolean, null, array, object)`},
		{"expect_json unknown kind", req("expect_json: {a: {typ: string}}"), `scenario.yaml:4: users[0].tasks[0].request.expect_json.a: unknown key "typ" (want type, exists)`},
		{"expect_json two kinds", req("expect_json: {a: {type: string, exists: true}}"), "scenario.yaml:4: users[0].tasks[0].request.expect_json.a: want exactly one of type, exists"},
		{"expect_json no kind", req("expect_json: {a: {}}"), "scenario.yaml:4: users[0].tasks[0].request.expect_json.a: want exactly one of type, exists"},
		{"expect_json exists type", req("expect_json: {a: {exists: maybe}}"), "scenario.yaml:4: users[0].tasks[0].request.expect_json.a.exists: expected true or false"},
		{"expect_json undefined", req(`expect_json: {a: "${nobody}"}`), `scenario.yaml:4: users[0].tasks[0].request.expect_json.a: undefined variable "nobody"`},
		{"expect_json template syntax", req(`expect_json: {a: "${"}`), "scenario.yaml:4: users[0].tasks[0].request.expect_json.a: template: at byte 0"},
		{"expect_json line", "users:\n  - class: A\n    tasks:\n      - request:\n          path: /\n          expect_json:\n            status: ok\n            \"a[\": 1\n",
			`scenario.yaml:8: users[0].tasks[0].request.expect_json.a[: json path "a["`},
		{"expect_json template line", "users:\n  - class: A\n    tasks:\n      - request:\n          path: /\n          expect_json:\n            status: ok\n            id: \"${nobody}\"\n",
			`scenario.yaml:8: users[0].tasks[0].request.expect_json.id: undefined variable "nobody"`},
		{"expect_header type", req("expect_header: [a]"),
			"scenario.yaml:4: users[0].tasks[0].request.expect_header: expected a mapping of header names to a value, {contains: ...} or {exists: true|false}"},
		{"expect_header empty", req("expect_header: {}"), "scenario.yaml:4: users[0].tasks[0].request.expect_header: expected a mapping of header names"},
		{"expect_header name", req(`expect_header: {"X Y": a}`), `scenario.yaml:4: users[0].tasks[0].request.expect_header.X Y: invalid header name "X Y"`},
		{"expect_header template in name", req(`expect_header: {"X-${a}": b}`), "scenario.yaml:4: users[0].tasks[0].request.expect_header.X-${a}: templates go in values, not in names"},
		{"expect_header duplicate", req("expect_header: {X-A: 1, x-a: 2}"),
			`scenario.yaml:4: users[0].tasks[0].request.expect_header: duplicate header "x-a" (names are matched without regard to case)`},
		{"expect_header null", req("expect_header: {X-A: ~}"), "scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A: expected a value, {contains: ...} or {exists: true|false}"},
		{"expect_header list", req("expect_header: {X-A: [a]}"), "scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A: expected a value, {contains: ...} or {exists: true|false}"},
		{"expect_header unknown kind", req("expect_header: {X-A: {equals: a}}"), `scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A: unknown key "equals" (want contains, exists)`},
		{"expect_header two kinds", req("expect_header: {X-A: {contains: a, exists: true}}"), "scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A: want exactly one of contains, exists"},
		{"expect_header contains empty", req(`expect_header: {X-A: {contains: ""}}`), "scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A.contains: must not be empty"},
		{"expect_header contains type", req(`expect_header: {X-A: {contains: [a]}}`), "scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A.contains: expected a string"},
		{"expect_header line break", req(`expect_header: {X-A: "a\nb"}`), `scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A: "a\nb" has a line break, which no header value has`},
		{"expect_header exists type", req("expect_header: {X-A: {exists: 1}}"), "scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A.exists: expected true or false"},
		{"expect_header undefined", req(`expect_header: {X-A: {contains: "${nobody}"}}`), `scenario.yaml:4: users[0].tasks[0].request.expect_header.X-A: undefined variable "nobody"`},
		{"expect_header line", "users:\n  - class: A\n    tasks:\n      - request:\n          path: /\n          expect_header:\n            X-A: a\n            X-B: {exists: no}\n",
			"scenario.yaml:8: users[0].tasks[0].request.expect_header.X-B.exists: expected true or false"},
		{"expect_max_ms zero", req("expect_max_ms: 0"), "scenario.yaml:4: users[0].tasks[0].request.expect_max_ms: expected milliseconds more than 0 and at most 1000000000, got 0"},
		{"expect_max_ms negative", req("expect_max_ms: -5"), "scenario.yaml:4: users[0].tasks[0].request.expect_max_ms: expected milliseconds more than 0 and at most 1000000000, got -5"},
		{"expect_max_ms huge", req("expect_max_ms: 1e12"), "scenario.yaml:4: users[0].tasks[0].request.expect_max_ms: expected milliseconds more than 0 and at most 1000000000, got 1e12"},
		{"expect_max_ms below 1 ns", req("expect_max_ms: 1e-9"), "scenario.yaml:4: users[0].tasks[0].request.expect_max_ms: expected milliseconds more than 0 and at most 1000000000, got 1e-9"},
		{"expect_max_ms string", req("expect_max_ms: fast"), "scenario.yaml:4: users[0].tasks[0].request.expect_max_ms: expected a number"},
		{"expect_max_ms line", "users:\n  - class: A\n    tasks:\n      - request:\n          path: /\n          expect_max_ms: \"500\"\n",
			"scenario.yaml:6: users[0].tasks[0].request.expect_max_ms: expected a number"},
		{"class http", "users:\n  - class: A\n    http: {tls: {insecure: 1}}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:3: users[0].http.tls.insecure: expected true or false"},
		{"request connection", "users:\n  - class: A\n    tasks:\n      - request: {path: /, connection: kept}\n",
			`scenario.yaml:4: users[0].tasks[0].request.connection: unknown value "kept" (want keep-alive or close)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("scenario.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := err.Error(); !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
				t.Errorf("error = %q, want one line containing %q", got, tc.want)
			}
		})
	}
}

func TestParseRequestRendering(t *testing.T) {
	t.Parallel()
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - request: {method: post, path: /x, json: {user: a, n: [1, 2]}, headers: {X-Trace: t1}}
      - request: {path: "/q?z=1", query: {b: "2", a: "x y"}, name: q}
`))
	if err != nil {
		t.Fatal(err)
	}
	// The rendered requests are checked on the wire in TestHTTPRequests.
	if got, want := sc.Classes[0].Tasks[0].Name, "/x"; got != want {
		t.Errorf("task name = %q, want %q", got, want)
	}
	if got, want := sc.Classes[0].Tasks[1].Name, "q"; got != want {
		t.Errorf("task name = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodYAML))
	f.Add([]byte("users:\n  - class: A\n    tasks: [{request: {path: /}}]\n"))
	f.Add([]byte("users:\n  - class: A\n    wait_time: {between: [1, 2]}\n    tasks: [{steps: [{request: {path: /}}], name: s}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("users:\n  - class: A\n  x: 1\n"))
	f.Add([]byte("users: *u\n"))
	f.Add([]byte("vars: {a: 1, b: x}\nusers:\n  - class: A\n    vars: {a: 2}\n    tasks:\n      - request: {path: \"/${a}/${uuid()}\", headers: {X: \"${b}\"}, extract: {t: {json: \"x[*].y\", pick: first}}}\n      - request: {method: POST, path: /j, json: {k: \"${t}\", n: [\"$${x}\"]}, name: \"n ${user.id}\"}\n"))
	f.Add([]byte("data: {d: {file: testdata/accounts.yaml, format: csv, mode: cycle}}\nusers:\n  - class: A\n    data: d\n    tasks: [{request: {path: \"/${row.x}\", extract: {r: {regex: \"(a)\", group: 1}, h: {header: X}, c: {cookie: c}, s: {status: true}}}}]\n"))
	f.Add([]byte("http:\n  tls: {insecure: true, min_version: 1.2}\n  proxy: {http: p:1}\n  no_proxy: [a]\nusers:\n  - class: A\n    http: {connection: close}\n    tasks: [{request: {path: /, connection: close}}]\n"))
	f.Add([]byte("vars: {u: x}\nhttp: {accept_encoding: none, content_size: received}\nusers:\n  - class: A\n    tasks:\n" +
		"      - request: {method: POST, path: /u, form: {t: \"${u}\"}, files: {a: doc.go, b: {file: doc.go, filename: b.go, content_type: text/x-go}}}\n" +
		"      - request: {method: PUT, path: /b, body_file: doc.go, auth: {user: \"${u}\", password: p}, timeout: {connect: 1, read: 2s}}\n" +
		"      - request: {path: /a, auth: {user: a, password: \"\"}, timeout: {read: 0.5}}\n"))
	f.Add([]byte(shapeUsers + "shape:\n  stages:\n    - {duration: 1, users: 1, spawn_rate: 1, classes: [A]}\n"))
	f.Add([]byte(shapeUsers + "shape: {step: {users: 1, every: 1, spawn_rate: 1, duration: 2}}\n"))
	f.Add([]byte(shapeUsers + "thresholds:\n  - p95 < 500\n  - {check: fail_ratio < 1%, name: x, abort_on_fail: true, grace: 5}\n"))
	f.Add([]byte("vars: {v: x}\nusers:\n  - class: A\n    tasks:\n      - request:\n          path: /\n          expect_json: {a: 1, $.b: \"${v}\", \"c[*].d\": {type: integer}, e: {exists: false}, f: null, g: 1.5e3, h: true}\n" +
		"          expect_header: {Content-Type: application/json, X-A: {contains: \"${v}\"}, X-B: {exists: false}}\n          expect_max_ms: 250.5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data)
		_, allErr := ParseAll("fuzz.yaml", data)
		if (err == nil) != (allErr == nil) {
			t.Fatalf("Parse: %v, ParseAll: %v", err, allErr)
		}
		if err == nil {
			if sc == nil || len(sc.Classes) == 0 {
				t.Fatalf("nil error but no classes")
			}
			return
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %q (%T) is not a *ParseError", err, err)
		}
		if pe.Line < 1 && pe.Msg != "empty scenario" {
			t.Fatalf("error %q names no line", err)
		}
		checkAllErrors(t, pe, allErr)
	})
}

func TestYAMLMessage(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"yaml: line 3: did not find expected key": "did not find expected key",
		"yaml: unknown anchor 'a' referenced":     "unknown anchor 'a' referenced",
		"yaml: line x: y":                         "line x: y",
		"something else: entirely":                "something else: entirely",
	} {
		if got := yamlMessage(in); got != want {
			t.Errorf("yamlMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
