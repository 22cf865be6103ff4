package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Parser parses options with injectable file access. The zero Parser reads
// files with os.ReadFile and skips ~/.locust.conf.
type Parser struct {
	// ReadFile reads config files (and --config-users .json files); nil means
	// os.ReadFile. Relative names are relative to the working directory.
	ReadFile func(name string) ([]byte, error)
	// HomeDir is where ~/.locust.conf is looked up; "" skips it.
	HomeDir string
	// NoDefaultConfigFiles skips ./locust.conf, ~/.locust.conf and the
	// pyproject.toml check; only --config is read.
	NoDefaultConfigFiles bool
}

// Parse parses a command line (without the program name) and an environment
// ("KEY=value" entries, as os.Environ returns) with Locust's precedence:
// command line > environment > config files > defaults. It reads ./locust.conf,
// ~/.locust.conf and any --config file.
//
// With -h/--help or -V/--version it returns the defaults with Help or
// ShowVersion set, reading nothing else. Errors are *Error values; ExitCode maps them to exit codes.
func Parse(args, env []string) (*Options, error) {
	home, _ := os.UserHomeDir()
	return (&Parser{HomeDir: home}).Parse(args, env)
}

// Parse is the package-level Parse with p's file access.
func (p *Parser) Parse(args, env []string) (*Options, error) {
	cl, err := parseCommandLine(args)
	if err != nil {
		return nil, err
	}
	if cl.help || cl.version {
		o := defaults()
		o.Help, o.ShowVersion = cl.help, cl.version
		return o, nil
	}
	o := defaults()
	envMap := envToMap(env)

	// Settings from each source, highest precedence first; a source only sets
	// options no higher source has set.
	taken := map[*option]bool{}
	for _, oc := range cl.occs {
		taken[oc.op] = true
	}
	envSets, err := envSettings(envMap, taken)
	if err != nil {
		return nil, err
	}
	confSets, err := p.configSettings(cl, o, taken)
	if err != nil {
		return nil, err
	}

	// Apply lowest precedence first; each option appears in one source only.
	for i := len(confSets) - 1; i >= 0; i-- {
		if err := apply(o, confSets[i], SourceConfigFile); err != nil {
			return nil, err
		}
	}
	if err := apply(o, envSets, SourceEnv); err != nil {
		return nil, err
	}
	if err := apply(o, cl.occs, SourceCommandLine); err != nil {
		return nil, err
	}

	switch {
	case cl.positionals != nil:
		o.UserClasses = cl.positionals
		o.sources["user-classes"] = SourceCommandLine
	case len(strings.Fields(envMap[userClassesEnv])) > 0:
		o.UserClasses = strings.Fields(envMap[userClassesEnv])
		o.sources["user-classes"] = SourceEnv
	}
	for _, e := range envOnly {
		if v, ok := envMap[e.env]; ok {
			if err := e.set(o, v); err != nil {
				return nil, &Error{Msg: fmt.Sprintf("%s: %v", e.env, err), Code: 1}
			}
		}
	}
	if err := validateConfigUsers(o.ConfigUsers, p.readFile); err != nil {
		return nil, argErr(byName["--config-users"], err)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return o, nil
}

func (p *Parser) readFile(name string) ([]byte, error) {
	if p.ReadFile != nil {
		return p.ReadFile(name)
	}
	return os.ReadFile(name)
}

// setting is one option given a value by some source.
type setting struct {
	op   *option
	name string   // how the source named it (option string, env var or config key)
	vals []string // nil for a flag set to true on the command line
	on   bool     // the flag's value
}

func apply(o *Options, sets []setting, src Source) error {
	for _, s := range sets {
		op := s.op
		if op.reject != "" {
			return op.rejected()
		}
		switch op.arity {
		case arityFlag:
			op.flag(o, s.on)
		case arityOne:
			if err := op.one(o, s.vals[0]); err != nil {
				return argErr(op, err)
			}
		case arityMany:
			if err := op.many(o, s.vals); err != nil {
				return argErr(op, err)
			}
		}
		o.sources[op.key()] = src
		if op.noEffect && (op.arity != arityFlag || s.on) {
			o.Warnings = append(o.Warnings, fmt.Sprintf("%s is accepted for compatibility with Locust but has no effect in glocust", op.names[len(op.names)-1]))
		}
	}
	return nil
}

// envToMap turns KEY=value entries into a map; a later duplicate wins.
func envToMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// envSettings reads every option's environment variable, unless the option is
// on the command line. Values are read the way configargparse reads them.
func envSettings(env map[string]string, taken map[*option]bool) ([]setting, error) {
	var out []setting
	for _, op := range options {
		v, ok := env[op.env]
		if op.env == "" || !ok || taken[op] {
			continue
		}
		s, skip, err := fromText(op, op.env, v, nil)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		taken[op] = true
		out = append(out, s)
	}
	return out, nil
}

// fromText converts an environment or config-file value. list is the value
// already split by the config-file parser, if it was a list.
func fromText(op *option, name, v string, list []string) (s setting, skip bool, err error) {
	s = setting{op: op, name: name}
	if op.reject != "" {
		return s, false, op.rejected()
	}
	switch op.arity {
	case arityFlag:
		if list != nil {
			return s, false, usageErr("%s can't be set to a list", name)
		}
		on, ok := parseBool(v)
		if !ok {
			return s, false, usageErr("Unexpected value for %s: '%s'. Expecting 'true', 'false', 'yes', 'no', 'on', 'off', '1' or '0'", name, v)
		}
		s.on = on
	case arityOne:
		if list != nil {
			return s, false, usageErr("%s can't be set to a list '%s'", name, v)
		}
		s.vals = []string{v}
	case arityMany:
		if list == nil && v == "" {
			return s, true, nil
		}
		if list == nil {
			if l, ok := parseList(v); ok {
				list = l
			} else {
				list = []string{v}
			}
		}
		s.vals = list
	}
	return s, false, nil
}

// configSettings reads the config files: --config, then ./locust.conf, then
// ~/.locust.conf (highest precedence first). It returns one settings list per
// file, in that order, and records the files read in o.ConfigFiles.
func (p *Parser) configSettings(cl *commandLine, o *Options, taken map[*option]bool) ([][]setting, error) {
	type file struct {
		name     string
		required bool
	}
	var files []file
	if cl.config != "" {
		files = append(files, file{cl.config, true})
	}
	if !p.NoDefaultConfigFiles {
		if b, err := p.readFile("pyproject.toml"); err == nil && tomlLocustSection.Match(b) {
			o.Warnings = append(o.Warnings, "pyproject.toml has a [tool.locust] section; glocust does not read it (use locust.conf or --config)")
		}
		files = append(files, file{"locust.conf", false})
		if p.HomeDir != "" {
			files = append(files, file{filepath.Join(p.HomeDir, ".locust.conf"), false})
		}
	}
	var out [][]setting
	for _, f := range files {
		b, err := p.readFile(f.name)
		if err != nil {
			if !f.required && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, usageErr("Unable to open config file: %s. Error: %v", f.name, err)
		}
		o.ConfigFiles = append(o.ConfigFiles, f.name)
		items, err := parseConfigFile(f.name, string(b))
		if err != nil {
			return nil, err
		}
		var sets []setting
		setHere := map[*option]bool{}
		for _, it := range items {
			op := configKey(it.key)
			if op == nil {
				return nil, unrecognized([]string{"--" + strings.TrimLeft(it.key, "-") + "=" + it.value})
			}
			if op.special == specialConfig || taken[op] {
				continue
			}
			s, skip, err := fromText(op, it.key, it.value, it.list)
			if err != nil {
				return nil, err
			}
			if !skip {
				sets = append(sets, s)
				setHere[op] = true
			}
		}
		for op := range setHere {
			taken[op] = true
		}
		out = append(out, sets)
	}
	return out, nil
}

var tomlLocustSection = regexp.MustCompile(`(?m)^\s*\[tool\.locust\]`)

// configKey finds the option a config-file key names: a long option with or
// without its leading dashes. Help and version are not settable from files.
func configKey(key string) *option {
	name := key
	if !strings.HasPrefix(name, "--") {
		name = "--" + name
	}
	op := byName[name]
	if op == nil || op.special == specialHelp || op.special == specialVersion {
		return nil
	}
	return op
}

// validate applies the checks Locust makes after parsing.
func (o *Options) validate() error {
	if o.Headful {
		o.Headless = false
	}
	if o.WebLoginFile != "" {
		o.WebLogin = true
	}
	switch {
	case o.CSVFullHistory && !o.IsSet("csv"):
		return usageErr("'--csv-full-history' requires '--csv'.")
	case o.Autoquit >= 0 && !o.Autostart:
		return &Error{Msg: "--autoquit is only meaningful in combination with --autostart", Code: 1}
	case o.Processes < -1:
		return &Error{Msg: fmt.Sprintf("Invalid --processes count %d", o.Processes), Code: 1}
	case o.Processes != 0 && o.Master:
		return &Error{Msg: "--master cannot be combined with --processes. Remove --master, as it is implicit as long as --worker is not set.", Code: 1}
	case o.Master && o.Worker:
		return &Error{Msg: "The --master argument cannot be combined with --worker", Code: 255}
	case o.WebBasePath != "" && o.WebBasePath[0] != '/' && !o.Headless && !o.Worker:
		return &Error{Msg: fmt.Sprintf("Invalid format for --web-base-path argument (%s): the url path must start with a slash.", o.WebBasePath), Code: 1}
	case o.Locustfile == "-" && !o.Worker:
		return &Error{Msg: "locustfile was set to '-' (meaning to download from master) but --worker was not specified.", Code: 1}
	}
	if o.Autostart && o.Headless {
		o.Warnings = append(o.Warnings, "The --autostart argument is implied by --headless, no need to set both.")
	}
	return nil
}
