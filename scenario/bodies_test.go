package scenario

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestMultipartMatchesRequests compares MultipartBody with the body Python
// requests 2.34 (urllib3 2.8) renders for
//
//	requests.Request("POST", url, data={"title": "report 1", "note": 'a "quoted"\r\nline'},
//	    files={"doc": ('r"1".txt', b"file\x00data", "text/plain"), "raw": ("raw.bin", b"\xff\xfe")})
//
// with its boundary replaced by a fixed one (it is random in both).
func TestMultipartMatchesRequests(t *testing.T) {
	t.Parallel()
	const want = "--0123456789abcdef0123456789abcdef\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport 1\r\n" +
		"--0123456789abcdef0123456789abcdef\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\na \"quoted\"\r\nline\r\n" +
		"--0123456789abcdef0123456789abcdef\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"r%221%22.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\x00data\r\n" +
		"--0123456789abcdef0123456789abcdef\r\nContent-Disposition: form-data; name=\"raw\"; filename=\"raw.bin\"\r\n\r\n\xff\xfe\r\n" +
		"--0123456789abcdef0123456789abcdef--\r\n"
	body, ctype := MultipartBody([][2]string{{"title", "report 1"}, {"note", "a \"quoted\"\r\nline"}},
		[]FilePart{{Field: "doc", Filename: `r"1".txt`, ContentType: "text/plain", Data: []byte("file\x00data")},
			{Field: "raw", Filename: "raw.bin", Data: []byte("\xff\xfe")}})
	boundary, ok := strings.CutPrefix(ctype, "multipart/form-data; boundary=")
	if !ok || len(boundary) != 32 {
		t.Fatalf("Content-Type %q", ctype)
	}
	if got := strings.ReplaceAll(string(body), boundary, "0123456789abcdef0123456789abcdef"); got != want {
		t.Errorf("body\n%q\nwant\n%q", got, want)
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	// The values Python requests' _basic_auth_str gives.
	for _, tc := range []struct{ user, pw, want, err string }{
		{user: "Aladdin", pw: "open sesame", want: "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="},
		{user: "é", pw: "p", want: "Basic 6Tpw"},
		{user: "", pw: "", want: "Basic Og=="},
		{user: "€", pw: "p", err: `'€' is not a Latin-1 character`},
	} {
		got, err := BasicAuth(tc.user, tc.pw)
		if got != tc.want || !strings.Contains(errText(err), tc.err) || (tc.err == "") != (err == nil) {
			t.Errorf("BasicAuth(%q, %q) = %q, %v; want %q, %q", tc.user, tc.pw, got, err, tc.want, tc.err)
		}
	}
}

// bodyTarget checks what it receives against the scenario's files and
// answers 200 "verified" or 400 with what was wrong.
type bodyTarget struct {
	url      string
	files    map[string][]byte // by file name
	mu       sync.Mutex
	verified int
	authed   int // uploads with valid Basic credentials
}

func (bt *bodyTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if to, ok := strings.CutPrefix(r.URL.Path, "/307"); ok {
		http.Redirect(w, r, to, http.StatusTemporaryRedirect) // the same method and body again
		return
	}
	if err := bt.check(r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	bt.mu.Lock()
	bt.verified++
	bt.mu.Unlock()
	io.WriteString(w, "verified")
}

// check verifies a request: /upload/N a multipart body with the user's
// fields and the two files, /raw the body file, /auth/U Basic credentials
// of user U with password "pw-U". /307/... redirects to /... first.
func (bt *bodyTarget) check(r *http.Request) error {
	switch path := r.URL.Path; {
	case strings.HasPrefix(path, "/upload/"):
		return bt.checkUpload(r, strings.TrimPrefix(path, "/upload/"))
	case path == "/raw":
		b, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(b, bt.files["big.bin"]) || r.Header.Get("Content-Type") != "application/octet-stream" {
			return fmt.Errorf("raw body: %d bytes (%v), Content-Type %q", len(b), err, r.Header.Get("Content-Type"))
		}
	case strings.HasPrefix(path, "/auth/"):
		user, pw, ok := r.BasicAuth()
		if want := strings.TrimPrefix(path, "/auth/"); !ok || user != want || pw != "pw-"+want {
			return fmt.Errorf("basic auth %q %q %v, want user %q", user, pw, ok, want)
		}
	default:
		return fmt.Errorf("unknown path %s", path)
	}
	return nil
}

func (bt *bodyTarget) checkUpload(r *http.Request, id string) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return fmt.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	want := []struct{ name, filename, ctype, data string }{
		{"title", "", "", "report of user " + id},
		{"kind", "", "", "a b&c=d"},
		{"doc", "notes.txt", "text/plain", string(bt.files["notes.txt"])},
		{"blob", "data.bin", "", string(bt.files["big.bin"])},
	}
	for i, w := range want {
		p, err := mr.NextPart()
		if err != nil {
			return fmt.Errorf("part %d: %v", i, err)
		}
		data, err := io.ReadAll(p)
		if err != nil || p.FormName() != w.name || p.FileName() != w.filename || p.Header.Get("Content-Type") != w.ctype || string(data) != w.data {
			return fmt.Errorf("part %d: %q %q %q, %d bytes (%v); want %q %q %q, %d bytes",
				i, p.FormName(), p.FileName(), p.Header.Get("Content-Type"), len(data), err, w.name, w.filename, w.ctype, len(w.data))
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		return fmt.Errorf("after the parts: %v", err)
	}
	if user, pw, ok := r.BasicAuth(); ok {
		if pw != "pw-"+user {
			return fmt.Errorf("upload with basic auth %q %q", user, pw)
		}
		bt.mu.Lock()
		bt.authed++
		bt.mu.Unlock()
	}
	return nil
}

// writeFiles writes the scenario and its files into a new directory and
// returns the scenario's path.
func writeFiles(t *testing.T, files map[string][]byte) (string, error) {
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "scenario.yaml"), nil
}

// TestRequestBodies uploads files (multipart, with templated fields),
// sends a body from a file and authenticates with Basic auth, against a
// target that verifies what it receives. The large file (over
// maxWireBody) is sent from memory after the rendered part of the
// request.
func TestRequestBodies(t *testing.T) {
	t.Parallel()
	big := make([]byte, 3*maxWireBody/2)
	rand.Read(big)
	bt := &bodyTarget{files: map[string][]byte{"notes.txt": []byte("line one\nline two\n"), "big.bin": big}}
	srv := httptest.NewServer(bt)
	defer srv.Close()
	scenario := `vars: {kind: "a b&c=d", who: w9}
users:
  - class: A
    tasks:
      - request:
          method: POST
          path: /upload/${user.id}
          form: {title: "report of user ${user.id}", kind: "${kind}"}
          files:
            doc: {file: notes.txt, content_type: text/plain}
            blob: {file: big.bin, filename: data.bin}
          expect_body_contains: verified
          timeout: 10
      - request: {method: PUT, path: /raw, body_file: big.bin, headers: {Content-Type: application/octet-stream}, expect_body_contains: verified, timeout: 10}
      - request: {path: /auth/u7, auth: {user: u7, password: pw-u7}, timeout: 10}
      - request: {path: "/auth/${who}", auth: {user: "${who}", password: "pw-${who}"}, timeout: 10}
      - request:
          method: POST
          path: /307/upload/${user.id}
          form: {title: "report of user ${user.id}", kind: "${kind}"}
          files: {doc: {file: notes.txt, content_type: text/plain}, blob: {file: big.bin, filename: data.bin}}
          auth: {user: "${who}", password: "pw-${who}"}
          expect_body_contains: verified
          timeout: 10
`
	path, err := writeFiles(t, map[string][]byte{"notes.txt": bt.files["notes.txt"], "big.bin": big, "scenario.yaml": []byte(scenario)})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, srv.URL)
	u.ID = 3
	runTasks(t, u, c)
	// Again with a cookie in the jar, which renders every request anew.
	u.HTTP.jar.cookies = append(u.HTTP.jar.cookies, jarCookie{name: "s", value: "1", domain: "127.0.0.1", path: "/", hostOnly: true})
	runTasks(t, u, c)
	for i, rec := range st.all() {
		if rec.fail {
			t.Errorf("request %d (%s) failed: %s", i, rec.name, rec.err)
		}
	}
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.verified != 10 || bt.authed != 2 {
		t.Errorf("the target verified %d requests (want 10), %d uploads with Basic auth (want 2, after redirects)", bt.verified, bt.authed)
	}
}

// TestBodyFileLoading: a file is read once however many requests send it,
// a file over maxBodyFile is an error naming its line, and a master reads
// none.
func TestBodyFileLoading(t *testing.T) {
	t.Parallel()
	path, err := writeFiles(t, map[string][]byte{"a.bin": []byte("abc")})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	f, err := os.Create(filepath.Join(dir, "huge.bin"))
	if err == nil {
		err = errors.Join(f.Truncate(maxBodyFile+1), f.Close()) // sparse: nothing written
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &parser{file: path}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "a.bin", Line: 7}
	a, _, err1 := p.readBodyFile(n, "x")
	b, _, err2 := p.readBodyFile(n, "y")
	if err1 != nil || err2 != nil || string(a) != "abc" || &a[0] != &b[0] {
		t.Errorf("read twice: %q %v, %q %v; want the same bytes", a, err1, b, err2)
	}
	sc := "users:\n  - class: A\n    tasks:\n      - request: {path: /, body_file: huge.bin}\n"
	want := "users[0].tasks[0].request.body_file: " + filepath.Join(dir, "huge.bin") + ": larger than 64 MiB (a request's files are held in memory)"
	if _, err := Parse(path, []byte(sc)); err == nil || err.Error() != path+":4: "+want {
		t.Errorf("huge file: %v, want %s:4: %s", err, path, want)
	}
	sc = "users:\n  - class: A\n    tasks:\n      - request: {path: /, body_file: gone.bin}\n      - request: {path: /, files: {f: gone.txt}, form: {a: b}}\n"
	if _, err := Parse(path, []byte(sc), ForMaster()); err != nil {
		t.Errorf("a master reads no file: %v", err)
	}
}
