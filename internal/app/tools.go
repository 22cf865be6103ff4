package app

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/glocust/glocust/internal/scenariotool"
	"github.com/glocust/glocust/scenario"
)

// toolFlags are the flags of "glocust check" and "glocust locustfile".
type toolFlags struct {
	files  []string
	vars   map[string]string
	output string
}

// parseToolFlags parses a tool's arguments; a usage error (or -h) returns
// the exit code to return (2, or 0 for -h) with ok false.
func parseToolFlags(cmd, usage string, args []string, withOutput bool, stdout, stderr io.Writer) (tf toolFlags, code int, ok bool) {
	fs := flag.NewFlagSet("glocust "+cmd, flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = func() {
		fmt.Fprintf(&out, "Usage: glocust %s\n\n", usage)
		fs.PrintDefaults()
	}
	files := func(v string) error {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				tf.files = append(tf.files, f)
			}
		}
		return nil
	}
	fs.Func("f", "the YAML scenario (several: a comma-separated list or -f again)", files)
	fs.Func("locustfile", "the same as -f", files)
	fs.Func("var", "`name=value`: set a variable the scenario declares (again for more)", func(v string) error {
		name, val, found := strings.Cut(v, "=")
		if !found || name == "" {
			return fmt.Errorf("%q is not <name>=<value>", v)
		}
		if tf.vars == nil {
			tf.vars = map[string]string{}
		}
		tf.vars[name] = val
		return nil
	})
	if withOutput {
		fs.StringVar(&tf.output, "o", "-", "the `file` to write (- for standard output)")
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		stdout.Write(out.Bytes())
		return tf, 0, false
	case err != nil:
		stderr.Write(out.Bytes())
		return tf, 2, false
	case fs.NArg() > 0:
		fs.Usage()
		fmt.Fprintf(stderr, "%sglocust %s: error: unexpected argument %q\n", out.String(), cmd, fs.Arg(0))
		return tf, 2, false
	case len(tf.files) == 0:
		fs.Usage()
		fmt.Fprintf(stderr, "%sglocust %s: error: give the scenario with -f scenario.yaml\n", out.String(), cmd)
		return tf, 2, false
	}
	return tf, 0, true
}

// checkCmd is "glocust check -f scenario.yaml [--var name=value ...]": it
// validates the scenario as a worker loads it, printing every error (exit
// code 1) or what each class does (0).
func checkCmd(args, env []string, stdout, stderr io.Writer) int {
	tf, code, ok := parseToolFlags("check", "check -f scenario.yaml [--var name=value ...]", args, false, stdout, stderr)
	if !ok {
		return code
	}
	return scenariotool.Check(stdout, stderr, tf.files, tf.vars, scenario.WithEnv(env), scenario.ReservedVars(locustOptionNames()...))
}

// locustfileCmd is "glocust locustfile -f scenario.yaml [-o locustfile.py]":
// it writes the Python locustfile of the scenario's classes for a Python
// Locust master.
func locustfileCmd(args, env []string, stdout, stderr io.Writer) int {
	tf, code, ok := parseToolFlags("locustfile", "locustfile -f scenario.yaml [-o locustfile.py]", args, true, stdout, stderr)
	if !ok {
		return code
	}
	if len(tf.files) != 1 {
		fmt.Fprintln(stderr, "glocust locustfile: error: give one scenario (-f): it makes one locustfile")
		return 2
	}
	if len(tf.vars) > 0 {
		fmt.Fprintln(stderr, "glocust locustfile: error: --var is for check and runs; the locustfile declares every variable with its default")
		return 2
	}
	// As a master parses it: ${env.NAME} need not be set, data is not read.
	o, err := scenariotool.Load(tf.files[0], scenario.WithEnv(env), scenario.ReservedVars(locustOptionNames()...), scenario.ForMaster())
	if err != nil {
		var pes scenario.ParseErrors
		if errors.As(err, &pes) {
			for _, pe := range pes {
				fmt.Fprintln(stderr, pe.Long())
			}
		} else {
			fmt.Fprintln(stderr, "glocust locustfile:", err)
		}
		return 1
	}
	var buf bytes.Buffer
	if err := scenariotool.WriteLocustfile(&buf, o); err != nil {
		fmt.Fprintln(stderr, "glocust locustfile:", err)
		return 1
	}
	if tf.output == "-" {
		stdout.Write(buf.Bytes())
		return 0
	}
	if err := os.WriteFile(tf.output, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(stderr, "glocust locustfile:", err)
		return 1
	}
	fmt.Fprintf(stderr, "glocust locustfile: wrote %s (%d user classes) from %s\n", tf.output, len(o.Classes), tf.files[0])
	return 0
}
