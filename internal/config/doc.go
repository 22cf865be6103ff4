// Package config parses glocust's command line, LOCUST_* environment variables and
// locust.conf files into Options, the way Locust 2.47 does.
//
// glocust is a drop-in for the locust command in users' manifests, so every option
// Locust 2.47 accepts is accepted here with the same long and short names, the same
// environment variable, the same type and default. Options that only make sense for
// Python locustfiles or Locust's web UI still parse, and are listed as "accepted, no
// effect" in the help text.
//
// Precedence mirrors Locust's (configargparse): command line > environment >
// config files (--config, then ./locust.conf, then ~/.locust.conf) > defaults. A
// value given by a higher source is never type-checked from a lower one.
// Command-line syntax mirrors Python's argparse: --opt=value and --opt value, -u10
// and -u=10, unique prefixes of long options (--spawn for --spawn-rate), "--" to end
// options, and user class names as positional arguments in one run.
//
// Two settings Locust reads only from the environment, where it uses them,
// are parsed here too: LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP
// and LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP. A bad value is an error
// naming the variable, reported before the run starts.
//
// What Locust does that glocust does not: pyproject.toml's [tool.locust] section is
// not read (a warning says so when it exists); LOCUST_CONFIG is ignored, as in Locust
// (--config has no environment variable).
//
// Concurrency: Parse, Usage and UnknownEnv are pure functions of their arguments
// (plus the file system for config files) and are safe to call concurrently. An
// *Options is plain data; don't mutate one that other goroutines read.
package config
