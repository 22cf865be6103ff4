package webguard

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseUsers: any file gives users with names and bcrypt hashes
// ParseUsers accepts, or a *FileError naming a line of the file.
func FuzzParseUsers(f *testing.F) {
	h := hash(f, "pw")
	for _, s := range []string{"", "alice:" + h, "# c\r\nalice:" + h + "\r\n\r\nbob:" + h, "alice:" + h + "\nalice:" + h,
		":" + h, "bob:$apr1$x$y", "bob:{SHA}x", "bob:$2y$18$" + h[7:], "bob:$2a$04$short", "no colon"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseUsers("f", data)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != "f" || fe.Line < 0 || fe.Line > strings.Count(string(data), "\n")+1 {
				t.Fatalf("error %v is not a *FileError on a line of the file", err)
			}
			return
		}
		if u.Len() == 0 || u.dummy == nil {
			t.Fatalf("%d users, dummy %q", u.Len(), u.dummy)
		}
		for user, h := range u.hashes {
			if user == "" || strings.TrimSpace(user) != user || checkBcrypt(string(h)) != nil {
				t.Fatalf("user %q with hash %q", user, h)
			}
		}
	})
}

// FuzzSessionCookie: no cookie value is accepted but those issued (in any
// spelling that decodes to the same user, expiry and MAC).
func FuzzSessionCookie(f *testing.F) {
	s := newSessions(time.Hour)
	now := time.Unix(1_800_000_000, 0)
	v, _ := s.issue("alice", now)
	user, rest, _ := strings.Cut(v, ".")
	for _, seed := range []string{v, "", "..", "YWxpY2U.1800003600.", user + ".9" + rest, "Ym9i." + rest, v + "."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if u, ok := s.user(v, now); ok && u != "alice" {
			t.Fatalf("%q accepted for user %q", v, u)
		}
	})
}
