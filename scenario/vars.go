package scenario

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// varScope is a class's table of plain variables (the names "${name}" can
// refer to): each has a slot in every user's values. A name is declared by
// the class's vars (and the scenario's), by an extract of one of its
// requests, or by a column of its data set. It is built once per class and
// read-only afterwards.
type varScope struct {
	names  []string
	index  map[string]int
	def    []string // the vars default per slot (valid where hasDef)
	hasDef []bool
	column []int    // the column of the class's data set with the slot's name, -1 if none
	setBy  []string // the requests that extract the slot's name ("POST /login"), for messages
}

func newVarScope() *varScope { return &varScope{index: map[string]int{}} }

// slot returns name's slot, adding it if new.
func (s *varScope) slot(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	i := len(s.names)
	s.index[name] = i
	s.names = append(s.names, name)
	s.def = append(s.def, "")
	s.hasDef = append(s.hasDef, false)
	s.column = append(s.column, -1)
	s.setBy = append(s.setBy, "")
	return i
}

// declare adds a vars default.
func (s *varScope) declare(name, value string) {
	i := s.slot(name)
	s.def[i], s.hasDef[i] = value, true
}

// extractedBy records that the request desc extracts name.
func (s *varScope) extractedBy(name, desc string) {
	i := s.slot(name)
	if s.setBy[i] == "" {
		s.setBy[i] = desc
	} else if !strings.Contains(s.setBy[i], desc) && len(s.setBy[i]) < 200 {
		s.setBy[i] += ", " + desc
	}
}

// bindColumns links the slots named as columns of d.
func (s *varScope) bindColumns(d *DataSet) {
	for i, name := range s.names {
		s.column[i] = -1
		if d != nil {
			if c, ok := d.colIndex[name]; ok {
				s.column[i] = c
			}
		}
	}
}

// scopeForVars builds the scope of a class given in Go: its Vars and the
// columns of its Data (a YAML class brings its own scope).
func scopeForVars(vars map[string]string, d *DataSet) *varScope {
	s := newVarScope()
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		s.declare(k, vars[k])
	}
	if d != nil {
		for _, c := range d.cols {
			s.slot(c)
		}
	}
	s.bindColumns(d)
	return s
}

// varVal is one slot of a user's variables. b is the value: the user's own
// copy in buf once set at run time, else a shared read-only default.
type varVal struct {
	b   []byte
	buf []byte
	set bool
}

// userVars is a user's variables: the slots of its class's scope, names
// set from Go that the scope lacks, its data row, and the counters the
// built-ins read.
type userVars struct {
	scope *varScope
	vals  []varVal
	extra map[string]string
	row   Row
	iter  int64 // user.iteration: 0 in on_start, then 1, 2, ... per task
	place Placement
	gen   []byte // generated values of the request being rendered, or extracted ones
	ends  []int  // extractAll: where each value ends in gen
}

// init sets the user's values from its class: the row's column, else the
// override of a declared var, else the vars default; other slots are unset.
func (v *userVars) init(scope *varScope, row Row, overrides map[string]string) {
	v.scope, v.row = scope, row
	if scope == nil {
		return
	}
	v.vals = make([]varVal, len(scope.names))
	for i, name := range scope.names {
		switch c := scope.column[i]; {
		case c >= 0 && row.set != nil:
			v.vals[i] = varVal{b: row.cell(c), set: true}
		case scope.hasDef[i]:
			s, ok := overrides[name]
			if !ok {
				s = scope.def[i]
			}
			v.vals[i] = varVal{b: []byte(s), set: true}
		}
	}
}

// setBytes sets slot i to a copy of b.
func (v *userVars) setBytes(i int, b []byte) {
	vv := &v.vals[i]
	vv.buf = append(vv.buf[:0], b...)
	vv.b, vv.set = vv.buf, true
}

// Var returns the value of the user's variable name: extracted by one of
// its requests or set with SetVar, else its data row's column of that name,
// else the vars default (as overridden on the command line or by the
// master). ok is false if it has none.
func (u *UserContext) Var(name string) (value string, ok bool) {
	v := &u.vars
	if v.scope != nil {
		if i, found := v.scope.index[name]; found && v.vals[i].set {
			return string(v.vals[i].b), true
		}
	}
	value, ok = v.extra[name]
	return value, ok
}

// SetVar sets the user's variable name, as an extract would: YAML
// templates of the user's class see it as ${name}, and it lasts until the
// user stops.
func (u *UserContext) SetVar(name, value string) {
	if tr := u.tracing(); tr != nil {
		tr.setVar(u, name, value)
	}
	u.setVar(name, value)
}

func (u *UserContext) setVar(name, value string) {
	v := &u.vars
	if v.scope != nil {
		if i, ok := v.scope.index[name]; ok {
			vv := &v.vals[i]
			vv.buf = append(vv.buf[:0], value...)
			vv.b, vv.set = vv.buf, true
			return
		}
	}
	if v.extra == nil {
		v.extra = map[string]string{}
	}
	v.extra[name] = value
}

// Row returns the user's data row (Row.Valid is false if its class has no
// data set).
func (u *UserContext) Row() Row { return u.vars.row }

// Placement returns the worker's place in the cluster when the user
// started (see Runner.SetPlacement).
func (u *UserContext) Placement() Placement { return u.vars.place }

// Iteration returns the number of tasks the user has started: 0 during
// on_start, 1 in its first task (the template's ${user.iteration}).
func (u *UserContext) Iteration() int64 { return u.vars.iter }

// errUnset is the failure of a template that uses a variable without a
// value.
func (v *userVars) errUnset(ex *texpr) error {
	msg := fmt.Sprintf("variable %q is not set", ex.name)
	if v.scope != nil && ex.slot < len(v.scope.setBy) && v.scope.setBy[ex.slot] != "" {
		msg += " (it is extracted by " + v.scope.setBy[ex.slot] + ", which has not succeeded for this user yet)"
	}
	return &TemplateValueError{Expr: ex.src, Msg: msg}
}

// TemplateValueError is the failure of a request whose template could not
// be rendered for the user: a variable without a value, or a value that
// cannot go where the template puts it.
type TemplateValueError struct {
	Expr string // the expression, e.g. "token" or "row.email"
	Msg  string
}

func (e *TemplateValueError) Error() string { return "template ${" + e.Expr + "}: " + e.Msg }

// eval returns the value of ex for user u. Generated values (numbers,
// UUIDs) are appended to v.gen, which the caller resets per request; the
// values of variables and rows are returned without copying.
func (u *UserContext) eval(ex *texpr) ([]byte, error) {
	v := &u.vars
	start := len(v.gen)
	switch ex.kind {
	case exVar:
		if v.scope == nil || ex.slot >= len(v.vals) || !v.vals[ex.slot].set {
			if s, ok := v.extra[ex.name]; ok && (s != "" || !ex.hasDef) {
				return []byte(s), nil
			}
			if ex.hasDef {
				return ex.def, nil
			}
			return nil, v.errUnset(ex)
		}
		if b := v.vals[ex.slot].b; len(b) > 0 || !ex.hasDef {
			return b, nil
		}
		return ex.def, nil
	case exRow:
		if v.row.set == nil {
			if ex.hasDef {
				return ex.def, nil
			}
			return nil, &TemplateValueError{Expr: ex.src, Msg: "the user has no data row"}
		}
		c, ok := v.row.set.colIndex[ex.name]
		if !ok {
			if ex.hasDef {
				return ex.def, nil
			}
			return nil, &TemplateValueError{Expr: ex.src, Msg: fmt.Sprintf("the data set %s has no column %q", v.row.set.Name, ex.name)}
		}
		if b := v.row.cell(c); len(b) > 0 || !ex.hasDef {
			return b, nil
		}
		return ex.def, nil
	case exUserID:
		v.gen = strconv.AppendInt(v.gen, u.ID, 10)
	case exUserIter:
		v.gen = strconv.AppendInt(v.gen, v.iter, 10)
	case exWorkerIndex:
		v.gen = strconv.AppendInt(v.gen, int64(v.place.Index), 10)
	case exWorkerCount:
		v.gen = strconv.AppendInt(v.gen, int64(v.place.Count), 10)
	case exUUID:
		v.gen = appendUUID(v.gen, u.Rand.Uint64(), u.Rand.Uint64())
	case exRandInt:
		n := int64(u.Rand.Uint64()) // the whole int64 range
		if span := uint64(ex.hi - ex.lo); span < 1<<64-1 {
			n = ex.lo + int64(u.Rand.Uint64N(span+1))
		}
		v.gen = strconv.AppendInt(v.gen, n, 10)
	case exChoice:
		v.gen = append(v.gen, ex.choices[u.Rand.IntN(len(ex.choices))]...)
	case exTime:
		v.gen = strconv.AppendInt(v.gen, u.now().Unix(), 10)
	case exTimeMs:
		v.gen = strconv.AppendInt(v.gen, u.now().UnixMilli(), 10)
	case exBasicAuth:
		return u.evalBasicAuth(ex)
	case exRespStatus:
		v.gen = strconv.AppendInt(v.gen, int64(u.LastStatus()), 10)
	default:
		if !u.evalFake(ex) {
			return nil, &TemplateValueError{Expr: ex.src, Msg: "cannot be evaluated"}
		}
	}
	return v.gen[start:], nil
}

// appendUUID appends a version 4 (random) UUID made of hi and lo.
func appendUUID(b []byte, hi, lo uint64) []byte {
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], raw[10:16])
	return append(b, out[:]...)
}
