package scenario

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A request's response checks in YAML (checks.go runs them):
//
//	expect_json:                     # JSON path: what the value must be
//	  status: ok                     # equal: a string, number, boolean or null
//	  $.data.count: 3                # numbers compare as numbers (3 == 3.0)
//	  "items[0].id": {type: integer} # string, number, integer, boolean, null, array, object
//	  error: {exists: false}
//	  owner: "${user}"               # a template: compared as text (JSONEqualText)
//	expect_header:                   # header name (any case): what its value must be
//	  Content-Type: application/json # equal
//	  Cache-Control: {contains: max-age}
//	  X-Debug: {exists: false}
//	expect_max_ms: 500               # slower is a failure

var (
	jsonCheckKeys   = []string{"type", "exists"}
	headerCheckKeys = []string{"contains", "exists"}
)

// maxExpectMS bounds expect_max_ms: the longest wait time, in ms.
const maxExpectMS = maxWaitSeconds * 1000

// expectJSON reads expect_json: JSON paths to a scalar, {type: T} or
// {exists: B}. A string is returned as JSONEqualText with the string as
// written, for compileRequest to render its template or to turn it into
// JSONEqual (finishJSONChecks); rs keeps each entry's node.
func (p *parser) expectJSON(n *yaml.Node, path string, rs *requestStrings) ([]JSONCheck, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, p.errf(n, path, "expected a mapping of JSON paths to a value, {type: ...} or {exists: true|false}")
	}
	var out []JSONCheck
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		key, err := p.str(kn, path)
		if err != nil {
			return nil, err
		}
		kp := path + "." + key
		switch {
		case hasTemplate(key):
			return nil, p.errf(kn, kp, "templates go in values, not in paths")
		case slices.ContainsFunc(out, func(c JSONCheck) bool { return c.Path == key }):
			return nil, p.errf(kn, path, "duplicate key %q", key)
		}
		if _, err := parseJSONPath(key); err != nil {
			return nil, p.errf(kn, kp, "%v", err)
		}
		c, err := p.jsonCheck(n.Content[i+1], kp)
		if err != nil {
			return nil, err
		}
		c.Path = key
		out = append(out, c)
		rs.jsonNodes = append(rs.jsonNodes, n.Content[i+1])
	}
	return out, nil
}

// jsonCheck reads the check of one path.
func (p *parser) jsonCheck(n *yaml.Node, path string) (JSONCheck, error) {
	rn := resolve(n)
	switch {
	case rn != nil && rn.Kind == yaml.MappingNode:
		return p.jsonCheckMapping(n, path)
	case rn == nil || rn.Kind != yaml.ScalarNode:
		return JSONCheck{}, p.errf(n, path, "expected a string, number, boolean or null, {type: ...} or {exists: true|false}")
	}
	switch rn.Tag {
	case "!!null":
		return JSONCheck{Kind: JSONEqual, Value: "null"}, nil
	case "!!bool":
		b, err := p.boolean(rn, path)
		return JSONCheck{Kind: JSONEqual, Value: strconv.FormatBool(b)}, err
	case "!!int":
		var i int64
		if rn.Decode(&i) == nil {
			return JSONCheck{Kind: JSONEqual, Value: strconv.FormatInt(i, 10)}, nil
		}
		fallthrough // beyond int64: as a float
	case "!!float":
		var f float64
		if err := rn.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return JSONCheck{}, p.errf(rn, path, "expected a finite number, got %s", rn.Value)
		}
		return JSONCheck{Kind: JSONEqual, Value: strconv.FormatFloat(f, 'g', -1, 64)}, nil
	}
	// A string, or another scalar (a date) as written.
	return JSONCheck{Kind: JSONEqualText, Value: rn.Value}, nil
}

// jsonCheckMapping reads {type: T} or {exists: B}.
func (p *parser) jsonCheckMapping(n *yaml.Node, path string) (JSONCheck, error) {
	var c JSONCheck
	kinds := 0
	err := p.fields(n, path, jsonCheckKeys, func(key string, v *yaml.Node, path string) error {
		kinds++
		if key == "exists" {
			b, err := p.boolean(v, path)
			c.Kind = JSONExists
			if !b {
				c.Kind = JSONAbsent
			}
			return err
		}
		s, err := p.str(v, path)
		if err != nil {
			return err
		}
		if !slices.Contains(jsonTypeNames, s) {
			return p.errf(v, path, "unknown type %q (want %s)", s, strings.Join(jsonTypeNames, ", "))
		}
		c.Kind, c.Value = JSONType, s
		return nil
	})
	if err == nil && kinds != 1 {
		err = p.errf(n, path, "want exactly one of type, exists")
	}
	return c, err
}

// finishJSONChecks turns the strings of expect_json that hold no template
// (t nil, or not marked by t) into JSONEqual with their JSON text.
func finishJSONChecks(checks []JSONCheck, t *reqTemplate) {
	for i := range checks {
		c := &checks[i]
		if c.Kind != JSONEqualText || t.renders() && strings.Contains(c.Value, t.prefix) {
			continue
		}
		b, _ := encodeJSON(c.Value) // a string always encodes
		c.Kind, c.Value = JSONEqual, string(b)
	}
}

// expectHeader reads expect_header: header names to a value,
// {contains: text} or {exists: B}; rs keeps each entry's node.
func (p *parser) expectHeader(n *yaml.Node, path string, rs *requestStrings) ([]HeaderCheck, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, p.errf(n, path, "expected a mapping of header names to a value, {contains: ...} or {exists: true|false}")
	}
	var out []HeaderCheck
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		name, err := p.str(kn, path)
		if err != nil {
			return nil, err
		}
		kp := path + "." + name
		switch {
		case hasTemplate(name):
			return nil, p.errf(kn, kp, "templates go in values, not in names")
		case checkHeaderName(name) != nil:
			return nil, p.errf(kn, kp, "%v", checkHeaderName(name))
		case slices.ContainsFunc(out, func(c HeaderCheck) bool { return strings.EqualFold(c.Name, name) }):
			return nil, p.errf(kn, path, "duplicate header %q (names are matched without regard to case)", name)
		}
		c, err := p.headerCheck(n.Content[i+1], kp)
		if err != nil {
			return nil, err
		}
		c.Name = name
		out = append(out, c)
		rs.headerNodes = append(rs.headerNodes, n.Content[i+1])
	}
	return out, nil
}

// headerCheck reads the check of one header.
func (p *parser) headerCheck(n *yaml.Node, path string) (HeaderCheck, error) {
	var c HeaderCheck
	rn := resolve(n)
	if rn == nil || rn.Kind != yaml.MappingNode {
		if rn == nil || rn.Kind != yaml.ScalarNode || rn.Tag == "!!null" {
			return c, p.errf(n, path, "expected a value, {contains: ...} or {exists: true|false}")
		}
		c.Kind, c.Value = HeaderEqual, rn.Value
		return c, p.headerValue(rn, path, c.Value)
	}
	kinds := 0
	err := p.fields(n, path, headerCheckKeys, func(key string, v *yaml.Node, path string) error {
		kinds++
		if key == "exists" {
			b, err := p.boolean(v, path)
			c.Kind = HeaderExists
			if !b {
				c.Kind = HeaderAbsent
			}
			return err
		}
		s, err := p.str(v, path)
		if err == nil && s == "" {
			err = p.errf(v, path, "must not be empty")
		}
		if err == nil {
			err = p.headerValue(v, path, s)
		}
		c.Kind, c.Value = HeaderContains, s
		return err
	})
	if err == nil && kinds != 1 {
		err = p.errf(n, path, "want exactly one of contains, exists")
	}
	return c, err
}

// headerValue rejects a line break, which no header value has.
func (p *parser) headerValue(n *yaml.Node, path, s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return p.errf(n, path, "%q has a line break, which no header value has", s)
	}
	return nil
}

// expectMaxMS reads expect_max_ms: milliseconds, more than 0.
func (p *parser) expectMaxMS(n *yaml.Node, path string) (time.Duration, error) {
	f, err := p.number(n, path)
	if err != nil {
		return 0, err
	}
	d := time.Duration(math.Round(f * float64(time.Millisecond)))
	if !(f > 0) || f > maxExpectMS || d <= 0 {
		return 0, p.errf(n, path, "expected milliseconds more than 0 and at most %d, got %s", int64(maxExpectMS), resolve(n).Value)
	}
	return d, nil
}

// checkFields adds the strings of a request's expect_json and
// expect_header that may hold templates to fields and to all (the
// request's texts), for compileRequest.
func (rs *requestStrings) checkFields(r *Request, path string, fields []*tmplField, all []string) ([]*tmplField, []string) {
	for i := range r.ExpectJSON {
		c := &r.ExpectJSON[i]
		if c.Kind == JSONEqualText {
			fields = append(fields, &tmplField{s: &c.Value, mode: escRaw, node: rs.jsonNodes[i], path: path + ".expect_json." + c.Path})
			all = append(all, c.Value)
		}
	}
	for i := range r.ExpectHeader {
		c := &r.ExpectHeader[i]
		if c.Kind == HeaderEqual || c.Kind == HeaderContains {
			fields = append(fields, &tmplField{s: &c.Value, mode: escRaw, node: rs.headerNodes[i], path: path + ".expect_header." + c.Name})
			all = append(all, c.Value)
		}
	}
	return fields, all
}
