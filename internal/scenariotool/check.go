package scenariotool

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/glocust/glocust/scenario"
)

// Check validates scenario files as a worker would load them (opts are
// the parse options, setVars the --var values) and writes every error to
// errw, one a line as "file:line:col: key.path: message". When there is
// none it writes to w what each class does. It returns the exit code: 0
// when the files are fine, 1 when not.
func Check(w, errw io.Writer, files []string, setVars map[string]string, opts ...scenario.ParseOption) int {
	var outlines []*Outline
	nerr := 0
	report := func(err error) {
		var pes scenario.ParseErrors
		var pe *scenario.ParseError
		switch {
		case errors.As(err, &pes):
			for _, e := range pes {
				fmt.Fprintln(errw, e.Long())
			}
			nerr += len(pes)
		case errors.As(err, &pe):
			fmt.Fprintln(errw, pe.Long())
			nerr++
		default:
			fmt.Fprintln(errw, err)
			nerr++
		}
	}
	for _, f := range files {
		o, err := Load(f, opts...)
		if err != nil {
			report(err)
			continue
		}
		if o.Scenario.ShapeErr != nil { // the master (this program) could not run the shape
			report(o.Scenario.ShapeErr)
		}
		outlines = append(outlines, o)
	}
	if nerr == 0 {
		declared := map[string]bool{}
		seen := map[string]string{}
		for _, o := range outlines {
			for _, c := range o.Classes {
				for k := range c.Vars {
					declared[k] = true
				}
				if f, dup := seen[c.Name]; dup {
					report(fmt.Errorf("%s: user class %q is also defined in %s", o.File, c.Name, f))
				}
				seen[c.Name] = o.File
			}
		}
		for _, k := range slices.Sorted(maps.Keys(setVars)) {
			if !declared[k] {
				report(fmt.Errorf("--var %s: the scenario declares no variable %s (declared: %s)", k, k,
					strings.Join(slices.Sorted(maps.Keys(declared)), ", ")))
			}
		}
	}
	if nerr > 0 {
		s := "s"
		if nerr == 1 {
			s = ""
		}
		fmt.Fprintf(errw, "%d error%s\n", nerr, s)
		return 1
	}
	for _, o := range outlines {
		writeSummary(w, o, setVars)
	}
	return 0
}

// writeSummary writes what the classes of a checked scenario do.
func writeSummary(w io.Writer, o *Outline, setVars map[string]string) {
	var b strings.Builder
	s := "es"
	if len(o.Classes) == 1 {
		s = ""
	}
	fmt.Fprintf(&b, "%s: OK, %d user class%s\n", o.File, len(o.Classes), s)
	if o.Host != "" {
		fmt.Fprintf(&b, "host: %s\n", o.Host)
	}
	if len(o.Vars) > 0 {
		b.WriteString("vars:\n")
		writeVars(&b, "  ", o.Vars, setVars)
	}
	if o.Scenario.Seed != nil {
		fmt.Fprintf(&b, "seed: %d\n", *o.Scenario.Seed)
	}
	for _, c := range o.Classes {
		b.WriteString("\nclass " + c.Name + ":")
		if c.FixedCount > 0 {
			fmt.Fprintf(&b, " fixed_count %d", c.FixedCount)
		} else {
			fmt.Fprintf(&b, " weight %d", c.Weight)
		}
		if c.Sequential {
			b.WriteString(", sequential")
		}
		b.WriteString("\n")
		host := c.Host
		switch {
		case host == "" && o.Host != "":
			host = o.Host + " (top level)"
		case host == "":
			host = "none (give -H)"
		}
		fmt.Fprintf(&b, "  host: %s\n", host)
		fmt.Fprintf(&b, "  wait_time: %s\n", waitString(c.Wait))
		if len(c.OwnVars) > 0 {
			b.WriteString("  vars:\n")
			writeVars(&b, "    ", c.OwnVars, setVars)
		}
		if c.Data != nil {
			fmt.Fprintf(&b, "  data: %s, %d rows, mode %s, columns %s\n", c.Data.Name, c.Data.Len(), c.Data.Mode, strings.Join(c.Data.Columns(), ", "))
		}
		writeHook(&b, "  ", "on_start", c.OnStart, c.Class.OnStart != nil)
		writeHook(&b, "  ", "on_stop", c.OnStop, c.Class.OnStop != nil)
		if rf := c.Refresh; rf != nil {
			var parts []string
			if len(rf.OnStatus) > 0 {
				parts = append(parts, "on_status "+joinInts(rf.OnStatus))
			}
			if rf.Every > 0 {
				parts = append(parts, "every "+rf.Every.String())
			}
			if rf.OnStart {
				parts = append(parts, "steps on_start")
			}
			if rf.Retry {
				parts = append(parts, "retry")
			}
			fmt.Fprintf(&b, "  refresh: %s\n", strings.Join(parts, ", "))
			writeSteps(&b, "    ", rf.Steps)
		}
		writeTasks(&b, "  ", c.Tasks, c.Sequential)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// writeTasks writes a class's or group's tasks, a group's own tasks
// indented under it.
func writeTasks(b *strings.Builder, indent string, tasks []Task, sequential bool) {
	total := 0
	for _, t := range tasks {
		total += t.Weight
	}
	how := ""
	if sequential {
		how = "in order, "
	}
	fmt.Fprintf(b, "%stasks (%stotal weight %d):\n", indent, how, total)
	in := indent + "  "
	for _, t := range tasks {
		kind := ""
		switch {
		case t.Group != nil:
			kind = " group"
		case t.Interrupt:
			kind = " interrupt"
		}
		fmt.Fprintf(b, "%s%s%s: weight %d, %s%%", in, strconv.Quote(t.Name), kind, t.Weight, percent(t.Weight, total))
		if len(t.Tags) > 0 {
			fmt.Fprintf(b, ", tags %s", strings.Join(t.Tags, ", "))
		}
		if g := t.Group; g != nil {
			if g.Sequential {
				b.WriteString(", sequential")
			}
			if g.Iterations > 0 {
				fmt.Fprintf(b, ", iterations %d", g.Iterations)
			}
		}
		if t.Interrupt {
			b.WriteString(", leaves the group")
		}
		b.WriteString("\n")
		if g := t.Group; g != nil {
			if g.Wait != nil {
				fmt.Fprintf(b, "%s  wait_time: %s\n", in, waitString(g.Wait))
			}
			writeHook(b, in+"  ", "on_start", g.OnStart, g.TaskGroup.OnStart != nil)
			writeHook(b, in+"  ", "on_stop", g.OnStop, g.TaskGroup.OnStop != nil)
			writeTasks(b, in+"  ", g.Tasks, g.Sequential)
			continue
		}
		writeSteps(b, in+"  ", t.Steps)
	}
}

// writeSteps writes steps one a line, a repeat's steps indented under it.
func writeSteps(b *strings.Builder, indent string, steps []Step) {
	for _, s := range steps {
		b.WriteString(indent)
		switch {
		case s.If != "":
			b.WriteString("if " + s.If + ": ")
		case s.Unless != "":
			b.WriteString("unless " + s.Unless + ": ")
		}
		switch {
		case s.Request != nil:
			b.WriteString(requestString(*s.Request))
		case s.Think != nil:
			if s.Think.Hi > s.Think.Lo {
				fmt.Fprintf(b, "think between %v and %v", s.Think.Lo, s.Think.Hi)
			} else {
				fmt.Fprintf(b, "think %v", s.Think.Lo)
			}
		default:
			b.WriteString("repeat " + s.Repeat + " times")
			if s.As != "" {
				b.WriteString(" as " + s.As)
			}
			b.WriteString(":")
		}
		b.WriteString("\n")
		writeSteps(b, indent+"  ", s.Steps)
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func writeVars(b *strings.Builder, indent string, vars []scenario.Var, setVars map[string]string) {
	for _, v := range vars {
		fmt.Fprintf(b, "%s%s = %s", indent, v.Name, strconv.Quote(v.Default))
		if x, ok := setVars[v.Name]; ok {
			fmt.Fprintf(b, " (--var: %s)", strconv.Quote(x))
		}
		b.WriteString("\n")
	}
}

func writeHook(b *strings.Builder, indent, key string, steps []Step, set bool) {
	if !set {
		return
	}
	n := len(flatten(steps, nil))
	fmt.Fprintf(b, "%s%s: %d request", indent, key, n)
	if n != 1 {
		b.WriteString("s")
	}
	b.WriteString("\n")
	writeSteps(b, indent+"  ", steps)
}

func percent(w, total int) string {
	if total == 0 {
		return "0"
	}
	return strconv.FormatFloat(100*float64(w)/float64(total), 'f', 1, 64)
}

// waitString writes a wait_time as Locust's function call.
func waitString(w *Wait) string {
	if w == nil {
		return "none (no pause between tasks)"
	}
	args := make([]string, len(w.Args))
	for i, a := range w.Args {
		args[i] = strconv.FormatFloat(a, 'g', -1, 64)
	}
	return w.Kind + "(" + strings.Join(args, ", ") + ")"
}

// requestString is "METHOD path [name "n"]" and what else the request has.
func requestString(r Request) string {
	var b strings.Builder
	b.WriteString(r.Method + " " + r.Path)
	if len(r.Query) > 0 {
		sep := "?"
		if strings.Contains(r.Path, "?") {
			sep = "&"
		}
		for _, kv := range r.Query {
			b.WriteString(sep + kv[0] + "=" + kv[1])
			sep = "&"
		}
	}
	if r.Name != "" {
		b.WriteString(" as " + strconv.Quote(r.Name))
	}
	var more []string
	switch {
	case r.JSON != nil:
		more = append(more, "json body")
	case r.Files:
		more = append(more, "multipart body")
	case r.Form != nil:
		more = append(more, "form body")
	case r.Body != nil:
		more = append(more, "body")
	case r.BodyFile != "":
		more = append(more, "body from "+r.BodyFile)
	}
	if r.Checks {
		more = append(more, "checks")
	}
	if r.Extras {
		more = append(more, "extracts")
	}
	for _, f := range r.FailIf {
		more = append(more, "fail_if "+f)
	}
	if len(more) > 0 {
		b.WriteString(" (" + strings.Join(more, ", ") + ")")
	}
	return b.String()
}
