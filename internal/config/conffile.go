package config

import (
	"strings"
	"unicode"
)

// confItem is one key/value line of a config file.
type confItem struct {
	key   string
	value string   // the raw value ("true" for a bare key)
	list  []string // the value split, when it was written as [a, b]
}

// parseConfigFile reads locust.conf syntax (configargparse's default format):
//
//	# comment, ; comment, [section] and --- lines are ignored
//	key = value    key: value    key value    --key value
//	flag           (same as flag = true)
//	key = [a, b]   (a list; JSON arrays too)
//	key = "quoted" (quotes are removed; "a # b" keeps its '#')
//	key = value  # trailing comment (needs a space before # or ;)
//
// A key given twice keeps its first position and its last value.
func parseConfigFile(name, text string) ([]confItem, error) {
	var items []confItem
	index := map[string]int{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimFunc(line, unicode.IsSpace)
		if line == "" || strings.ContainsRune("#;[", rune(line[0])) || strings.HasPrefix(line, "---") {
			continue
		}
		it, ok := parseConfigLine(line)
		if !ok {
			return nil, usageErr("Unexpected line %d in %s: %s", n, name, line)
		}
		if i, dup := index[it.key]; dup {
			items[i] = it
			continue
		}
		index[it.key] = len(items)
		items = append(items, it)
	}
	return items, nil
}

func parseConfigLine(line string) (confItem, bool) {
	k := strings.IndexFunc(line, func(r rune) bool { return strings.ContainsRune(":=;#", r) || unicode.IsSpace(r) })
	if k == 0 {
		return confItem{}, false
	}
	if k < 0 {
		return confItem{key: line, value: "true"}, true
	}
	it := confItem{key: line[:k]}
	rest := line[k:]
	afterSpace := strings.TrimLeftFunc(rest, unicode.IsSpace)
	switch {
	case afterSpace != "" && (afterSpace[0] == ':' || afterSpace[0] == '='):
		rest = afterSpace[1:]
	case len(afterSpace) < len(rest):
		rest = afterSpace // the separator is whitespace
	default:
		return confItem{}, false // "key#x": no separator
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	it.value = confValue(rest)
	if l, ok := parseList(it.value); ok {
		it.list = l
	}
	return it, true
}

// confValue takes the value off the text after the separator: a quoted value
// runs to its closing quote, an unquoted one to the first " #" or " ;".
func confValue(r string) string {
	if r == "" {
		return ""
	}
	if q := r[0]; q == '"' || q == '\'' {
		for i := 1; i < len(r); i++ {
			if r[i] == q && tailIsComment(r[i+1:]) {
				return r[1:i]
			}
		}
	}
	for i := 1; i <= len(r); i++ {
		if tailIsComment(r[i:]) {
			return r[:i]
		}
	}
	return r
}

// tailIsComment reports whether s is empty, blank, or blank space followed by a
// '#' or ';' comment.
func tailIsComment(s string) bool {
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	if t == "" {
		return true
	}
	return len(t) < len(s) && (t[0] == '#' || t[0] == ';')
}
