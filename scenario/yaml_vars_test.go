package scenario

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// varsDir is a directory with the data files the tests' scenarios name.
func varsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeText(t, dir, "accounts.csv", "user,password\nann,pa\nbob,pb\n")
	writeText(t, dir, "items.jsonl", "{\"sku\": \"a-1\"}\n")
	return dir
}

func TestParseVarsAndData(t *testing.T) {
	t.Parallel()
	dir := varsDir(t)
	sc, err := Parse(filepath.Join(dir, "scenario.yaml"), []byte(`vars: {page_size: 10, env_name: staging, debug: true}
data:
  accounts: {file: accounts.csv, mode: unique}
users:
  - class: Shopper
    vars: {page_size: 20}
    data: accounts
    on_start: [{request: {method: POST, path: /login, json: {u: "${row.user}", p: "${password}"}, extract: {token: {json: token}}}}]
    tasks:
      - request: {path: "/items?n=${page_size}&e=${env_name}", headers: {Authorization: "Bearer ${token}"}}
  - class: Browser
    data: {file: items.jsonl, mode: random}
    tasks:
      - request: {path: "/items/${row.sku}/${sku}"}
`), WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	wantVars := []Var{{"page_size", "10", 1}, {"env_name", "staging", 1}, {"debug", "true", 1}}
	if !slices.Equal(sc.Vars, wantVars) {
		t.Errorf("Vars = %+v, want %+v", sc.Vars, wantVars)
	}
	shop, browse := sc.Classes[0], sc.Classes[1]
	if shop.Vars["page_size"] != "20" || shop.Vars["env_name"] != "staging" || browse.Vars["page_size"] != "10" {
		t.Errorf("class vars: %v, %v", shop.Vars, browse.Vars)
	}
	if shop.Data == nil || shop.Data.Name != "accounts" || shop.Data.Mode != DataUnique || shop.Data.Len() != 2 {
		t.Errorf("Shopper's data = %+v", shop.Data)
	}
	if browse.Data == nil || browse.Data.Name != "Browser" || browse.Data.Mode != DataRandom {
		t.Errorf("Browser's data = %+v", browse.Data)
	}
	// A master reads no data file: one that does not exist is fine.
	sc, err = Parse(filepath.Join(t.TempDir(), "scenario.yaml"), []byte(`data:
  accounts: {file: missing.csv}
users:
  - class: A
    data: accounts
    tasks: [{request: {path: "/${row.user}/${user}/${env.NOPE}"}}]
`), ForMaster())
	if err != nil {
		t.Fatalf("for a master: %v", err)
	}
	if sc.Classes[0].Data != nil {
		t.Error("a master's class has data")
	}
}

func TestParseVarsErrors(t *testing.T) {
	t.Parallel()
	dir := varsDir(t)
	const cls = "users:\n  - class: A\n"
	tests := []struct{ name, yaml, want string }{
		{"vars type", "vars: [a]\n", "scenario.yaml:1: vars: expected a mapping of names to values"},
		{"vars name", "vars: {a-b: 1}\n", `scenario.yaml:1: vars.a-b: "a-b" is not a variable name`},
		{"vars reserved", "vars: {row: 1}\n", `scenario.yaml:1: vars.row: "row" is reserved for ${row.…}`},
		{"vars value", "vars:\n  a: [1]\n", "scenario.yaml:2: vars.a: expected a string, number or boolean"},
		{"vars null", "vars:\n  a:\n", "scenario.yaml:2: vars.a: expected a string, number or boolean"},
		{"vars dup", "vars: {a: 1, a: 2}\n", `scenario.yaml:1: vars: duplicate key "a"`},
		{"class vars", cls + "    vars: {1a: x}\n", `scenario.yaml:3: users[0].vars.1a: "1a" is not a variable name`},
		{"data type", "data: [a]\n", "scenario.yaml:1: data: expected a mapping of names to {file, format, mode}"},
		{"data name", "data:\n  a-b: {file: accounts.csv}\n", `scenario.yaml:2: data.a-b: "a-b" is not a data set name`},
		{"data key", "data:\n  a: {file: accounts.csv, moed: cycle}\n", `scenario.yaml:2: data.a: unknown key "moed" (want file, format, mode)`},
		{"data no file", "data:\n  a: {mode: cycle}\n", "scenario.yaml:2: data.a.file: required"},
		{"data empty file", "data:\n  a: {file: \"\"}\n", "scenario.yaml:2: data.a.file: must not be empty"},
		{"data missing file", "data:\n  a:\n    file: nope.csv\n", "scenario.yaml:3: data.a.file: open " + dir + "/nope.csv: no such file or directory"},
		{"data bad file", "data:\n  a:\n    file: items.jsonl\n    format: csv\n", "scenario.yaml:3: data.a.file: " + dir + "/items.jsonl:1: bare \" in non-quoted-field"},
		{"data mode", "data:\n  a: {file: accounts.csv, mode: once}\n", `scenario.yaml:2: data.a.mode: unknown mode "once" (want unique, cycle, random)`},
		{"data format", "data:\n  a: {file: accounts.csv, format: xml}\n", `scenario.yaml:2: data.a.format: unknown format "xml" (want csv or jsonl)`},
		{"class data unknown", cls + "    data: acc\n", `scenario.yaml:3: users[0].data: unknown data set "acc" (the top-level data has none)`},
		{"class data type", cls + "    data: [a]\n", "scenario.yaml:3: users[0].data: expected a string"},
		{"class data inline", cls + "    data: {file: x.csv}\n", "scenario.yaml:3: users[0].data.file: open " + dir + "/x.csv"},
		// extract
		{"extract type", cls + "    tasks:\n      - request: {path: /, extract: [a]}\n",
			"scenario.yaml:4: users[0].tasks[0].request.extract: expected a mapping of variable names to {json|regex|header|cookie|status: ...}"},
		{"extract name", cls + "    tasks:\n      - request: {path: /, extract: {a.b: {status: true}}}\n",
			`scenario.yaml:4: users[0].tasks[0].request.extract.a.b: "a.b" is not a variable name`},
		{"extract reserved", cls + "    tasks:\n      - request: {path: /, extract: {user: {status: true}}}\n",
			`scenario.yaml:4: users[0].tasks[0].request.extract.user: "user" is reserved`},
		{"extract key", cls + "    tasks:\n      - request: {path: /, extract: {a: {jsn: x}}}\n",
			`scenario.yaml:4: users[0].tasks[0].request.extract.a: unknown key "jsn" (want json, pick, regex, group, header, cookie, status)`},
		{"extract none", cls + "    tasks:\n      - request: {path: /, extract: {a: {pick: first}}}\n",
			"scenario.yaml:4: users[0].tasks[0].request.extract.a: want exactly one of json, regex, header, cookie, status"},
		{"extract two", cls + "    tasks:\n      - request: {path: /, extract: {a: {json: x, header: y}}}\n",
			"users[0].tasks[0].request.extract.a: want exactly one of json, regex, header, cookie, status"},
		{"extract json path", cls + "    tasks:\n      - request:\n          path: /\n          extract:\n            a: {json: \"x[\"}\n",
			`scenario.yaml:7: users[0].tasks[0].request.extract.a.json: json path "x[": "[" without "]" at byte 1`},
		{"extract pick", cls + "    tasks:\n      - request: {path: /, extract: {a: {json: \"x[*]\", pick: any}}}\n",
			`scenario.yaml:4: users[0].tasks[0].request.extract.a.pick: unknown pick "any" (want random, first, last)`},
		{"extract pick without wildcard", cls + "    tasks:\n      - request: {path: /, extract: {a: {json: x, pick: first}}}\n",
			"scenario.yaml:4: users[0].tasks[0].request.extract.a.pick: only for a json path with [*]"},
		{"extract regex", cls + "    tasks:\n      - request: {path: /, extract: {a: {regex: \"(\"}}}\n",
			"scenario.yaml:4: users[0].tasks[0].request.extract.a.regex: error parsing regexp: missing closing )"},
		{"extract group", cls + "    tasks:\n      - request: {path: /, extract: {a: {regex: \"(a)\", group: 2}}}\n",
			"scenario.yaml:4: users[0].tasks[0].request.extract.a.group: the regex has 1 groups, not 2"},
		{"extract group alone", cls + "    tasks:\n      - request: {path: /, extract: {a: {json: x, group: 1}}}\n",
			"scenario.yaml:4: users[0].tasks[0].request.extract.a.group: only for regex"},
		{"extract header", cls + "    tasks:\n      - request: {path: /, extract: {a: {header: \"X: y\"}}}\n",
			`scenario.yaml:4: users[0].tasks[0].request.extract.a.header: invalid header name "X: y"`},
		{"extract cookie", cls + "    tasks:\n      - request: {path: /, extract: {a: {cookie: \"\"}}}\n",
			`scenario.yaml:4: users[0].tasks[0].request.extract.a.cookie: invalid cookie name ""`},
		{"extract status", cls + "    tasks:\n      - request: {path: /, extract: {a: {status: false}}}\n",
			"scenario.yaml:4: users[0].tasks[0].request.extract.a.status: must be true"},
		// templates
		{"template syntax", cls + "    tasks:\n      - request:\n          path: /${a\n",
			`scenario.yaml:5: users[0].tasks[0].request.path: template: at byte 1: "${" without a closing "}"`},
		{"template undefined", cls + "    tasks:\n      - request:\n          path: /\n          headers: {X: \"${tok}\"}\n",
			`scenario.yaml:6: users[0].tasks[0].request.headers.X: undefined variable "tok" in ${tok} (not in vars, not extracted by a request of this class)`},
		{"template other class", "users:\n  - class: A\n    tasks: [{request: {path: /, extract: {t: {status: true}}}}]\n  - class: B\n    tasks: [{request: {path: \"/${t}\"}}]\n",
			`scenario.yaml:5: users[1].tasks[0].request.path: undefined variable "t"`},
		{"template no data", cls + "    tasks: [{request: {path: \"/${row.a}\"}}]\n",
			"scenario.yaml:3: users[0].tasks[0].request.path: ${row.a}: the class has no data (set data: on the class)"},
		{"template column", "data: {acc: {file: accounts.csv}}\n" + cls + "    data: acc\n    tasks: [{request: {path: \"/${row.mail}\"}}]\n",
			`scenario.yaml:5: users[0].tasks[0].request.path: ${row.mail}: data acc has no column "mail" (it has user, password)`},
		{"template env", cls + "    tasks: [{request: {path: \"/${env.NOPE_X}\"}}]\n",
			"scenario.yaml:3: users[0].tasks[0].request.path: template: at byte 7: environment variable NOPE_X is not set"},
		{"template in header name", cls + "    tasks: [{request: {path: /, headers: {\"X-${a}\": b}}}]\n",
			"scenario.yaml:3: users[0].tasks[0].request.headers.X-${a}: templates go in values, not in names"},
		{"template in query key", cls + "    tasks: [{request: {path: /, query: {\"${a}\": b}}}]\n",
			"scenario.yaml:3: users[0].tasks[0].request.query.${a}: templates go in values, not in names"},
		{"template in json key", cls + "    tasks: [{request: {path: /, json: {\"${a}\": b}}}]\n",
			`scenario.yaml:3: users[0].tasks[0].request.json: templates go in values, not in names (key "${a}")`},
		{"template in json", cls + "    tasks:\n      - request:\n          path: /\n          json: {a: [\"${x y}\"]}\n",
			`scenario.yaml:6: users[0].tasks[0].request.json: template: at byte 3: unexpected ' '`},
		{"template in host", cls + "    tasks: [{request: {path: \"http://${h}/x\"}}]\n",
			"scenario.yaml:3: users[0].tasks[0].request.path: templates go in the path and query, not in the scheme or host"},
		{"template at path start", cls + "    tasks: [{request: {path: \"${next}\"}}]\n",
			`scenario.yaml:3: users[0].tasks[0].request.path: a path starts with "/"`},
		{"template in name", cls + "    tasks: [{request: {path: /, name: \"${nope}\"}}]\n",
			`scenario.yaml:3: users[0].tasks[0].request.name: undefined variable "nope"`},
		{"template in expect", cls + "    tasks: [{request: {path: /, expect_body_contains: \"${uuid(1)}\"}}]\n",
			"scenario.yaml:3: users[0].tasks[0].request.expect_body_contains: template: at byte 2: uuid takes 0 argument(s), got 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			y := tc.yaml
			if !strings.Contains(y, "users:") {
				y += "users:\n  - class: Z\n    tasks: [{request: {path: /}}]\n"
			} else if !strings.Contains(y, "tasks") {
				y += "    tasks: [{request: {path: /}}]\n"
			}
			_, err := Parse(filepath.Join(dir, "scenario.yaml"), []byte(y), WithEnv([]string{"HOME=/h"}))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := err.Error(); !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
				t.Errorf("error = %q, want one line containing %q", got, tc.want)
			}
		})
	}
}

func TestParseTemplateEscapesOnly(t *testing.T) {
	t.Parallel()
	sc, err := Parse("s.yaml", []byte("users:\n  - class: A\n    tasks: [{request: {path: \"/a$${b}\", name: \"n$${x}\"}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	// A string with escapes but no expression is plain text, without a template.
	tk := sc.Classes[0].Tasks[0]
	if tk.Name != "n${x}" {
		t.Errorf("name = %q, want n${x}", tk.Name)
	}
}
