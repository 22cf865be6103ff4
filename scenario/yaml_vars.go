package scenario

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The scenario's variables, test data, extractions and templates: the
// keys vars and data (top level and class) and a request's extract, and
// "${...}" in a request's strings.

// ParseOption changes how a scenario is parsed.
type ParseOption func(*parser)

// WithEnv gives the parser the environment ("KEY=value") that ${env.NAME}
// reads. Without it no variable is set, and ${env.NAME} is an error.
func WithEnv(env []string) ParseOption {
	return func(p *parser) {
		m := make(map[string]string, len(env))
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[k] = v
			}
		}
		p.env = func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
}

// ReservedVars forbids variables named as the given names (the keys of
// Locust's parsed_options: a master's value for such an option would be
// taken for the variable).
func ReservedVars(names ...string) ParseOption {
	return func(p *parser) {
		if p.reserved == nil {
			p.reserved = map[string]bool{}
		}
		for _, n := range names {
			p.reserved[n] = true
		}
	}
}

// ForMaster parses a scenario for a master, which needs its classes but
// never runs them: data files are not read (each worker reads its own
// copy), classes get no Data, and ${env.NAME} of variables the master's
// environment lacks are not errors.
func ForMaster() ParseOption { return func(p *parser) { p.forMaster = true } }

// classVars is the state of the class being parsed that its templates are
// resolved against when the class ends.
type classVars struct {
	scope *varScope
	refs  []tref
	data  *DataSet // nil: none (or not read, on a master)
	named bool     // the class has a data set, read or not
}

// tref is an expression of a template, with where it was written.
type tref struct {
	ex   *texpr
	node *yaml.Node
	path string
}

// reservedVarName reports a namespace (row, user, worker, env), which a
// plain variable cannot be named.
func reservedVarName(s string) bool { return slices.Contains(namespaces, s) }

// Var is a variable declared by a scenario's top-level vars.
type Var struct {
	Name, Default string
	Line          int
}

// varsBlock reads a vars mapping: names to scalar defaults.
func (p *parser) varsBlock(n *yaml.Node, path string) ([]Var, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, p.errf(n, path, "expected a mapping of names to values")
	}
	var out []Var
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := p.str(n.Content[i], path)
		if err != nil {
			return nil, err
		}
		kp := path + "." + k
		switch {
		case !isName(k):
			return nil, p.errf(n.Content[i], kp, "%q is not a variable name (letters, digits and _, not starting with a digit)", k)
		case reservedVarName(k):
			return nil, p.errf(n.Content[i], kp, "%q is reserved for ${%s.…}", k, k)
		case p.reserved[k]:
			return nil, p.errf(n.Content[i], kp, "%q is the name of one of Locust's options (a master would send its value for it); choose another name", k)
		case seen[k]:
			return nil, p.errf(n.Content[i], path, "duplicate key %q", k)
		}
		seen[k] = true
		v := resolve(n.Content[i+1])
		if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return nil, p.errf(v, kp, "expected a string, number or boolean")
		}
		out = append(out, Var{Name: k, Default: v.Value, Line: n.Content[i].Line})
	}
	return out, nil
}

var dataKeys = []string{"file", "format", "mode"}

// dataBlock reads the top-level data mapping: names to data sets.
func (p *parser) dataBlock(n *yaml.Node, path string) error {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return p.errf(n, path, "expected a mapping of names to {file, format, mode}")
	}
	p.data = map[string]*DataSet{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := p.str(n.Content[i], path)
		if err != nil {
			return err
		}
		if !isName(k) {
			return p.errf(n.Content[i], path+"."+k, "%q is not a data set name (letters, digits and _)", k)
		}
		if _, dup := p.data[k]; dup {
			return p.errf(n.Content[i], path, "duplicate key %q", k)
		}
		d, err := p.dataSet(n.Content[i+1], path+"."+k, k)
		if err != nil {
			return err
		}
		p.data[k] = d
	}
	return nil
}

// dataSet reads {file, format, mode} and, except on a master, the file.
func (p *parser) dataSet(n *yaml.Node, path, name string) (*DataSet, error) {
	var file, format string
	var fileNode *yaml.Node
	mode := DataUnique
	err := p.fields(n, path, dataKeys, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "file":
			fileNode = v
			if file, err = p.str(v, path); err == nil && file == "" {
				err = p.errf(v, path, "must not be empty")
			}
		case "format":
			if format, err = p.str(v, path); err == nil && format != "csv" && format != "jsonl" {
				err = p.errf(v, path, "unknown format %q (want csv or jsonl)", format)
			}
		case "mode":
			var s string
			if s, err = p.str(v, path); err == nil {
				i := slices.Index(dataModes, s)
				if i < 0 {
					return p.errf(v, path, "unknown mode %q (want %s)", s, strings.Join(dataModes, ", "))
				}
				mode = DataMode(i)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if fileNode == nil {
		return nil, p.errf(n, path+".file", "required")
	}
	if p.forMaster {
		return &DataSet{Name: name, Mode: mode}, nil // not read: no columns
	}
	d, err := LoadData(name, p.rel(file), format, mode)
	if err != nil {
		return nil, p.errf(fileNode, path+".file", "%v", err)
	}
	return d, nil
}

// classData reads a class's data: the name of a top-level data set, or a
// data set of its own.
func (p *parser) classData(n *yaml.Node, path, class string) (*DataSet, error) {
	rn := resolve(n)
	if rn != nil && rn.Kind == yaml.MappingNode {
		return p.dataSet(n, path, class)
	}
	name, err := p.str(n, path)
	if err != nil {
		return nil, err
	}
	d, ok := p.data[name]
	if !ok {
		have := slices.Sorted(maps.Keys(p.data))
		return nil, p.errf(n, path, "unknown data set %q (the top-level data has %s)", name, listOrNone(have))
	}
	return d, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// beginClass starts collecting a class's variables.
func (p *parser) beginClass() {
	p.cls = &classVars{scope: newVarScope()}
}

// endClass declares the class's vars and data columns and resolves its
// templates' expressions: a plain name must be a var, a column of the
// class's data or extracted by one of its requests; row.column needs data
// with that column (unchecked on a master, which does not read the data).
func (p *parser) endClass(c *Class, classVarsList []Var) error {
	cv := p.cls
	s := cv.scope
	c.Vars = map[string]string{}
	for _, v := range append(slices.Clone(p.topVars), classVarsList...) {
		s.declare(v.Name, v.Default)
		c.Vars[v.Name] = v.Default
	}
	if cv.data != nil {
		for _, col := range cv.data.cols {
			if isName(col) {
				s.slot(col)
			}
		}
	}
	s.bindColumns(cv.data)
	var first error // every unresolved reference is reported
	for _, r := range cv.refs {
		switch r.ex.kind {
		case exVar:
			i, ok := s.index[r.ex.name]
			if !ok && r.ex.hasDef {
				i, ok = s.slot(r.ex.name), true // never set but by SetVar: the default
			}
			if !ok && p.forMaster && cv.named {
				continue // may be a column of data the master does not read
			}
			if !ok {
				first = p.note(first, p.errf(r.node, r.path, "undefined variable %q in ${%s} (not in vars, not extracted by a request of this class%s)",
					r.ex.name, r.ex.src, p.columnsNote()))
				continue
			}
			r.ex.slot = i
		case exRow:
			switch {
			case r.ex.hasDef:
				// No data or no such column: the default.
			case !cv.named:
				first = p.note(first, p.errf(r.node, r.path, "${%s}: the class has no data (set data: on the class)", r.ex.src))
			case cv.data != nil:
				if _, ok := cv.data.colIndex[r.ex.name]; !ok {
					first = p.note(first, p.errf(r.node, r.path, "${%s}: data %s has no column %q (it has %s)", r.ex.src, cv.data.Name, r.ex.name, strings.Join(cv.data.cols, ", ")))
				}
			}
		}
	}
	if first != nil {
		return first
	}
	c.scope = s
	if !p.forMaster {
		c.Data = cv.data
	}
	p.cls = nil
	return nil
}

func (p *parser) columnsNote() string {
	if d := p.cls.data; d != nil {
		return ", not a column of data " + d.Name
	}
	return ""
}

// tmplField is one string of a request that may hold a template.
type tmplField struct {
	s     *string // the string, replaced by its marked form
	mode  escMode
	node  *yaml.Node
	path  string
	nodes []tnode
}

// requestTemplates parses the templates of a request's strings. It
// returns nil when none holds an expression (the strings may have lost
// escapes: "$${" is then "${"). Otherwise each string with expressions is
// replaced by its marked form, and the returned template has the
// expressions. all holds every string of the request and blobs the files
// it sends, for choosing markers no text contains.
func (p *parser) requestTemplates(fields []*tmplField, all []string, blobs [][]byte) (*reqTemplate, error) {
	any := false
	for _, f := range fields {
		if f.nodes == nil { // else parsed already (auth)
			if !hasTemplate(*f.s) {
				continue
			}
			nodes, err := parseTemplate(*f.s, p.env)
			if err != nil {
				return nil, p.errf(f.node, f.path, "%v", err)
			}
			f.nodes = nodes
		}
		for _, n := range f.nodes {
			if n.ex != nil {
				any = true
				p.cls.refs = append(p.cls.refs, tref{ex: n.ex, node: f.node, path: f.path})
			} else {
				all = append(all, n.lit)
			}
		}
	}
	if !any {
		for _, f := range fields {
			if f.nodes != nil {
				*f.s = literalOf(f.nodes)
			}
		}
		return nil, nil
	}
	t := &reqTemplate{prefix: choosePrefix(all, blobs)}
	for _, f := range fields {
		if f.nodes != nil {
			*f.s = t.mark(f.nodes, f.mode)
		}
	}
	return t, nil
}

// literalOf joins the literal nodes of a template without expressions.
func literalOf(nodes []tnode) string {
	var b strings.Builder
	for _, n := range nodes {
		b.WriteString(n.lit)
	}
	return b.String()
}

// noTemplateInKeys rejects "${" in header names and query or form keys.
func (p *parser) noTemplateInKeys(n *yaml.Node, path string, kvs [][2]string) error {
	for _, kv := range kvs {
		if hasTemplate(kv[0]) {
			return p.errf(n, path+"."+kv[0], "templates go in values, not in names")
		}
	}
	return nil
}

// jsonFields replaces the strings of a decoded JSON body by template
// fields, so that templates in them can be marked; jsonUnfield puts the
// (marked) strings back.
func jsonFields(v any, node *yaml.Node, path string, out *[]*tmplField) any {
	switch x := v.(type) {
	case string:
		f := &tmplField{s: &x, mode: escJSON, node: node, path: path}
		*out = append(*out, f)
		return f
	case []any:
		for i := range x {
			x[i] = jsonFields(x[i], node, path, out)
		}
	case map[string]any:
		// In key order, as the body is encoded: the expressions are
		// evaluated in the same order on every load (a seeded run draws
		// the same values for the same keys).
		for _, k := range slices.Sorted(maps.Keys(x)) {
			x[k] = jsonFields(x[k], node, path, out)
		}
	}
	return v
}

func jsonUnfield(v any) any {
	switch x := v.(type) {
	case *tmplField:
		return *x.s
	case []any:
		for i := range x {
			x[i] = jsonUnfield(x[i])
		}
	case map[string]any:
		for k, e := range x {
			x[k] = jsonUnfield(e)
		}
	}
	return v
}

// jsonKeyTemplates reports a template in a JSON body's keys.
func (p *parser) jsonKeyTemplates(v any, node *yaml.Node, path string) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := p.jsonKeyTemplates(e, node, path); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			if hasTemplate(k) {
				return p.errf(node, path, "templates go in values, not in names (key %q)", k)
			}
			if err := p.jsonKeyTemplates(e, node, path); err != nil {
				return err
			}
		}
	}
	return nil
}

var extractKeys = []string{"json", "pick", "regex", "group", "header", "cookie", "status"}

// extracts reads a request's extract: variable names to {json: path
// [, pick]}, {regex: re [, group]}, {header: name}, {cookie: name} or
// {status: true}. desc names the request in messages.
func (p *parser) extracts(n *yaml.Node, path, desc string) ([]*extraction, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, p.errf(n, path, "expected a mapping of variable names to {json|regex|header|cookie|status: ...}")
	}
	var out []*extraction
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, err := p.str(n.Content[i], path)
		if err != nil {
			return nil, err
		}
		np := path + "." + name
		switch {
		case !isName(name):
			return nil, p.errf(n.Content[i], np, "%q is not a variable name (letters, digits and _, not starting with a digit)", name)
		case reservedVarName(name):
			return nil, p.errf(n.Content[i], np, "%q is reserved for ${%s.…}", name, name)
		case slices.ContainsFunc(out, func(e *extraction) bool { return e.name == name }):
			return nil, p.errf(n.Content[i], path, "duplicate key %q", name)
		}
		ex, err := p.extraction(n.Content[i+1], np, name)
		if err != nil {
			return nil, err
		}
		ex.slot = p.cls.scope.slot(name)
		p.cls.scope.extractedBy(name, desc)
		out = append(out, ex)
	}
	return out, nil
}

func (p *parser) extraction(n *yaml.Node, path, name string) (*extraction, error) {
	ex := &extraction{name: name}
	kinds := 0
	var pickNode, groupNode *yaml.Node
	err := p.fields(n, path, extractKeys, func(key string, v *yaml.Node, path string) (err error) {
		var s string
		switch key {
		case "pick":
			pickNode = v
			if s, err = p.str(v, path); err == nil {
				i := slices.Index(pickModes, s)
				if i < 0 {
					return p.errf(v, path, "unknown pick %q (want %s)", s, strings.Join(pickModes, ", "))
				}
				ex.pick = pickMode(i)
			}
			return err
		case "group":
			groupNode = v
			ex.grp, err = p.integer(v, path, 0, 1000)
			return err
		}
		kinds++
		ex.kind = extractKind(slices.Index(extractKinds, key))
		switch key {
		case "json":
			if s, err = p.str(v, path); err == nil {
				if ex.path, err = parseJSONPath(s); err != nil {
					err = p.errf(v, path, "%v", err)
				}
			}
		case "regex":
			if s, err = p.str(v, path); err == nil {
				if ex.re, err = regexp.Compile(s); err != nil {
					err = p.errf(v, path, "%v", err)
				}
			}
		case "header", "cookie":
			if s, err = p.str(v, path); err == nil && (s == "" || strings.ContainsAny(s, " :;=\r\n")) {
				err = p.errf(v, path, "invalid %s name %q", key, s)
			}
			ex.key = s
		case "status":
			var b bool
			if b, err = p.boolean(v, path); err == nil && !b {
				err = p.errf(v, path, "must be true")
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case kinds != 1:
		return nil, p.errf(n, path, "want exactly one of json, regex, header, cookie, status")
	case pickNode != nil && (ex.kind != extJSON || !ex.path.wild):
		return nil, p.errf(pickNode, path+".pick", "only for a json path with [*]")
	case groupNode != nil && ex.kind != extRegex:
		return nil, p.errf(groupNode, path+".group", "only for regex")
	case ex.kind == extRegex:
		if groupNode == nil && ex.re.NumSubexp() > 0 {
			ex.grp = 1
		}
		if ex.grp > ex.re.NumSubexp() {
			return nil, p.errf(groupNode, path+".group", "the regex has %d groups, not %d", ex.re.NumSubexp(), ex.grp)
		}
	}
	return ex, nil
}

// describe names a request in messages: "POST /login".
func describe(method, path string) string {
	if method == "" {
		method = "GET"
	}
	return fmt.Sprintf("%s %s", strings.ToUpper(method), path)
}

// requestStrings holds a request's strings that may hold templates while
// it is parsed.
type requestStrings struct {
	headers, query, form [][2]string
	body                 string
	json                 any
	isJSON               bool
	nodes                map[string]*yaml.Node // the value node of each key
	extract              *yaml.Node
	bodyFile             []byte     // body_file's content; nil: none
	files                []FilePart // nil: none
	auth                 *authSpec  // nil: none
	// The value node of each entry of expect_json and expect_header.
	jsonNodes, headerNodes []*yaml.Node
}

func (rs *requestStrings) field(key string, v *yaml.Node) {
	if rs.nodes == nil {
		rs.nodes = map[string]*yaml.Node{}
	}
	rs.nodes[key] = v
}

// compileRequest compiles the templates of r's strings and its extract.
// It returns nil when the request has neither; otherwise r.tpl is the
// returned template, which finish completes once the request is built.
func (p *parser) compileRequest(r *Request, rs *requestStrings, path string) (*reqTemplate, error) {
	nodes := rs.nodes
	var fields []*tmplField
	var all []string
	add := func(s *string, mode escMode, key, sub string) {
		fp := path + "." + key
		if sub != "" {
			fp += "." + sub
		}
		fields = append(fields, &tmplField{s: s, mode: mode, node: nodes[key], path: fp})
		all = append(all, *s)
	}
	add(&r.URL, escURI, "path", "")
	add(&r.Name, escRaw, "name", "")
	add(&r.ExpectBodyContains, escRaw, "expect_body_contains", "")
	add(&rs.body, escRaw, "body", "")
	authField, err := p.authHeader(rs, path)
	if err != nil {
		return nil, err
	}
	formMode := escQuery
	if rs.files != nil {
		formMode = escRaw // a multipart field is sent as it is
	}
	for _, kvs := range []struct {
		key  string
		kv   [][2]string
		mode escMode
	}{{"headers", rs.headers, escHeader}, {"query", rs.query, escQuery}, {"form", rs.form, formMode}} {
		if err := p.noTemplateInKeys(nodes[kvs.key], path+"."+kvs.key, kvs.kv); err != nil {
			return nil, err
		}
		for i := range kvs.kv {
			all = append(all, kvs.kv[i][0])
			add(&kvs.kv[i][1], kvs.mode, kvs.key, kvs.kv[i][0])
		}
	}
	if rs.isJSON {
		if err := p.jsonKeyTemplates(rs.json, nodes["json"], path+".json"); err != nil {
			return nil, err
		}
		n := len(fields)
		rs.json = jsonFields(rs.json, nodes["json"], path+".json", &fields)
		for _, f := range fields[n:] {
			all = append(all, *f.s)
		}
	}
	if authField != nil {
		authField.s = &rs.headers[len(rs.headers)-1][1]
		fields = append(fields, authField)
	}
	fields, all = rs.checkFields(r, path, fields, all)
	blobs := [][]byte{rs.bodyFile}
	for _, f := range rs.files {
		blobs = append(blobs, f.Data)
		all = append(all, f.Field, f.Filename, f.ContentType)
	}
	desc := describe(r.Method, r.URL) // as written
	if err := p.checkPathTemplate(r.URL, nodes["path"], path+".path"); err != nil {
		return nil, err
	}
	t, err := p.requestTemplates(fields, all, blobs)
	if err != nil {
		return nil, err
	}
	finishJSONChecks(r.ExpectJSON, t)
	if rs.isJSON {
		b, err := encodeJSON(jsonUnfield(rs.json))
		if err != nil {
			return nil, p.errf(nodes["json"], path+".json", "cannot encode as JSON: %v", err)
		}
		r.Body = b
	} else if _, ok := nodes["body"]; ok {
		r.Body = []byte(rs.body)
	} else if rs.bodyFile != nil {
		r.Body = rs.bodyFile
	}
	if en, ok := nodes["extract"]; ok {
		exs, err := p.extracts(en, path+".extract", desc)
		if err != nil {
			return nil, err
		}
		if t == nil {
			t = &reqTemplate{}
		}
		t.extract = exs
	}
	r.tpl = t
	return t, nil
}

// checkPathTemplate rejects templates where they would change where a
// request goes: in an absolute URL's scheme or host, and at the start of a
// path (whose "/" is added when missing, before the value).
func (p *parser) checkPathTemplate(raw string, n *yaml.Node, path string) error {
	if !hasTemplate(raw) {
		return nil
	}
	if isAbsoluteURL(raw) {
		rest := raw[strings.Index(raw, "://")+3:]
		if end := strings.IndexAny(rest, "/?"); end >= 0 {
			rest = rest[:end]
		}
		nodes, _ := parseTemplate(rest, p.env) // a syntax error is reported with the whole path
		if slices.ContainsFunc(nodes, func(n tnode) bool { return n.ex != nil }) {
			return p.errf(n, path, "templates go in the path and query, not in the scheme or host")
		}
		return nil
	}
	if strings.HasPrefix(raw, "${") {
		return p.errf(n, path, "a path starts with \"/\": write /${...} (a value is put inside the host's URL, never replaces it)")
	}
	return nil
}

// finish completes a request's template once the request's URL (with its
// query) and body are built: the marked body, name and expectation become
// segments.
func (t *reqTemplate) finish(r *Request) {
	if !t.renders() {
		return
	}
	cut := func(s string) []tseg {
		if !strings.Contains(s, t.prefix) {
			return nil
		}
		segs, _ := t.split(s, false)
		return segs
	}
	t.display = t.replaceMarkers(r.URL)
	if t.name = cut(r.Name); t.name != nil {
		t.display = t.replaceMarkers(r.Name)
		r.Name = ""
	}
	if t.expect = cut(r.ExpectBodyContains); t.expect != nil {
		r.ExpectBodyContains = ""
	}
	t.body = cut(string(r.Body))
	if n := len(t.body); n > 0 && len(t.body[n-1].lit) > maxWireBody {
		// A large literal end (files after templated fields): sent from
		// r.Body, and the other segments no longer hold the body's copy.
		t.bodyTail = r.Body[len(r.Body)-len(t.body[n-1].lit):]
		t.body[n-1].lit = ""
		for i := range t.body[:n-1] {
			t.body[i].lit = strings.Clone(t.body[i].lit)
		}
	}
}
