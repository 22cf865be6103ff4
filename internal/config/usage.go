package config

import (
	"fmt"
	"io"
	"strings"
)

const (
	helpColumn = 24 // where help text starts, as in argparse
	helpWidth  = 80
)

// Usage writes the -h text: Locust's layout (usage line, option groups, each
// option with its default and environment variable), naming glocust.
func Usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage: glocust [options] [UserClass ...]\n\n")
	b.WriteString(wrap("glocust runs Locust-compatible load tests from one binary: standalone, as the "+
		"master of Locust or glocust workers, or as a worker of a Locust or glocust master. "+
		"It takes Locust's options, LOCUST_* environment variables and locust.conf files.", helpWidth, ""))
	b.WriteString("\n")
	for _, g := range groupOrder {
		fmt.Fprintf(&b, "%s:\n", g)
		if t := groupText[g]; t != "" {
			b.WriteString(wrap(t, helpWidth-2, "  "))
			b.WriteString("\n")
		}
		for _, op := range options {
			if op.group == g && !op.hidden && op.reject == "" {
				writeOption(&b, op)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("User classes:\n")
	writeEntry(&b, "<UserClass1 UserClass2>",
		"User classes to run, at the end of the command line (list them with -l). "+
			"Default: all. Env: "+userClassesEnv+" (space-separated).")
	b.WriteString(`
Precedence: command line > environment (LOCUST_*, GLOCUST_*) > --config file >
./locust.conf > ~/.locust.conf > defaults. Flags in the environment or a config
file take true/false, yes/no, on/off or 1/0; lists take [a, b].

Examples:

    glocust -f scenario.yaml -H https://www.example.com

    glocust --headless -u 100 -r 10 -t 20m -f scenario.yaml

    glocust --worker --master-host locust-master -f scenario.yaml

    glocust --master --headless --expect-workers 4 -u 1000 -r 50 -t 10m --csv out/run

Commands:

    glocust check -f scenario.yaml [--var name=value ...]
                        Check a scenario: every error as file:line:col, or
                        what each class does.
    glocust locustfile -f scenario.yaml [-o locustfile.py]
                        Write the Python locustfile a Locust master needs
                        to run glocust workers with the scenario.
    glocust debug -f scenario.yaml [-H host] [-u N] [-i N]
                        Run a scenario's users once (one by default) and
                        print every request, response and variable
                        (glocust debug -h).
    glocust demo        A demonstration: a target, a master and two workers
                        on 127.0.0.1.
`)
	io.WriteString(w, b.String())
}

func writeOption(b *strings.Builder, op *option) {
	var inv []string
	for _, n := range op.names {
		if op.arity == arityFlag || op.special != specialNone && op.special != specialConfig {
			inv = append(inv, n)
		} else {
			inv = append(inv, n+" "+metavarOf(op))
		}
	}
	help := op.help
	if op.noEffect {
		help += " Accepted, no effect."
	}
	var extra []string
	if op.def != "" {
		extra = append(extra, "Default: "+op.def+".")
	}
	if op.env != "" {
		extra = append(extra, "Env: "+op.env+".")
	}
	if len(extra) > 0 {
		help += " " + strings.Join(extra, " ")
	}
	writeEntry(b, strings.Join(inv, ", "), help)
}

func metavarOf(op *option) string {
	if op.metavar != "" {
		return op.metavar
	}
	return strings.ToUpper(strings.ReplaceAll(op.key(), "-", "_"))
}

func writeEntry(b *strings.Builder, invocation, help string) {
	indent := strings.Repeat(" ", helpColumn)
	head := "  " + invocation
	if len(head) <= helpColumn-2 {
		head += strings.Repeat(" ", helpColumn-len(head))
		text := wrap(help, helpWidth-helpColumn, indent)
		b.WriteString(head + strings.TrimPrefix(text, indent))
		return
	}
	b.WriteString(head + "\n")
	b.WriteString(wrap(help, helpWidth-helpColumn, indent))
}

// wrap fills text into lines of at most width characters, each with prefix.
func wrap(text string, width int, prefix string) string {
	var b strings.Builder
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			b.WriteString(prefix + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}

// WriteVersion writes the -V text.
func WriteVersion(w io.Writer) {
	fmt.Fprintf(w, "glocust %s (compatible with Locust %s)\n", Version, DefaultLocustVersion)
}
