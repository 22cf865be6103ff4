package scenario

import "go.yaml.in/yaml/v3"

// A request's timeout mapping, Python requests' (connect, read).

var timeoutKeys = []string{"connect", "read"}

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
