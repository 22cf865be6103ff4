package config

import (
	"errors"
	"regexp"
	"sort"
	"strings"
)

// commandLine is what parseCommandLine found.
type commandLine struct {
	occs        []setting // options in command-line order
	positionals []string  // user classes; nil when none
	config      string    // the last --config value
	help        bool
	version     bool
}

// token is one argument classified the way argparse classifies it.
type token struct {
	arg      string
	op       *option // the option, when isOpt and known
	name     string  // the option string that matched
	explicit *string // value attached with "=" or to a short option
	isOpt    bool    // looks like an option ('O' in argparse); else a value ('A')
	dashdash bool    // the first "--": it ends options
}

var negativeNumber = regexp.MustCompile(`^-\d+$|^-\d*\.\d+$`)

// classify mirrors argparse's _parse_optional: exact option strings, then
// "name=value", then unique prefixes of long options and "-uVALUE" forms.
// Negative numbers and strings with spaces are values.
func classify(arg string) (token, error) {
	t := token{arg: arg}
	if arg == "" || arg[0] != '-' {
		return t, nil
	}
	if op := byName[arg]; op != nil {
		t.isOpt, t.op, t.name = true, op, arg
		return t, nil
	}
	if len(arg) == 1 {
		return t, nil
	}
	if name, val, ok := strings.Cut(arg, "="); ok {
		if op := byName[name]; op != nil {
			t.isOpt, t.op, t.name, t.explicit = true, op, name, &val
			return t, nil
		}
	}
	type match struct {
		name     string
		explicit *string
	}
	var matches []match
	if strings.HasPrefix(arg, "--") {
		prefix, val, hasVal := strings.Cut(arg, "=")
		for _, n := range allNames {
			if strings.HasPrefix(n, prefix) {
				m := match{name: n}
				if hasVal {
					v := val
					m.explicit = &v
				}
				matches = append(matches, m)
			}
		}
	} else {
		short, rest := arg[:2], arg[2:]
		for _, n := range allNames {
			if n == short {
				r := rest
				matches = append(matches, match{name: n, explicit: &r})
			} else if strings.HasPrefix(n, arg) {
				matches = append(matches, match{name: n})
			}
		}
	}
	switch {
	case len(matches) > 1:
		names := make([]string, len(matches))
		for i, m := range matches {
			names[i] = m.name
		}
		return t, usageErr("ambiguous option: %s could match %s", strings.SplitN(arg, "=", 2)[0], strings.Join(names, ", "))
	case len(matches) == 1:
		t.isOpt, t.op, t.name, t.explicit = true, byName[matches[0].name], matches[0].name, matches[0].explicit
		return t, nil
	}
	if negativeNumber.MatchString(arg) || strings.Contains(arg, " ") {
		return t, nil
	}
	t.isOpt = true // an unknown option
	return t, nil
}

// parseCommandLine splits args into options and positionals like argparse:
// options may come in any order; the user classes must be one run of
// positionals (a second run is "unrecognized"); "--" ends the options.
// It stops at -h or -V, as argparse exits there.
func parseCommandLine(args []string) (*commandLine, error) {
	toks := make([]token, len(args))
	afterDD := false
	for i, a := range args {
		switch {
		case afterDD:
			toks[i] = token{arg: a}
		case a == "--":
			toks[i] = token{arg: a, dashdash: true}
			afterDD = true
		default:
			t, err := classify(a)
			if err != nil {
				return nil, err
			}
			toks[i] = t
		}
	}

	cl := &commandLine{}
	var extras []string
	positionalsDone := false
	isValue := func(t token) bool { return !t.isOpt && !t.dashdash }
	for i := 0; i < len(toks); {
		t := toks[i]
		if !t.isOpt {
			j := i
			var run []string
			for j < len(toks) && !toks[j].isOpt {
				if !toks[j].dashdash {
					run = append(run, toks[j].arg)
				}
				j++
			}
			if positionalsDone {
				extras = append(extras, run...)
			} else {
				positionalsDone = true
				if len(run) > 0 {
					cl.positionals = run
				}
			}
			i = j
			continue
		}
		if t.op == nil {
			extras = append(extras, t.arg)
			i++
			continue
		}
		i++
		for op, name, explicit := t.op, t.name, t.explicit; ; {
			switch op.special {
			case specialHelp:
				cl.help = true
				return cl, nil
			case specialVersion:
				cl.version = true
				return cl, nil
			}
			if op.reject != "" {
				return nil, op.rejected()
			}
			s := setting{op: op, name: name, on: true}
			switch {
			case op.arity == arityFlag && explicit != nil:
				// -lV: a short flag followed by more short options.
				next := "-" + (*explicit)[:min(1, len(*explicit))]
				nop := byName[next]
				if len(name) != 2 || name[1] == '-' || *explicit == "" || nop == nil {
					return nil, argErr(op, errors.New("ignored explicit argument '"+*explicit+"'"))
				}
				cl.occs = append(cl.occs, s)
				rest := (*explicit)[1:]
				op, name, explicit = nop, next, nil
				if rest != "" {
					explicit = &rest
				}
				continue
			case op.arity == arityFlag:
			case explicit != nil:
				s.vals = []string{*explicit}
			case op.arity == arityOne:
				if i >= len(toks) || !isValue(toks[i]) {
					return nil, argErr(op, errors.New("expected one argument"))
				}
				s.vals = []string{toks[i].arg}
				i++
			default: // arityMany: every following value
				s.vals = []string{}
				for i < len(toks) && isValue(toks[i]) {
					s.vals = append(s.vals, toks[i].arg)
					i++
				}
			}
			if op.special == specialConfig {
				cl.config = s.vals[0]
			}
			cl.occs = append(cl.occs, s)
			break
		}
	}
	if len(extras) > 0 {
		return nil, unrecognized(extras)
	}
	return cl, nil
}

// KnownEnv returns every environment variable name glocust reads: the options'
// LOCUST_* (and GLOCUST_*) names plus the few that are not options.
func KnownEnv() []string {
	var out []string
	for _, op := range options {
		if op.env != "" {
			out = append(out, op.env)
		}
	}
	for _, e := range envOnly {
		out = append(out, e.env)
	}
	out = append(out, otherEnv...)
	sort.Strings(out)
	return out
}

// UnknownEnv returns the names of LOCUST_* and GLOCUST_* variables in env that
// neither Locust nor glocust reads, sorted. Locust ignores them silently (so
// does Parse); manifest tests use this to catch misspellings.
func UnknownEnv(env []string) []string {
	known := map[string]bool{}
	for _, k := range KnownEnv() {
		known[k] = true
	}
	var out []string
	for k := range envToMap(env) {
		if (strings.HasPrefix(k, "LOCUST_") || strings.HasPrefix(k, "GLOCUST_")) && !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// SuggestEnv returns the known variable closest to an unknown name, or "".
func SuggestEnv(name string) string { return closestMatch(name, KnownEnv()) }
