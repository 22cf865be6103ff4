package webguard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hash is a bcrypt hash of pass at the cheapest cost, for fast tests.
func hash(t testing.TB, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestParseUsers(t *testing.T) {
	t.Parallel()
	// htpasswd -B writes $2y$, Go's bcrypt $2a$: the same algorithm.
	y := "$2y$" + strings.TrimPrefix(hash(t, "pw-bob"), "$2a$")
	file := "# users of the master\r\n\nalice:" + hash(t, "pw-alice") + "\r\n  bob:" + y + "  \n"
	u, err := ParseUsers("users.htpasswd", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 2 || u.File() != "users.htpasswd" {
		t.Fatalf("%d users from %s", u.Len(), u.File())
	}
	for _, c := range []struct {
		user, pass string
		want       bool
	}{
		{"alice", "pw-alice", true}, {"bob", "pw-bob", true}, {"alice", "pw-bob", false},
		{"bob", "", false}, {"", "", false}, {"Alice", "pw-alice", false},
		{"carol", "pw-alice", false}, // an unknown user is checked against alice's hash, and refused
	} {
		if got := u.check(c.user, c.pass); got != c.want {
			t.Errorf("check(%q, %q) = %v, want %v", c.user, c.pass, got, c.want)
		}
	}
}

func TestParseUsersErrors(t *testing.T) {
	t.Parallel()
	good := "alice:" + hash(t, "x")
	for _, c := range []struct{ file, want string }{
		{"", "f: no users"},
		{"# only a comment\n\n", "f: no users"},
		{good + "\nbob\n", "f:2: want user:bcrypt-hash (htpasswd -B), found no ':'"},
		{":" + hash(t, "x"), "f:1: empty user name"},
		{"alice :" + hash(t, "x"), `f:1: user name "alice " has spaces around it`},
		{"bob:$2a$04x" + hash(t, "x")[7:], `f:1: user "bob": malformed bcrypt hash`},
		{good + "\n\n" + good, `f:3: user "alice" again (first on line 1)`},
		{"bob:$apr1$abc$def", `f:1: user "bob": an MD5 hash ($apr1$); glocust takes bcrypt only (htpasswd -B)`},
		{"bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", `f:1: user "bob": a SHA-1 hash ({SHA}); glocust takes bcrypt only`},
		{"bob:secret", `f:1: user "bob": not a bcrypt hash ($2y$...); create the line with htpasswd -B`},
		{"bob:$2y$99$abc", `f:1: user "bob": malformed bcrypt hash`},
		{"bob:" + hash(t, "x")[:50], `f:1: user "bob": malformed bcrypt hash`},
		{"bob:$2y$18$" + hash(t, "x")[7:], `f:1: user "bob": bcrypt cost 18 is above 17`},
	} {
		_, err := ParseUsers("f", []byte(c.file))
		var fe *FileError
		if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want a *FileError %q", c.file, err, c.want)
		}
	}
	if _, err := LoadUsers(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
