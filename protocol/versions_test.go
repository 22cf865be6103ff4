package protocol

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Version
		ok   bool
	}{
		{"2.20.1", Version{2, 20, 1}, true},
		{"2.47.0", Version{2, 47, 0}, true},
		{"2.40", Version{2, 40, 0}, true},
		{"2.31.4.dev999", Version{2, 31, 4}, true},
		{"2.32.0rc1", Version{2, 32, 0}, true},
		{"2.40.dev3", Version{2, 40, 0}, true},
		{"10.0.12", Version{10, 0, 12}, true},
		{"", Version{}, false},
		{"-1", Version{}, false},
		{"2", Version{}, false},
		{"2.x.1", Version{}, false},
		{"v2.20.1", Version{}, false},
		{"2.-1.0", Version{}, false},
		{"2.+1.0", Version{}, false},
		{" 2.20.1", Version{}, false},
	} {
		got, ok := ParseVersion(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestVersionCompare(t *testing.T) {
	t.Parallel()
	ordered := []Version{{}, {2, 0, 0}, {2, 9, 9}, {2, 10, 0}, {2, 10, 2}, {2, 28, 0}, {2, 29, 0}, {2, 47, 0}, {3, 0, 0}}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
			if got := a.AtLeast(b); got != (i >= j) {
				t.Errorf("%v.AtLeast(%v) = %v", a, b, got)
			}
		}
	}
	if s := (Version{2, 20, 1}).String(); s != "2.20.1" {
		t.Errorf("String() = %q", s)
	}
}

// TestHandles spells out, independently of the table, what Locust's own
// runners.py of each release does (docs/protocol.md section 7.1).
func TestHandles(t *testing.T) {
	t.Parallel()
	v := func(s string) Version {
		x, ok := ParseVersion(s)
		if !ok {
			t.Fatalf("bad version %q", s)
		}
		return x
	}
	for _, tc := range []struct {
		version string
		from    Side
		typ     string
		want    bool
	}{
		{"2.28.0", FromWorker, TypeLogs, false},
		{"2.29.0", FromWorker, TypeLogs, true},
		{"2.20.1", FromWorker, TypeLogs, false},
		{"2.20.1", FromWorker, TypeHeartbeat, true},
		{"2.20.1", FromWorker, TypeStats, true},
		{"2.0.0", FromWorker, TypeException, true},
		{"2.22.0", FromWorker, TypeLocustfile, false},
		{"2.23.0", FromWorker, TypeLocustfile, true},
		{"2.20.1", FromWorker, "my_custom_message", true},
		{"2.18.4", FromMaster, TypeHeartbeat, false},
		{"2.19.0", FromMaster, TypeHeartbeat, true},
		{"2.24.1", FromMaster, TypeUpdateUserClass, false},
		{"2.25.0", FromMaster, TypeUpdateUserClass, true},
		{"2.28.0", FromMaster, TypeSpawningComplete, false},
		{"2.29.0", FromMaster, TypeSpawningComplete, true},
		{"2.9.0", FromMaster, TypeAck, false},
		{"2.10.0", FromMaster, TypeAck, true},
		{"2.9.0", FromMaster, TypeReconnect, false},
		{"2.9.0", FromMaster, TypeSpawn, true},
		{"2.0.0", FromMaster, TypeQuit, true},
		{"2.0.0", FromMaster, "my_custom_message", true},
	} {
		if got := Handles(v(tc.version), tc.from, tc.typ); got != tc.want {
			t.Errorf("Handles(%s, from %s, %s) = %v, want %v", tc.version, tc.from, tc.typ, got, tc.want)
		}
	}
	// The baseline is what a peer of unknown version is assumed to run:
	// it takes acks and nothing newer.
	if !Handles(Baseline, FromMaster, TypeAck) || Handles(Baseline, FromMaster, TypeHeartbeat) ||
		Handles(Baseline, FromWorker, TypeLogs) {
		t.Errorf("Baseline %v", Baseline)
	}
	for _, c := range Changes {
		if !Reference.AtLeast(c.Since) {
			t.Errorf("%s %s %q appeared in %v, after the reference %v", c.From, c.Type, c.Key, c.Since, Reference)
		}
	}
}

// TestVersionTableInDocs: the table of docs/protocol.md section 7.1 has
// exactly the rows of Changes (from, message, key, first version).
func TestVersionTableInDocs(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### 7.1 ")
	end := strings.Index(doc, "### 7.2 ")
	if start < 0 || end < start {
		t.Fatal("docs/protocol.md has no section 7.1 before 7.2")
	}
	var got []string
	for line := range strings.Lines(doc[start:end]) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 6 || (strings.TrimSpace(cells[1]) != "worker" && strings.TrimSpace(cells[1]) != "master") {
			continue
		}
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		got = append(got, strings.Join(cells[1:5], " | "))
	}
	var want []string
	for _, c := range Changes {
		want = append(want, strings.Join([]string{c.From.String(), c.Type, c.Key, c.Since.String()}, " | "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("docs/protocol.md section 7.1 rows:\n%s\nprotocol.Changes:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
