package scenario

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// The steps of a YAML task, on_start and on_stop, and a class's refresh:
//
//	steps:
//	  - request: {...}                    # a request (fail_if: see failIf)
//	  - think: 1.5                        # a pause: seconds, "300ms", or {between: [0.5, 2]}
//	  - repeat: 3                         # or "${count}": a whole number when the step runs
//	    as: i                             # ${i}: 0, 1, 2 (optional)
//	    steps: [...]
//	  - request: {...}
//	    if: ${response.status} == 200     # any step: runs only when the condition holds (cond.go)
//	  - think: 1
//	    unless: ${token}                  # runs only when it does not
//
// and a class's
//
//	refresh:
//	  every: 300s        # before a task's next step once this long has passed since the last run
//	  on_status: [401]   # after a task's request got one of these statuses
//	  steps: on_start    # the class's on_start, or a list of steps
//	  retry: true        # then send that request once more
//
// A class without refresh runs its tasks as before: a task that is one
// request is that request's Do, and a list of steps is run in order.

// stepKind is what a step does.
type stepKind uint8

const (
	stepRequest stepKind = iota
	stepThink
	stepRepeat
)

// step is one compiled step.
type step struct {
	kind   stepKind
	cond   *cond // if or unless; nil: always
	unless bool
	path   string // the step's key path, for messages

	req *Request // stepRequest

	lo, hi time.Duration // stepThink: hi > lo draws from [lo, hi)

	count    int     // stepRepeat: the count, unless countT
	countT   []tnode // a templated count
	countSrc string  // as written
	as       int     // the slot of as; -1: none
	body     []*step
}

// maxRepeat bounds a repeat's count.
const maxRepeat = 1_000_000

var stepKeys = []string{"request", "think", "repeat", "steps", "as", "if", "unless"}

// classSteps is what the steps of the class being parsed share.
type classSteps struct {
	owner    *classVars // the class (p.cls), to tell classes apart
	rf       *refresh
	resolved bool // rf's on_start was resolved
	tasks    int  // tasks built
}

// classSteps returns the state of the class being parsed.
func (p *parser) classSteps() *classSteps {
	if p.stp == nil || p.stp.owner != p.cls {
		p.stp = &classSteps{owner: p.cls}
	}
	return p.stp
}

// stepsTask is the function of a task made of steps.
func stepsTask(steps []*step, rf *refresh) TaskFunc {
	return func(ctx context.Context, u *UserContext) error {
		return u.runSteps(ctx, steps, rf)
	}
}

// runSteps is the function of on_start, on_stop and refresh steps.
func runSteps(steps []*step) TaskFunc { return stepsTask(steps, nil) }

func (p *parser) stepsFn(n *yaml.Node, path string) (TaskFunc, error) {
	steps, err := p.steps(n, path)
	if err != nil {
		return nil, err
	}
	return runSteps(steps), nil
}

// taskRefresh returns the class's refresh for a task being built (nil:
// none), resolving its on_start once: the class's keys have all been
// read when its tasks are built.
func (p *parser) taskRefresh() (*refresh, error) {
	cs := p.classSteps()
	cs.tasks++
	rf := cs.rf
	if rf == nil || cs.resolved {
		return rf, nil
	}
	cs.resolved = true
	if rf.fn == nil {
		if rf.class.OnStart == nil {
			return nil, p.errf(rf.node, rf.path+".steps", "on_start: the class has no on_start")
		}
		rf.fn = rf.class.OnStart
	}
	return rf, nil
}

// requestTask is the function of a task that is one request.
func (p *parser) requestTask(req *Request) (TaskFunc, error) {
	rf, err := p.taskRefresh()
	if err != nil || rf != nil {
		return stepsTask([]*step{{kind: stepRequest, req: req, as: -1}}, rf), err
	}
	return func(ctx context.Context, u *UserContext) error {
		u.HTTP.Do(ctx, req)
		return nil
	}, nil
}

// stepsTask is the function of a task made of steps.
func (p *parser) stepsTask(steps []*step) (TaskFunc, error) {
	rf, err := p.taskRefresh()
	return stepsTask(steps, rf), err
}

// steps reads a list of steps.
func (p *parser) steps(n *yaml.Node, path string) ([]*step, error) {
	return p.stepList(n, path, nil)
}

// stepList reads a list of steps inside the repeats whose as names are
// loops.
func (p *parser) stepList(n *yaml.Node, path string, loops []string) ([]*step, error) {
	items, err := p.seq(n, path)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, p.errf(n, path, "at least one step is required")
	}
	if len(loops) > 20 {
		return nil, p.errf(n, path, "repeats nested more than 20 deep")
	}
	out := make([]*step, 0, len(items))
	var first error // the steps' errors: each step is parsed
	for i, it := range items {
		s, err := p.stepItem(it, fmt.Sprintf("%s[%d]", path, i), loops)
		if first = p.note(first, err); err == nil {
			out = append(out, s)
		}
	}
	if first != nil {
		return nil, first
	}
	return out, nil
}

func (p *parser) stepItem(n *yaml.Node, path string, loops []string) (*step, error) {
	s := &step{path: path, as: -1}
	var kinds []string
	var bodyNode, asNode, condNode *yaml.Node
	var asName string
	err := p.fields(n, path, stepKeys, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "request":
			kinds = append(kinds, key)
			s.kind = stepRequest
			s.req, err = p.request(v, path)
		case "think":
			kinds = append(kinds, key)
			s.kind = stepThink
			s.lo, s.hi, err = p.think(v, path)
		case "repeat":
			kinds = append(kinds, key)
			s.kind = stepRepeat
			err = p.repeatCount(v, path, s)
		case "steps":
			bodyNode = v
		case "as":
			asNode = v
			if asName, err = p.str(v, path); err == nil {
				switch {
				case !isName(asName):
					err = p.errf(v, path, "%q is not a variable name (letters, digits and _, not starting with a digit)", asName)
				case reservedVarName(asName):
					err = p.errf(v, path, "%q is reserved for ${%s.…}", asName, asName)
				case slices.Contains(loops, asName):
					err = p.errf(v, path, "%q is already the index of an enclosing repeat", asName)
				}
			}
		case "if", "unless":
			if condNode != nil {
				return p.errf(v, path, "a step has if or unless, not both")
			}
			condNode = v
			s.unless = key == "unless"
			s.cond, err = p.condition(v, path)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case len(kinds) == 0:
		return nil, p.errf(n, path, "a step needs one of request, think, repeat")
	case len(kinds) > 1:
		return nil, p.errf(n, path, "a step has one of request, think, repeat, not %s and %s", kinds[0], kinds[1])
	case s.kind != stepRepeat && bodyNode != nil:
		return nil, p.errf(bodyNode, path+".steps", "only with repeat")
	case s.kind != stepRepeat && asNode != nil:
		return nil, p.errf(asNode, path+".as", "only with repeat")
	case s.kind == stepRepeat && bodyNode == nil:
		return nil, p.errf(n, path+".steps", "required with repeat")
	}
	if s.kind == stepRepeat {
		if asNode != nil {
			s.as = p.cls.scope.slot(asName)
			loops = append(slices.Clip(loops), asName)
		}
		if s.body, err = p.stepList(bodyNode, path+".steps", loops); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// think reads a pause: seconds, a duration ("300ms") or {between: [lo, hi]}.
func (p *parser) think(n *yaml.Node, path string) (lo, hi time.Duration, err error) {
	rn := resolve(n)
	if rn == nil || rn.Kind != yaml.MappingNode {
		lo, err = p.duration(n, path)
		return lo, lo, err
	}
	err = p.fields(n, path, []string{"between"}, func(_ string, v *yaml.Node, path string) error {
		items, err := p.seq(v, path)
		if err != nil {
			return err
		}
		if len(items) != 2 {
			return p.errf(v, path, "expected [min, max]")
		}
		if lo, err = p.duration(items[0], path+"[0]"); err != nil {
			return err
		}
		if hi, err = p.duration(items[1], path+"[1]"); err != nil {
			return err
		}
		if hi < lo {
			return p.errf(v, path, "min %v is greater than max %v", lo, hi)
		}
		return nil
	})
	if err == nil && len(rn.Content) == 0 {
		err = p.errf(n, path, "expected seconds, a duration (\"300ms\") or {between: [min, max]}")
	}
	return lo, hi, err
}

// repeatCount reads a repeat's count: a whole number, or a template whose
// value must be one when the step runs.
func (p *parser) repeatCount(n *yaml.Node, path string, s *step) error {
	rn := resolve(n)
	if rn != nil && rn.Kind == yaml.ScalarNode && rn.Tag == "!!int" {
		c, err := p.integer(n, path, 0, maxRepeat)
		s.count = c
		return err
	}
	src, err := p.str(n, path)
	if err != nil {
		return p.errf(n, path, "expected a whole number or a template such as \"${count}\"")
	}
	s.countSrc = src
	if !hasTemplate(src) {
		c, err := strconv.Atoi(src)
		if err != nil || c < 0 || c > maxRepeat {
			return p.errf(n, path, "expected a whole number in [0, %d] or a template such as \"${count}\", got %q", maxRepeat, src)
		}
		s.count = c
		return nil
	}
	nodes, err := parseTemplate(src, p.env)
	if err != nil {
		return p.errf(n, path, "%v", err)
	}
	if !hasExpr(nodes) {
		c, err := strconv.Atoi(literalOf(nodes))
		if err != nil || c < 0 || c > maxRepeat {
			return p.errf(n, path, "expected a whole number in [0, %d], got %q", maxRepeat, literalOf(nodes))
		}
		s.count = c
		return nil
	}
	for _, nd := range nodes {
		if nd.ex != nil {
			p.cls.refs = append(p.cls.refs, tref{ex: nd.ex, node: n, path: path})
		}
	}
	s.countT = nodes
	return nil
}

// condition compiles a condition; its variables are resolved with the
// class's templates.
func (p *parser) condition(n *yaml.Node, path string) (*cond, error) {
	rn := resolve(n)
	if rn == nil || rn.Kind != yaml.ScalarNode || rn.Tag == "!!null" {
		return nil, p.errf(n, path, "expected a condition such as '${response.status} == 200'")
	}
	c, err := parseCond(rn.Value, p.env)
	if err != nil {
		return nil, p.errf(n, path, "condition %q: %v", rn.Value, err)
	}
	c.refs(func(ex *texpr) { p.cls.refs = append(p.cls.refs, tref{ex: ex, node: n, path: path}) })
	return c, nil
}

// StepError is a step that could not run: a repeat whose count is not a
// whole number. The task ends there and the error is reported as a user
// exception.
type StepError struct {
	Path string // the step's key path, e.g. "users[0].tasks[1].steps[0]"
	Msg  string
}

func (e *StepError) Error() string { return e.Path + ": " + e.Msg }

// stepState is a user's state for steps, made when first needed.
type stepState struct {
	refreshed time.Time   // when the refresh steps last ended (first: when the first task began)
	started   bool        // refreshed is set
	timer     *time.Timer // think's
}

func (u *UserContext) stepState() *stepState {
	if u.steps == nil {
		u.steps = &stepState{}
	}
	return u.steps
}

// LastStatus returns the status code of the user's last response: of the
// last request sent with its HTTPClient (after redirects), 0 before any
// and when the last request got no response (a connection error, a
// template that could not be rendered). YAML conditions read it as
// ${response.status}.
func (u *UserContext) LastStatus() int {
	if u.HTTP == nil {
		return 0
	}
	return int(u.HTTP.lastStatus)
}

// runSteps runs steps in order; rf is the class's refresh in a task.
func (u *UserContext) runSteps(ctx context.Context, steps []*step, rf *refresh) error {
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rf != nil && rf.every > 0 {
			if err := rf.maybe(ctx, u); err != nil {
				return err
			}
		}
		if s.cond != nil && s.cond.holds(u) == s.unless {
			continue
		}
		if err := u.runStep(ctx, s, rf); err != nil {
			return err
		}
	}
	return nil
}

func (u *UserContext) runStep(ctx context.Context, s *step, rf *refresh) error {
	switch s.kind {
	case stepRequest:
		u.HTTP.Do(ctx, s.req)
		if rf == nil || rf.statuses == nil || !slices.Contains(rf.statuses, u.LastStatus()) || ctx.Err() != nil {
			return nil
		}
		if err := rf.run(ctx, u); err != nil {
			return err
		}
		if rf.retry && ctx.Err() == nil {
			u.HTTP.Do(ctx, s.req)
		}
	case stepThink:
		d := s.lo
		if s.hi > s.lo {
			d += time.Duration(u.Rand.Int64N(int64(s.hi - s.lo)))
		}
		return u.think(ctx, d)
	case stepRepeat:
		n, err := u.repeatCount(s)
		if err != nil {
			return err
		}
		for i := range n {
			if err := ctx.Err(); err != nil {
				return err
			}
			if s.as >= 0 {
				var buf [20]byte
				u.vars.setBytes(s.as, strconv.AppendInt(buf[:0], int64(i), 10))
			}
			if err := u.runSteps(ctx, s.body, rf); err != nil {
				return err
			}
		}
	}
	return nil
}

// repeatCount returns the count of a repeat step.
func (u *UserContext) repeatCount(s *step) (int, error) {
	if s.countT == nil {
		return s.count, nil
	}
	v := &u.vars
	start := len(v.gen)
	defer func() { v.gen = v.gen[:start] }()
	b, err := u.renderNodes(s.countT)
	if err != nil {
		return 0, &StepError{Path: s.path + ".repeat", Msg: err.Error()}
	}
	n, err := -1, error(nil)
	if len(b) > 0 && len(b) <= 10 {
		n, err = strconv.Atoi(unsafe.String(&b[0], len(b)))
	}
	if err != nil || n < 0 || n > maxRepeat {
		return 0, &StepError{Path: s.path + ".repeat", Msg: fmt.Sprintf("%s is %q, not a whole number in [0, %d]", s.countSrc, b, maxRepeat)}
	}
	return n, nil
}

// think pauses d, or until ctx is cancelled (the user is stopped without
// grace, or its stop timeout ran out). It uses a real timer, as wait_time
// does.
func (u *UserContext) think(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	st := u.stepState()
	if st.timer == nil {
		st.timer = time.NewTimer(d)
	} else {
		st.timer.Reset(d)
	}
	select {
	case <-st.timer.C:
		return nil
	case <-ctx.Done():
		st.timer.Stop()
		return ctx.Err()
	}
}

// refresh is a class's refresh.
type refresh struct {
	every    time.Duration
	statuses []int // on_status; nil: none
	retry    bool
	fn       TaskFunc   // the steps, or the class's on_start (set when the tasks are built)
	class    *Class     // for on_start
	node     *yaml.Node // steps' value
	path     string
}

var refreshKeys = []string{"every", "on_status", "steps", "retry"}

// refresh reads a class's refresh key; c is the class being parsed.
func (p *parser) refresh(n *yaml.Node, path string, c *Class) error {
	cs := p.classSteps()
	if cs.tasks > 0 {
		// The tasks were built without it: the parser must read a class's
		// keys before its tasks.
		return p.errf(n, path, "must be read before the class's tasks")
	}
	rf := &refresh{class: c, node: n, path: path}
	var stepsNode *yaml.Node
	err := p.fields(n, path, refreshKeys, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "every":
			if rf.every, err = p.duration(v, path); err == nil && rf.every <= 0 {
				err = p.errf(v, path, "must be more than 0")
			}
		case "on_status":
			rf.statuses, err = p.statuses(v, path)
		case "retry":
			rf.retry, err = p.boolean(v, path)
		case "steps":
			stepsNode = v
			rf.node = v
			if rv := resolve(v); rv != nil && rv.Kind == yaml.ScalarNode {
				var s string
				if s, err = p.str(v, path); err == nil && s != "on_start" {
					err = p.errf(v, path, "expected on_start or a list of steps, got %q", s)
				}
				return err
			}
			rf.fn, err = p.stepsFn(v, path)
		}
		return err
	})
	switch {
	case err != nil:
		return err
	case stepsNode == nil:
		return p.errf(n, path+".steps", "required: on_start or a list of steps")
	case rf.every == 0 && rf.statuses == nil:
		return p.errf(n, path, "needs every, on_status or both")
	case rf.retry && rf.statuses == nil:
		return p.errf(n, path+".retry", "only with on_status")
	}
	cs.rf = rf
	return nil
}

// maybe runs the refresh steps when every has passed since they last
// ended; the first call (the user's first task, right after on_start)
// starts the clock.
func (rf *refresh) maybe(ctx context.Context, u *UserContext) error {
	st := u.stepState()
	now := u.now()
	if !st.started {
		st.refreshed, st.started = now, true
		return nil
	}
	if now.Sub(st.refreshed) < rf.every {
		return nil
	}
	return rf.run(ctx, u)
}

// run runs the refresh steps (whose own requests trigger no refresh).
func (rf *refresh) run(ctx context.Context, u *UserContext) error {
	err := rf.fn(ctx, u)
	st := u.stepState()
	st.refreshed, st.started = u.now(), true
	return err
}

// failCheck is one entry of a request's fail_if.
type failCheck struct {
	cond *cond
	msg  []tnode // nil: "fail_if: " and the condition
}

var failIfKeys = []string{"condition", "message"}

// failIf reads a request's fail_if: {condition: C, message: M} or a list
// of them.
func (p *parser) failIf(n *yaml.Node, path string) ([]*failCheck, error) {
	rn := resolve(n)
	if rn != nil && rn.Kind == yaml.SequenceNode {
		if len(rn.Content) == 0 {
			return nil, p.errf(n, path, "expected {condition: ..., message: ...} or a list of them")
		}
		var out []*failCheck
		for i, it := range rn.Content {
			fc, err := p.failCheck(it, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, fc)
		}
		return out, nil
	}
	fc, err := p.failCheck(n, path)
	if err != nil {
		return nil, err
	}
	return []*failCheck{fc}, nil
}

func (p *parser) failCheck(n *yaml.Node, path string) (*failCheck, error) {
	fc := &failCheck{}
	err := p.fields(n, path, failIfKeys, func(key string, v *yaml.Node, path string) (err error) {
		if key == "condition" {
			fc.cond, err = p.condition(v, path)
			return err
		}
		s, err := p.str(v, path)
		if err != nil {
			return err
		}
		if s == "" {
			return p.errf(v, path, "must not be empty")
		}
		if fc.msg, err = parseTemplate(s, p.env); err != nil {
			return p.errf(v, path, "%v", err)
		}
		for _, nd := range fc.msg {
			if nd.ex != nil {
				p.cls.refs = append(p.cls.refs, tref{ex: nd.ex, node: v, path: path})
			}
		}
		return nil
	})
	if err == nil && fc.cond == nil {
		err = p.errf(n, path+".condition", "required")
	}
	return fc, err
}

// attachFailIf gives r its fail_if checks, through its template (made if r
// has none).
func attachFailIf(r *Request, t *reqTemplate, fcs []*failCheck) *reqTemplate {
	if fcs == nil {
		return t
	}
	if t == nil {
		t = &reqTemplate{}
		r.tpl = t
	}
	t.failIf = fcs
	return t
}

// failIf runs a request's fail_if after its checks and extractions passed:
// the first condition that holds fails the request with its message.
func (u *UserContext) failIf(fcs []*failCheck) error {
	for _, fc := range fcs {
		if fc.cond.holds(u) {
			return &CheckError{Check: "fail_if", Msg: u.failMessage(fc)}
		}
	}
	return nil
}

// failMessage renders a fail_if message; an expression without a value
// is written as it is, ${name}.
func (u *UserContext) failMessage(fc *failCheck) string {
	if fc.msg == nil {
		return "fail_if: " + fc.cond.src
	}
	v := &u.vars
	start := len(v.gen)
	for _, n := range fc.msg {
		if n.ex == nil {
			v.gen = append(v.gen, n.lit...)
			continue
		}
		m := len(v.gen)
		val, err := u.eval(n.ex)
		switch {
		case err != nil:
			v.gen = append(v.gen[:m], "${"+n.ex.src+"}"...)
		case len(v.gen) == m:
			v.gen = append(v.gen, val...)
		}
	}
	msg := string(v.gen[start:])
	v.gen = v.gen[:start]
	return msg
}
