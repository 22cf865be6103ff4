package stats

import (
	"fmt"
	"strings"
)

// The name cap (glocust's; Locust keeps every name it is given). A path
// with an id in it and no name (GET /item/1, /item/2, ...) makes one entry
// per id, on the worker and on the master, until memory runs out. Both
// sides therefore keep at most a configurable number of distinct (method,
// name) entries (DefaultMaxNames); a request with a further name is
// counted in its method's overflow entry, named OverflowName, and the
// first such request logs one warning that names the pattern. Failures
// with a further error text (beyond as many distinct texts) are counted
// under OtherErrors on their request's entry. Totals are unchanged: an
// overflow entry holds exactly what the folded names would have.
//
// A worker and a master fold the same way: the master merges a worker's
// overflow entries into its own (their name is the same), and folds the
// names of a worker that does not cap (a Python worker) as a glocust
// worker would.

// DefaultMaxNames is the default cap on distinct (method, name) entries,
// and on distinct error texts. Hand-written scenarios have tens to
// hundreds of names; 10,000 leaves room for generated ones while bounding
// memory: a name costs a worker one shard (about 5 KiB) per core that
// records it (56 MB for 10,000 names recorded on one core each), and the
// master about 3 KiB (30 MB).
const DefaultMaxNames = 10000

// OverflowName is the name under which requests with a name beyond the cap
// are counted, one entry per method.
const OverflowName = "(other names past --max-request-names)"

// OtherErrors is the error text under which failures with a text beyond
// the cap are counted, on their request's entry.
const OtherErrors = "(other errors past --max-request-names)"

// maxFoldMethods bounds the overflow entries, since methods are free text
// too: requests of further methods are counted in the overflow entry of
// method "".
const maxFoldMethods = 16

// foldKey returns the overflow entry for a request of method, given
// whether an entry exists and how many overflow entries there are.
func foldKey(method string, exists func(entryKey) bool, folds int) entryKey {
	k := entryKey{method, OverflowName}
	if folds < maxFoldMethods || exists(k) {
		return k
	}
	return entryKey{"", OverflowName}
}

// namesWarning is the one warning logged when the cap is first reached:
// first is the first folded name, kept the names kept so far.
func namesWarning(maxNames int, first entryKey, kept func(yield func(entryKey) bool)) string {
	// The most common pattern among the names kept, and how many share it.
	counts := map[entryKey]int{}
	var top entryKey
	for k := range kept {
		p := entryKey{k.method, namePattern(k.name)}
		counts[p]++
		if counts[p] > counts[top] {
			top = p
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "More than %d distinct request names (--max-request-names): requests with further names "+
		"are counted as %q (one row per method), the first being %s %s.", maxNames, OverflowName, first.method, first.name)
	hint := namePattern(first.name)
	if n := counts[top]; n > 1 && top.name != "" {
		fmt.Fprintf(&b, " %d of the %d names kept look like %s %s.", n, maxNames, top.method, top.name)
		if hint == first.name {
			hint = top.name
		}
	}
	b.WriteString(" Give such requests one name (name: in a glocust scenario, name= in Locust)")
	if hint != first.name {
		fmt.Fprintf(&b, ", e.g. %s", hint)
	}
	b.WriteString(".")
	return b.String()
}

// errorsWarning is the one warning logged when the error cap is first
// reached, for a failure of (method, name) with text err.
func errorsWarning(maxErrors int, method, name, err string) string {
	const maxText = 200
	if len(err) > maxText {
		err = err[:maxText] + "..."
	}
	return fmt.Sprintf("More than %d distinct errors (--max-request-names): further error texts are counted as %q "+
		"under their request's name, the first being %s %s: %s", maxErrors, OtherErrors, method, name, err)
}

// namePattern returns name with its ids replaced by [id], to suggest a
// name for requests whose names differ only by an id: each path segment
// or query value made of hex digits, '-' and '_' with at least one digit
// (123, a UUID, a hash) becomes [id], and so does any other run of three
// or more digits. Other text is kept (v1, api).
func namePattern(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && !isSeparator(name[i]) {
			continue
		}
		writeSegment(&b, name[start:i])
		if i < len(name) {
			b.WriteByte(name[i])
		}
		start = i + 1
	}
	return b.String()
}

func isSeparator(c byte) bool { return c == '/' || c == '?' || c == '&' || c == '=' || c == ';' }

func writeSegment(b *strings.Builder, seg string) {
	if isID(seg) {
		b.WriteString("[id]")
		return
	}
	for i := 0; i < len(seg); {
		j := i
		for j < len(seg) && isDigit(seg[j]) {
			j++
		}
		switch {
		case j-i >= 3:
			b.WriteString("[id]")
		case j > i:
			b.WriteString(seg[i:j])
		default:
			b.WriteByte(seg[i])
			j++
		}
		i = j
	}
}

func isID(seg string) bool {
	digit := false
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case isDigit(c):
			digit = true
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F', c == '-', c == '_':
		default:
			return false
		}
	}
	return digit
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
