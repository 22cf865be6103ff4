package protocol

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Locust release number, as in its __version__ ("2.20.1").
// The zero Version is older than every release.
type Version struct{ Major, Minor, Patch int }

// Reference is the Locust release glocust implements and announces by
// default (docs/protocol.md section 0).
var Reference = Version{2, 47, 0}

// Baseline is the Locust release assumed for a peer whose version is not
// known (a worker announcing "" or -1 to a master it knows nothing of):
// 2.10.0, the first release whose workers wait for an ack and whose
// masters send one. Every message type that appeared later is held back
// from such a peer.
var Baseline = Version{2, 10, 0}

// ParseVersion reads the leading "major.minor[.patch]" of a Locust version
// string: "2.20.1", "2.40" or "2.31.4.dev999" (2.31.4). ok is false when s
// does not start with two dot-separated numbers, as for "" or "-1".
func ParseVersion(s string) (v Version, ok bool) {
	parts := strings.SplitN(s, ".", 4)
	if len(parts) < 2 {
		return Version{}, false
	}
	major, ok1 := number(parts[0])
	minor, ok2 := number(parts[1])
	if !ok1 || !ok2 {
		return Version{}, false
	}
	v = Version{Major: major, Minor: minor}
	if len(parts) > 2 {
		// "1", "1rc1", "0b2": the patch is the leading digits; "dev1" has none.
		p := parts[2]
		v.Patch, _ = number(p[:len(p)-len(strings.TrimLeft(p, "0123456789"))])
	}
	return v, true
}

// number parses a non-empty string of ASCII digits.
func number(s string) (int, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Compare returns -1, 0 or 1 as v is older than, the same as or newer than o.
func (v Version) Compare(o Version) int {
	for _, d := range [3]int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
	}
	return 0
}

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool { return v.Compare(o) >= 0 }

// String returns "major.minor.patch".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Change is one row of the version table: a message type, or a key of a
// message's data, and the first Locust release whose master and workers
// have it (in every row both sides got it in the same release).
type Change struct {
	From  Side    // who sends the message
	Type  string  // the message type
	Key   string  // "" for the message type itself, else the data key(s)
	Since Version // the first release that has it
}

// Changes is the version table, read from Locust's git history
// (locust/runners.py, locust/stats.py, locust/argument_parser.py of each
// release tag); docs/protocol.md section 7.1 shows it with what an older
// peer does and the evidence for each row, and TestVersionTableInDocs keeps
// the two equal. A message type missing from the table is a custom
// message: a Locust peer handles it when a handler was registered for it,
// which the other side cannot know.
var Changes = []Change{
	// worker -> master
	{FromWorker, TypeClientReady, "", Version{2, 0, 0}},
	{FromWorker, TypeHeartbeat, "", Version{2, 0, 0}},
	{FromWorker, TypeHeartbeat, "current_memory_usage", Version{2, 4, 2}},
	{FromWorker, TypeStats, "", Version{2, 0, 0}},
	{FromWorker, TypeStats, "errors.*.first_seen, errors.*.last_seen", Version{2, 44, 0}},
	{FromWorker, TypeSpawning, "", Version{2, 0, 0}},
	{FromWorker, TypeSpawningComplete, "", Version{2, 0, 0}},
	{FromWorker, TypeClientStopped, "", Version{2, 0, 0}},
	{FromWorker, TypeQuit, "", Version{2, 0, 0}},
	{FromWorker, TypeException, "", Version{2, 0, 0}},
	{FromWorker, TypeLocustfile, "", Version{2, 23, 0}},
	{FromWorker, TypeLocustfile, "version", Version{2, 31, 0}},
	{FromWorker, TypeLogs, "", Version{2, 29, 0}},
	// master -> worker
	{FromMaster, TypeAck, "", Version{2, 10, 0}},
	{FromMaster, TypeAck, "index", Version{2, 11, 0}},
	{FromMaster, TypeSpawn, "", Version{2, 0, 0}},
	{FromMaster, TypeSpawn, "parsed_options", Version{2, 2, 0}},
	{FromMaster, TypeStop, "", Version{2, 0, 0}},
	{FromMaster, TypeQuit, "", Version{2, 0, 0}},
	{FromMaster, TypeReconnect, "", Version{2, 10, 0}},
	{FromMaster, TypeHeartbeat, "", Version{2, 19, 0}},
	{FromMaster, TypeLocustfile, "", Version{2, 23, 0}},
	{FromMaster, TypeLocustfile, "locustfiles", Version{2, 31, 0}},
	{FromMaster, TypeUpdateUserClass, "", Version{2, 25, 0}},
	{FromMaster, TypeSpawningComplete, "", Version{2, 29, 0}},
}

// Since returns the first Locust release that handles the message type typ
// sent by from; ok is false for a type the table does not list.
func Since(from Side, typ string) (v Version, ok bool) {
	for _, c := range Changes {
		if c.From == from && c.Type == typ && c.Key == "" {
			return c.Since, true
		}
	}
	return Version{}, false
}

// Handles reports whether a Locust peer of version v handles a message of
// type typ sent by from: with from == FromWorker, whether a master of
// version v does; with from == FromMaster, whether a worker of version v
// does. A Locust peer logs a warning for every message of a type it does
// not handle. Types the table does not list (custom messages) are assumed
// handled.
func Handles(v Version, from Side, typ string) bool {
	since, ok := Since(from, typ)
	return !ok || v.AtLeast(since)
}
