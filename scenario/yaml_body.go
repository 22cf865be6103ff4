package scenario

import (
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A request's body_file, files, auth and timeout mapping. Files are read
// once, when the scenario loads (each once, however many requests name
// it), and requests send them from memory: no file I/O per request. On a
// master, which never sends requests, they are not read.

// maxBodyFile bounds a file a request sends: it is held in memory for the
// whole run.
const maxBodyFile = 64 << 20

var (
	fileKeys    = []string{"file", "filename", "content_type"}
	authKeys    = []string{"user", "password"}
	timeoutKeys = []string{"connect", "read"}
)

// authSpec is a request's auth, as written (templates allowed).
type authSpec struct {
	user, password string
	node           *yaml.Node
}

// readBodyFile reads a file a request sends, named relative to the
// scenario.
func (p *parser) readBodyFile(n *yaml.Node, path string) ([]byte, string, error) {
	f, err := p.str(n, path)
	switch {
	case err != nil:
		return nil, "", err
	case f == "":
		return nil, "", p.errf(n, path, "must not be empty")
	case hasTemplate(f):
		return nil, "", p.errf(n, path, "templates are not allowed in a file name (files are read when the scenario loads)")
	case p.forMaster:
		return []byte{}, f, nil
	}
	file := p.rel(f)
	if b, ok := p.bodyFiles[file]; ok {
		return b, f, nil
	}
	b, err := readFileMax(file, maxBodyFile, " (a request's files are held in memory)")
	if err != nil {
		return nil, "", p.errf(n, path, "%v", err)
	}
	if p.bodyFiles == nil {
		p.bodyFiles = map[string][]byte{}
	}
	p.bodyFiles[file] = b
	return b, f, nil
}

// files reads a request's files: field names to a file name, or to
// {file, filename, content_type}.
func (p *parser) files(n *yaml.Node, path string) ([]FilePart, error) {
	rn := resolve(n)
	if rn == nil || rn.Kind != yaml.MappingNode || len(rn.Content) == 0 {
		return nil, p.errf(n, path, "expected a mapping of form field names to files (a file name or {file, filename, content_type})")
	}
	var out []FilePart
	for i := 0; i+1 < len(rn.Content); i += 2 {
		field, err := p.str(rn.Content[i], path)
		if err != nil {
			return nil, err
		}
		fp := path + "." + field
		switch {
		case field == "":
			return nil, p.errf(rn.Content[i], path, "a form field name must not be empty")
		case hasTemplate(field):
			return nil, p.errf(rn.Content[i], fp, "templates go in form values, not in names")
		}
		part, err := p.filePart(rn.Content[i+1], fp)
		if err != nil {
			return nil, err
		}
		part.Field = field
		out = append(out, part)
	}
	return out, nil
}

func (p *parser) filePart(n *yaml.Node, path string) (FilePart, error) {
	var part FilePart
	if rn := resolve(n); rn == nil || rn.Kind != yaml.MappingNode {
		data, name, err := p.readBodyFile(n, path)
		return FilePart{Filename: filepath.Base(name), Data: data}, err
	}
	var fileNode *yaml.Node
	named := false
	err := p.fields(n, path, fileKeys, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "file":
			fileNode = v
			var name string
			if part.Data, name, err = p.readBodyFile(v, path); err == nil && !named {
				part.Filename = filepath.Base(name)
			}
		case "filename":
			named = true
			if part.Filename, err = p.str(v, path); err == nil && hasTemplate(part.Filename) {
				err = p.errf(v, path, "templates are not allowed here (the body is rendered when the scenario loads)")
			}
		case "content_type":
			part.ContentType, err = p.str(v, path)
			if err == nil && (strings.ContainsAny(part.ContentType, "\r\n") || hasTemplate(part.ContentType)) {
				err = p.errf(v, path, "invalid content type %q", part.ContentType)
			}
		}
		return err
	})
	if err == nil && fileNode == nil {
		err = p.errf(n, join(path, "file"), "required")
	}
	return part, err
}

// auth reads {user, password}; both are required (the password may be
// empty) and may hold templates.
func (p *parser) auth(n *yaml.Node, path string) (*authSpec, error) {
	a := &authSpec{node: n}
	var got int
	err := p.fields(n, path, authKeys, func(key string, v *yaml.Node, path string) (err error) {
		got++
		if key == "user" {
			a.user, err = p.str(v, path)
		} else {
			a.password, err = p.str(v, path)
		}
		return err
	})
	if err == nil && got != len(authKeys) {
		err = p.errf(n, path, "needs user and password")
	}
	return a, err
}

// requestTimeout reads a request's timeout: seconds (or a duration) for
// the whole request, or {connect, read}, Python requests' (connect, read).
func (p *parser) requestTimeout(n *yaml.Node, path string, r *Request) error {
	if rn := resolve(n); rn == nil || rn.Kind != yaml.MappingNode {
		var err error
		r.Timeout, err = p.duration(n, path)
		return err
	}
	err := p.fields(n, path, timeoutKeys, func(key string, v *yaml.Node, path string) error {
		d, err := p.duration(v, path)
		switch {
		case err != nil:
			return err
		case d == 0:
			return p.errf(v, path, "must be more than 0 (leave %s out for no limit)", key)
		case key == "connect":
			r.ConnectTimeout = d
		default:
			r.ReadTimeout = d
		}
		return nil
	})
	if err == nil && r.ConnectTimeout == 0 && r.ReadTimeout == 0 {
		err = p.errf(n, path, "needs connect, read or both (or seconds for the whole request)")
	}
	return err
}

// authHeader adds a request's auth to its headers as Authorization. Without
// templates the value is rendered now; with them the header's value is a
// placeholder, and the returned field holds its template (one exBasicAuth
// expression), for compileRequest to mark.
func (p *parser) authHeader(rs *requestStrings, path string) (*tmplField, error) {
	a := rs.auth
	if a == nil {
		return nil, nil
	}
	path += ".auth"
	for _, kv := range rs.headers {
		if strings.EqualFold(kv[0], "Authorization") {
			return nil, p.errf(a.node, path, "the request also sets an Authorization header; use one or the other")
		}
	}
	var up [2][]tnode // user, password
	for i, s := range []string{a.user, a.password} {
		up[i] = []tnode{{lit: s}}
		if !hasTemplate(s) {
			continue
		}
		nodes, err := parseTemplate(s, p.env)
		if err != nil {
			return nil, p.errf(a.node, join(path, authKeys[i]), "%v", err)
		}
		for _, n := range nodes {
			if n.ex != nil {
				p.cls.refs = append(p.cls.refs, tref{ex: n.ex, node: a.node, path: join(path, authKeys[i])})
			}
		}
		up[i] = nodes
	}
	parts := slices.Concat(up[0], []tnode{{lit: ":"}}, up[1])
	if !slices.ContainsFunc(parts, func(n tnode) bool { return n.ex != nil }) {
		value, err := BasicAuth(literalOf(up[0]), literalOf(up[1]))
		if err != nil {
			return nil, p.errf(a.node, path, "%v", err)
		}
		rs.headers = append(rs.headers, [2]string{"Authorization", value})
		return nil, nil
	}
	rs.headers = append(rs.headers, [2]string{"Authorization", ""})
	ex := &texpr{kind: exBasicAuth, src: "auth", parts: parts}
	return &tmplField{mode: escHeader, node: a.node, path: path, nodes: []tnode{{lit: "Basic "}, {ex: ex}}}, nil
}
