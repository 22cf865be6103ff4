package scenario

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/glocust/glocust/threshold"
)

// The scenario's thresholds: key: pass/fail criteria the master judges on
// its merged stats (package threshold). Workers parse and ignore them.
//
//	thresholds:
//	  - p95 < 500                        # all requests
//	  - fail_ratio < 1%
//	  - {check: "avg <= 200", name: home, method: GET}
//	  - {check: "p99 < 2s", abort_on_fail: true, grace: 30s}

func (p *parser) thresholds(n *yaml.Node, path string) ([]threshold.Threshold, error) {
	items, err := p.seq(n, path)
	if err != nil {
		return nil, err
	}
	out := make([]threshold.Threshold, 0, len(items))
	for i, it := range items {
		th, err := p.threshold(it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, th)
	}
	return out, nil
}

func (p *parser) threshold(n *yaml.Node, path string) (threshold.Threshold, error) {
	if rn := resolve(n); rn != nil && rn.Kind == yaml.ScalarNode {
		return p.thresholdExpr(rn, path)
	}
	var th threshold.Threshold
	var exprNode, graceNode *yaml.Node
	var name, method string
	var abort bool
	known := []string{"check", "name", "method", "abort_on_fail", "grace"}
	err := p.fields(n, path, known, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "check":
			exprNode = v
		case "name":
			if name, err = p.str(v, path); err == nil && name == "" {
				err = p.errf(v, path, "must not be empty (leave it out for all requests)")
			}
		case "method":
			if method, err = p.str(v, path); err == nil && (method == "" || strings.ContainsAny(method, " \t\r\n/:")) {
				err = p.errf(v, path, "invalid method %q", method)
			}
			method = strings.ToUpper(method)
		case "abort_on_fail":
			abort, err = p.boolean(v, path)
		case "grace":
			th.Grace, err = p.duration(v, path)
			graceNode = v
		}
		return err
	})
	if err != nil {
		return th, err
	}
	switch {
	case exprNode == nil:
		return th, p.errf(n, path+".check", `required (e.g. check: "p95 < 500")`)
	case method != "" && name == "":
		return th, p.errf(n, path+".method", "needs a name")
	case graceNode != nil && !abort:
		return th, p.errf(graceNode, path+".grace", "only applies with abort_on_fail: true")
	}
	grace := th.Grace
	if th, err = p.thresholdExpr(exprNode, path+".check"); err != nil {
		return th, err
	}
	th.Name, th.Method, th.AbortOnFail, th.Grace = name, method, abort, grace
	return th, nil
}

// thresholdExpr parses "metric op limit" at n.
func (p *parser) thresholdExpr(n *yaml.Node, path string) (threshold.Threshold, error) {
	expr, err := p.str(n, path)
	if err != nil {
		return threshold.Threshold{}, err
	}
	th, err := threshold.Parse(expr)
	if err != nil {
		return th, p.errf(n, path, "%v", err)
	}
	th.Source = p.file + ":" + strconv.Itoa(resolve(n).Line)
	return th, nil
}
