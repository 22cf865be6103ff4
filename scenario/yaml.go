package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/glocust/glocust/shape"
	"github.com/glocust/glocust/threshold"
)

// Scenario is a parsed scenario file.
type Scenario struct {
	// Host is the default host (the file's top-level host).
	Host string
	// Classes are the user classes, in file order, validated.
	Classes []*Class
	// LatencyCorrection is the file's latency_correction (see
	// WithLatencyCorrection).
	LatencyCorrection bool
	// HTTP is the file's top-level http block; every class's HTTP starts
	// from it.
	HTTP HTTPConfig
	// MaxRequestNames is the file's max_request_names, the default of
	// --max-request-names (0: not set).
	MaxRequestNames int
	// Shape is the file's load shape (nil without one) and Thresholds its
	// pass/fail criteria: settings of the master, which workers ignore.
	Shape      *shape.Shape
	Thresholds []threshold.Threshold
	// ShapeErr, when not nil, is why this program's master cannot run the
	// file's shape, which is otherwise valid: the Go shape it names is not
	// registered here, or a stage names a user class unknown here. A
	// *ParseError; workers ignore it.
	ShapeErr error
	// Vars are the file's top-level vars, in file order: the variables
	// the command line (--var) and the master can set. Each class's Vars
	// holds them with its own over them.
	Vars []Var
	// Seed is the file's seed (nil: none): its classes' users draw their
	// random values from sources made from it (see WithSeed).
	Seed *uint64
}

// ParseError is an error at a position of a scenario file.
type ParseError struct {
	File string
	Line int    // 1-based; 0 for an empty scenario
	Col  int    // 1-based; 0 when unknown (syntax errors). Error leaves it out.
	Path string // e.g. "users[0].wait_time"
	Msg  string
}

func (e *ParseError) Error() string { return e.text(false) }

// Load reads and parses a scenario file.
func Load(path string, opts ...ParseOption) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data, opts...)
}

// Parse parses a scenario; name is used in error messages and to find the
// files it names (relative to its directory). Errors are *ParseError and
// name the line (except for an empty scenario).
func Parse(name string, data []byte, opts ...ParseOption) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(name, data, err)
	}
	p := &parser{file: name}
	for _, o := range opts {
		o(p)
	}
	if p.forMaster {
		env := p.env
		p.env = func(k string) (string, bool) {
			if env != nil {
				if v, ok := env(k); ok {
					return v, true
				}
			}
			return "", true // a master renders nothing
		}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, p.errf(nil, "", "empty scenario")
	}
	sc, err := p.scenario(doc.Content[0])
	if err != nil {
		return nil, p.first(err)
	}
	return sc, nil
}

// syntaxError reports an error of yaml.Unmarshal into a yaml.Node, which is
// always a syntax error (decoding into a Node converts nothing), as a
// *ParseError naming the line.
//
// go.yaml.in/yaml/v3 (v3.0.6) has no typed syntax error: the parser fails
// with a plain fmt error that carries its position only in its text, as
// "yaml: line N: ...". That N is not reliable: for parser errors it is a
// 0-based line, mostly that of the enclosing construct (so one or more lines
// above the problem), and it is left out altogether for errors on the first
// line, for reader errors (invalid UTF-8, control characters) and for unknown
// anchors. The library's error has no other field to read it from.
// So the line is found by parsing instead: it is the last line of the
// shortest run of whole lines from the start that fails with the same error
// (yamlLine). The text is used only to drop the library's prefix from the
// message (yamlMessage); if that prefix ever changes, the message keeps it and
// the line is still right.
func syntaxError(file string, data []byte, err error) error {
	return &ParseError{File: file, Line: yamlLine(data, err.Error()), Msg: yamlMessage(err.Error())}
}

// yamlLine returns the 1-based number of the first line l such that lines 1
// to l of data fail to parse with the error text msg, which data as a whole
// fails with. Parsing is sequential, so every run that holds the failing
// spot fails the same way and the search is a bisection: log2(lines) parses,
// only on the error path. A shorter run may happen to fail the same way too
// (an unclosed bracket fails alike wherever the text is cut); the line found
// is then one where the same error already shows, never a later one.
func yamlLine(data []byte, msg string) int {
	var ends []int // ends[i] is the length of lines 1 to i+1
	for i, c := range data {
		// Line breaks as the library counts them for Node.Line: LF, CRLF, CR.
		if c == '\n' || c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] < len(data) {
		ends = append(ends, len(data))
	}
	// The last run is data itself, which fails with msg, so the result is
	// at most len(ends)-1 and the line at most the number of lines.
	return 1 + sort.Search(len(ends), func(i int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(data[:ends[i]], &n)
		return err != nil && err.Error() == msg
	})
}

// yamlMessage drops the library's "yaml: " and "line N: " prefixes.
func yamlMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, m, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(num); err == nil {
				return m
			}
		}
	}
	return msg
}

type parser struct {
	file      string
	baseHTTP  HTTPConfig // the top-level http block, which classes start from
	env       func(string) (string, bool)
	forMaster bool                // ForMaster
	reserved  map[string]bool     // ReservedVars
	data      map[string]*DataSet // the top-level data
	topVars   []Var               // the top-level vars
	cls       *classVars          // the class being parsed (yaml_vars.go)
	bodyFiles map[string][]byte   // the files requests send, read once (yaml_body.go)
	stp       *classSteps         // the class's steps and refresh (yaml_steps.go)
	errs      errList             // the errors found (yaml_errs.go)

	groupTasks int // tasks parsed in task groups (yaml_groups.go)
}

func (p *parser) errf(n *yaml.Node, path, format string, args ...any) error {
	e := &ParseError{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

func resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < 100; depth++ {
		n = n.Alias
	}
	return n
}

// fields walks a mapping node, calling fn for each key (all must be known).
// An error of a key is recorded (p.note) and the walk goes on with the
// next key; it returns the first error.
func (p *parser) fields(n *yaml.Node, path string, known []string, fn func(key string, v *yaml.Node, path string) error) error {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return p.errf(n, path, "expected a mapping")
	}
	var first error
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		var err error
		switch {
		case k == nil || k.Kind != yaml.ScalarNode:
			err = p.errf(k, path, "keys must be strings")
		case !slices.Contains(known, k.Value):
			err = p.errf(k, path, "unknown key %q (want %s)", k.Value, strings.Join(known, ", "))
		case seen[k.Value]:
			err = p.errf(k, path, "duplicate key %q", k.Value)
		default:
			seen[k.Value] = true
			err = fn(k.Value, v, join(path, k.Value))
		}
		first = p.note(first, err)
	}
	return first
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) str(n *yaml.Node, path string) (string, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, path, "expected a string")
	}
	return n.Value, nil
}

func (p *parser) integer(n *yaml.Node, path string, lo, hi int) (int, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, p.errf(n, path, "expected an integer")
	}
	var v int
	if err := n.Decode(&v); err != nil || v < lo || v > hi {
		return 0, p.errf(n, path, "expected an integer in [%d, %d], got %s", lo, hi, n.Value)
	}
	return v, nil
}

func (p *parser) number(n *yaml.Node, path string) (float64, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, p.errf(n, path, "expected a number")
	}
	var v float64
	if err := n.Decode(&v); err != nil {
		return 0, p.errf(n, path, "expected a number, got %s", n.Value)
	}
	return v, nil
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, error) {
	n = resolve(n)
	var v bool
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		return false, p.errf(n, path, "expected true or false")
	}
	return v, nil
}

func (p *parser) seq(n *yaml.Node, path string) ([]*yaml.Node, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, path, "expected a list")
	}
	return n.Content, nil
}

// strList reads a list of non-empty strings.
func (p *parser) strList(n *yaml.Node, path string) ([]string, error) {
	items, err := p.seq(n, path)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := p.str(it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, p.errf(it, fmt.Sprintf("%s[%d]", path, i), "must not be empty")
		}
		out = append(out, s)
	}
	return out, nil
}

// strMap reads a mapping of string keys to scalar values.
func (p *parser) strMap(n *yaml.Node, path string) ([][2]string, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, p.errf(n, path, "expected a mapping")
	}
	var out [][2]string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := p.str(n.Content[i], path)
		if err != nil {
			return nil, err
		}
		v, err := p.str(n.Content[i+1], path+"."+k)
		if err != nil {
			return nil, err
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func (p *parser) scenario(root *yaml.Node) (*Scenario, error) {
	sc := &Scenario{}
	var usersNode *yaml.Node
	var shapeSpec *shapeSpec
	baseErr := false
	err := p.fields(root, "", []string{"host", "latency_correction", "http", "max_request_names", "vars", "data", "users", "shape", "thresholds", "seed"}, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "host":
			sc.Host, err = p.host(v, path)
		case "latency_correction":
			sc.LatencyCorrection, err = p.boolean(v, path)
		case "http":
			err = p.http(v, path, &sc.HTTP)
		case "max_request_names":
			sc.MaxRequestNames, err = p.integer(v, path, 1, math.MaxInt32)
		case "vars":
			sc.Vars, err = p.varsBlock(v, path)
			p.topVars = sc.Vars
		case "data":
			err = p.dataBlock(v, path)
		case "users":
			usersNode = v
		case "shape":
			shapeSpec, err = p.shapeSpec(v, path)
		case "thresholds":
			sc.Thresholds, err = p.thresholds(v, path)
		case "seed":
			sc.Seed, err = p.seed(v, path)
		}
		baseErr = baseErr || err != nil && (key == "http" || key == "vars" || key == "data")
		return err
	})
	if baseErr { // the classes build on these: not parsed
		return nil, err
	}
	topErr := err
	p.baseHTTP = sc.HTTP
	if usersNode == nil {
		return nil, p.errf(root, "users", "at least one user class is required")
	}
	items, err := p.seq(usersNode, "users")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, p.errf(usersNode, "users", "at least one user class is required")
	}
	names := map[string]bool{}
	var first error // the classes' errors: each class is parsed
	for i, it := range items {
		path := fmt.Sprintf("users[%d]", i)
		c, err := p.class(it, path)
		if err == nil && names[c.Name] {
			err = p.errf(it, path+".class", "duplicate class name %q", c.Name)
		}
		if first = p.note(first, err); err != nil {
			continue
		}
		names[c.Name] = true
		c.seed = sc.Seed
		sc.Classes = append(sc.Classes, c)
	}
	if first = p.note(topErr, first); first != nil {
		return nil, first
	}
	if shapeSpec != nil {
		if sc.Shape, sc.ShapeErr, err = p.buildShape(shapeSpec, "shape", sc.Classes); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

func (p *parser) host(n *yaml.Node, path string) (string, error) {
	h, err := p.str(n, path)
	if err != nil {
		return "", err
	}
	if h != "" {
		if _, err := resolveURL(h, "/"); err != nil || !isAbsoluteURL(h) {
			return "", p.errf(n, path, "invalid host %q (want http://host[:port] or https://...)", h)
		}
	}
	return h, nil
}

func (p *parser) class(n *yaml.Node, path string) (*Class, error) {
	c := &Class{Weight: 1, HTTP: p.baseHTTP}
	var tasksNode *yaml.Node
	var vars []Var
	p.beginClass()
	known := []string{"class", "weight", "fixed_count", "host", "http", "vars", "data", "wait_time", "on_start", "on_stop", "sequential", "tasks", "refresh"}
	err := p.fields(n, path, known, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "class":
			if c.Name, err = p.str(v, path); err == nil && !IsIdentifier(c.Name) {
				err = p.errf(v, path, "%q is not a valid Python class name", c.Name)
			}
		case "weight":
			c.Weight, err = p.integer(v, path, 0, 1<<20)
		case "fixed_count":
			c.FixedCount, err = p.integer(v, path, 0, 1<<30)
		case "host":
			c.Host, err = p.host(v, path)
		case "http":
			err = p.http(v, path, &c.HTTP)
		case "vars":
			vars, err = p.varsBlock(v, path)
		case "data":
			p.cls.data, err = p.classData(v, path, c.Name)
			p.cls.named = true
			if p.forMaster {
				p.cls.data = nil
			}
		case "wait_time":
			c.WaitTime, err = p.waitTime(v, path)
		case "on_start":
			c.OnStart, err = p.stepsFn(v, path)
		case "on_stop":
			c.OnStop, err = p.stepsFn(v, path)
		case "sequential":
			c.Sequential, err = p.boolean(v, path)
		case "tasks":
			tasksNode = v
		case "refresh":
			err = p.refresh(v, path, c)
		}
		return err
	})
	first := err // the tasks are parsed after errors of the class's keys all the same
	if first != nil && tasksNode == nil {
		return nil, first
	}
	if c.Name == "" && !p.reported(path+".class") {
		return nil, p.errf(n, path+".class", "required")
	}
	if tasksNode == nil {
		return nil, p.errf(n, path+".tasks", "at least one task is required")
	}
	items, err := p.seq(tasksNode, path+".tasks")
	if err != nil {
		return nil, p.note(first, err)
	}
	for i, it := range items {
		t, err := p.taskItem(it, fmt.Sprintf("%s.tasks[%d]", path, i), 0)
		if first = p.note(first, err); err == nil && t.Weight > 0 {
			c.Tasks = append(c.Tasks, t)
		}
	}
	if first != nil {
		return nil, first
	}
	if len(c.Tasks) == 0 {
		return nil, p.errf(tasksNode, path+".tasks", "at least one task with a weight > 0 is required")
	}
	if err := p.endClass(c, vars); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, p.errf(n, path, "%v", err)
	}
	return c, nil
}

var waitKinds = []string{"between", "constant", "constant_pacing", "constant_throughput"}

func (p *parser) waitTime(n *yaml.Node, path string) (WaitTime, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return nil, p.errf(n, path, "expected one of {between: [min, max]}, {constant: s}, {constant_pacing: s}, {constant_throughput: n}")
	}
	k, v := resolve(n.Content[0]), n.Content[1]
	if k == nil || !slices.Contains(waitKinds, k.Value) {
		kv := ""
		if k != nil {
			kv = k.Value
		}
		return nil, p.errf(k, path, "unknown kind %q (want %s)", kv, strings.Join(waitKinds, ", "))
	}
	var args []float64
	if rv := resolve(v); rv != nil && rv.Kind == yaml.SequenceNode {
		for i, x := range rv.Content {
			f, err := p.number(x, fmt.Sprintf("%s.%s[%d]", path, k.Value, i))
			if err != nil {
				return nil, err
			}
			args = append(args, f)
		}
	} else {
		f, err := p.number(v, path+"."+k.Value)
		if err != nil {
			return nil, err
		}
		args = []float64{f}
	}
	w, err := makeWaitTime(k.Value, args)
	if err != nil {
		return nil, p.errf(v, path, "%v", err)
	}
	return w, nil
}

func (p *parser) task(n *yaml.Node, path string) (Task, error) {
	t := Task{Weight: 1}
	var req *Request
	var steps []*step
	var reqNode *yaml.Node
	err := p.fields(n, path, []string{"name", "weight", "tags", "request", "steps"}, func(key string, v *yaml.Node, path string) (err error) {
		if ok, err := p.taskHeader(&t, key, v, path); ok {
			return err
		}
		switch key {
		case "request":
			reqNode = v
			req, err = p.request(v, path)
		case "steps":
			steps, err = p.steps(v, path)
		}
		return err
	})
	if err != nil {
		return t, err
	}
	switch {
	case req != nil && steps != nil:
		return t, p.errf(reqNode, path, "a task has either a request or steps, not both")
	case req != nil:
		if t.Name == "" {
			t.Name = req.statsName()
		}
		t.Fn, err = p.requestTask(req)
	case steps != nil:
		if t.Name == "" {
			return t, p.errf(n, path+".name", "required for a task with steps")
		}
		t.Fn, err = p.stepsTask(steps)
	default:
		return t, p.errf(n, path, "a task needs a request or steps")
	}
	return t, err
}

var requestKeys = []string{"method", "path", "name", "headers", "query", "body", "body_file", "json", "form", "files",
	"auth", "timeout", "expect_status", "expect_body_contains", "expect_json", "expect_header", "expect_max_ms",
	"allow_redirects", "connection", "extract", "fail_if"}

func (p *parser) request(n *yaml.Node, path string) (*Request, error) {
	r := &Request{}
	var rs requestStrings
	var failIf []*failCheck
	bodies := 0
	err := p.fields(n, path, requestKeys, func(key string, v *yaml.Node, path string) (err error) {
		rs.field(key, v)
		switch key {
		case "method":
			r.Method, err = p.str(v, path)
			if err == nil && (r.Method == "" || strings.ContainsAny(r.Method, " \t\r\n/:")) {
				err = p.errf(v, path, "invalid method %q", r.Method)
			}
			r.Method = strings.ToUpper(r.Method)
		case "path":
			r.URL, err = p.str(v, path)
		case "name":
			r.Name, err = p.str(v, path)
		case "headers":
			rs.headers, err = p.strMap(v, path)
		case "query":
			rs.query, err = p.strMap(v, path)
		case "form":
			rs.form, err = p.strMap(v, path)
			bodies++
		case "body":
			rs.body, err = p.str(v, path)
			bodies++
		case "body_file":
			rs.bodyFile, _, err = p.readBodyFile(v, path)
			bodies++
		case "files":
			rs.files, err = p.files(v, path)
		case "auth":
			rs.auth, err = p.auth(v, path)
		case "json":
			rs.json, err = p.jsonValue(v, path)
			bodies++
			rs.isJSON = true
		case "timeout":
			err = p.requestTimeout(v, path, r)
		case "expect_status":
			r.ExpectStatus, err = p.statuses(v, path)
		case "expect_body_contains":
			r.ExpectBodyContains, err = p.str(v, path)
		case "expect_json":
			r.ExpectJSON, err = p.expectJSON(v, path, &rs)
		case "expect_header":
			r.ExpectHeader, err = p.expectHeader(v, path, &rs)
		case "expect_max_ms":
			r.ExpectMaxTime, err = p.expectMaxMS(v, path)
		case "allow_redirects":
			var b bool
			b, err = p.boolean(v, path)
			r.NoRedirects = !b
		case "connection":
			r.Close, err = p.connection(v, path)
		case "fail_if":
			failIf, err = p.failIf(v, path)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.URL == "" {
		return nil, p.errf(n, path+".path", "required")
	}
	if bodies > 1 {
		return nil, p.errf(n, path, "body, body_file, json and form are mutually exclusive")
	}
	if _, form := rs.nodes["form"]; rs.files != nil && bodies == 1 && !form {
		return nil, p.errf(rs.nodes["files"], path+".files", "goes with form (the other fields of the multipart body), not with body, body_file or json")
	}
	t, err := p.compileRequest(r, &rs, path)
	if err != nil {
		return nil, err
	}
	t = attachFailIf(r, t, failIf)
	if err := p.finishRequest(n, path, r, &rs); err != nil {
		return nil, err
	}
	if t != nil {
		t.finish(r)
	}
	if _, err := prepare(r, "http://127.0.0.1", checkProfile); err != nil && !errors.Is(err, errNoHost) {
		return nil, p.errf(n, path, "%v", err)
	}
	return r, nil
}

func (p *parser) finishRequest(n *yaml.Node, path string, r *Request, rs *requestStrings) error {
	headers, query, form := rs.headers, rs.query, rs.form
	if len(headers) > 0 {
		r.Header = make(http.Header, len(headers))
		for _, kv := range headers {
			if kv[0] == "" || strings.ContainsAny(kv[0], " :\r\n") || strings.ContainsAny(kv[1], "\r\n") {
				return p.errf(n, path+".headers", "invalid header %q", kv[0])
			}
			r.Header[kv[0]] = append(r.Header[kv[0]], kv[1])
		}
	}
	if len(query) > 0 {
		q := make(url.Values, len(query))
		for _, kv := range query {
			q.Add(kv[0], kv[1])
		}
		sep := "?"
		if strings.Contains(r.URL, "?") {
			sep = "&"
		}
		r.URL += sep + q.Encode()
	}
	switch {
	case rs.files != nil:
		body, ctype := MultipartBody(form, rs.files)
		r.Body = body
		setDefaultHeader(r, "Content-Type", ctype)
	case form != nil:
		f := make(url.Values, len(form))
		for _, kv := range form {
			f.Add(kv[0], kv[1])
		}
		r.Body = []byte(f.Encode())
		setDefaultHeader(r, "Content-Type", "application/x-www-form-urlencoded")
	}
	if rs.isJSON {
		setDefaultHeader(r, "Content-Type", "application/json")
	}
	return nil
}

func setDefaultHeader(r *Request, k, v string) {
	if r.Header.Get(k) != "" {
		return
	}
	for hk := range r.Header {
		if strings.EqualFold(hk, k) {
			return
		}
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header[k] = []string{v}
}

// jsonValue decodes a json body.
func (p *parser) jsonValue(n *yaml.Node, path string) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		// A *yaml.TypeError (a duplicate key) lists its errors on separate
		// lines, each starting with its own "line N: "; keep the message on
		// one line.
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, p.errf(n, path, "%s", strings.Join(te.Errors, "; "))
		}
		return nil, p.errf(n, path, "%v", err)
	}
	if _, err := encodeJSON(v); err != nil {
		return nil, p.errf(n, path, "cannot encode as JSON: %v", err)
	}
	return v, nil
}

// encodeJSON encodes a json body, compact and without escaping HTML.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// duration reads seconds (a number) or a Go duration string ("1.5s").
func (p *parser) duration(n *yaml.Node, path string) (time.Duration, error) {
	rn := resolve(n)
	if rn != nil && rn.Kind == yaml.ScalarNode && rn.Tag == "!!str" {
		d, err := time.ParseDuration(rn.Value)
		if err != nil || d < 0 {
			return 0, p.errf(n, path, "invalid duration %q (want seconds or e.g. \"1.5s\")", rn.Value)
		}
		return d, nil
	}
	f, err := p.number(n, path)
	if err != nil {
		return 0, err
	}
	if !(f >= 0) || f > maxWaitSeconds {
		return 0, p.errf(n, path, "invalid duration %v", f)
	}
	return seconds(f), nil
}

func (p *parser) statuses(n *yaml.Node, path string) ([]int, error) {
	rn := resolve(n)
	if rn != nil && rn.Kind == yaml.ScalarNode {
		c, err := p.integer(rn, path, 100, 599)
		return []int{c}, err
	}
	items, err := p.seq(n, path)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, p.errf(n, path, "at least one status code is required")
	}
	out := make([]int, 0, len(items))
	for i, it := range items {
		c, err := p.integer(it, fmt.Sprintf("%s[%d]", path, i), 100, 599)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// checkProfile is the profile requests are rendered with to check them
// while parsing.
var checkProfile = newProfile(HTTPConfig{}, nil)
