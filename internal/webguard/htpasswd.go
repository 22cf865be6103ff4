package webguard

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Users are the accounts of an htpasswd file whose passwords are bcrypt
// hashes (htpasswd -B, or any $2a$/$2b$/$2y$ hash): user name to hash.
type Users struct {
	file   string
	hashes map[string][]byte
	// dummy is compared for an unknown user (the first user's hash, so
	// usually of the same cost), so that a wrong name costs as long as a
	// wrong password and the timing tells no names.
	dummy []byte
}

// FileError is a bad line of an htpasswd file.
type FileError struct {
	File string
	Line int // 1-based; 0 for the file as a whole
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// LoadUsers reads an htpasswd file (see ParseUsers).
func LoadUsers(name string) (*Users, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ParseUsers(name, b)
}

// ParseUsers parses htpasswd lines "user:hash"; blank lines and lines
// starting with # are skipped. Every hash must be bcrypt of cost at most
// MaxCost: Apache's other schemes (MD5 "$apr1$", SHA-1 "{SHA}", crypt) are
// refused with the line that holds them, as are empty names, names with
// spaces around them, repeated names and a file without users. name is the
// file's name in errors.
func ParseUsers(name string, data []byte) (*Users, error) {
	u := &Users{file: name, hashes: map[string][]byte{}}
	first := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			return nil, &FileError{name, n, "want user:bcrypt-hash (htpasswd -B), found no ':'"}
		case user == "":
			return nil, &FileError{name, n, "empty user name"}
		case strings.TrimSpace(user) != user:
			return nil, &FileError{name, n, fmt.Sprintf("user name %q has spaces around it", user)}
		case first[user] != 0:
			return nil, &FileError{name, n, fmt.Sprintf("user %q again (first on line %d)", user, first[user])}
		}
		if err := checkBcrypt(hash); err != nil {
			return nil, &FileError{name, n, fmt.Sprintf("user %q: %v", user, err)}
		}
		first[user] = n
		u.hashes[user] = []byte(hash)
		if u.dummy == nil {
			u.dummy = []byte(hash)
		}
	}
	if len(u.hashes) == 0 {
		return nil, &FileError{File: name, Msg: "no users (want user:bcrypt-hash lines, as htpasswd -B writes)"}
	}
	return u, nil
}

// MaxCost is the highest bcrypt cost accepted, htpasswd's own limit: one
// check at cost 17 takes seconds, and every step doubles it.
const MaxCost = 17

// checkBcrypt checks that hash is a bcrypt hash of a cost up to MaxCost.
func checkBcrypt(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$apr1$"):
		return errors.New("an MD5 hash ($apr1$); glocust takes bcrypt only (htpasswd -B)")
	case strings.HasPrefix(hash, "{SHA}"):
		return errors.New("a SHA-1 hash ({SHA}); glocust takes bcrypt only (htpasswd -B)")
	case !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$"):
		return errors.New("not a bcrypt hash ($2y$...); create the line with htpasswd -B")
	}
	cost, err := bcrypt.Cost([]byte(hash))
	switch {
	case err != nil:
		return fmt.Errorf("malformed bcrypt hash: %v", err)
	case len(hash) != 60 || hash[6] != '$':
		return fmt.Errorf("malformed bcrypt hash: want 60 characters, $2y$, two digits of cost, $, salt and hash")
	case cost > MaxCost:
		return fmt.Errorf("bcrypt cost %d is above %d: every login would take minutes (htpasswd -B -C 10)", cost, MaxCost)
	}
	return nil
}

// File is the name the users were read from.
func (u *Users) File() string { return u.file }

// Len is the number of users.
func (u *Users) Len() int { return len(u.hashes) }

// check reports whether pass is user's password. It runs bcrypt whether or
// not the user exists.
func (u *Users) check(user, pass string) bool {
	hash, known := u.hashes[user]
	if !known {
		hash = u.dummy
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(pass)) == nil
	return ok && known
}
