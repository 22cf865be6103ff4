package scenario

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// A request's "auth": HTTP Basic authentication as Python requests sends
// it for auth=(user, password) (HTTPBasicAuth; Locust's FastHttpUser does
// the same): "Authorization: Basic " and the base64 of user:password,
// each encoded as Latin-1. A user or password with templates is rendered
// and encoded per request (exBasicAuth).

// BasicAuth returns the Authorization header value for user and password,
// as Python requests renders it. A character outside Latin-1 is an error,
// as in requests.
func BasicAuth(user, password string) (string, error) {
	raw, err := appendLatin1(nil, []byte(user+":"+password))
	if err != nil {
		return "", err
	}
	return "Basic " + base64.StdEncoding.EncodeToString(raw), nil
}

// appendLatin1 appends s, UTF-8, as Latin-1 to dst; a byte that is not
// UTF-8 is kept as it is.
func appendLatin1(dst, s []byte) ([]byte, error) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			dst = append(dst, s[i])
		case r > 0xff:
			return dst, fmt.Errorf("%q is not a Latin-1 character, which Basic authentication sends (as Python requests)", r)
		default:
			dst = append(dst, byte(r))
		}
		i += max(n, 1)
	}
	return dst, nil
}

// evalBasicAuth renders ex's parts (user, ":", password) and appends the
// header value's base64 to u.vars.gen, returning it.
func (u *UserContext) evalBasicAuth(ex *texpr) ([]byte, error) {
	v := &u.vars
	start := len(v.gen)
	for _, n := range ex.parts {
		if n.ex == nil {
			v.gen = append(v.gen, n.lit...)
			continue
		}
		mark := len(v.gen)
		val, err := u.eval(n.ex)
		if err != nil {
			return nil, err
		}
		if len(v.gen) == mark { // a variable's value, not generated in place
			v.gen = append(v.gen, val...)
		}
	}
	// Latin-1 is never longer than UTF-8: converted in place.
	raw, err := appendLatin1(v.gen[start:start], v.gen[start:])
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	end := start + len(raw)
	v.gen = base64.StdEncoding.AppendEncode(v.gen[:end], raw)
	return v.gen[end:], nil
}
