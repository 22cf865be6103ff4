package zmq

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// parseAll runs the push parser over data fed in pieces of the given sizes
// (cycled) and returns what it emitted and its error class.
func parseAll(data []byte, max uint64, chunks []byte) (msgs []string, class string) {
	z := &zmtpParser{max: max}
	emit := func(m zmtpMsg) bool {
		msgs = append(msgs, fmt.Sprintf("%q/%d/%v", m.body, m.nframes, m.cmd))
		return true
	}
	for i := 0; len(data) > 0; i++ {
		n := 1
		if len(chunks) > 0 {
			n = int(chunks[i%len(chunks)]) + 1
		}
		n = min(n, len(data))
		used, err := z.feed(data[:n], emit)
		if err != nil {
			return msgs, errClass(err)
		}
		if used != n {
			return msgs, fmt.Sprintf("consumed %d of %d", used, n)
		}
		data = data[n:]
	}
	if z.midMessage() {
		return msgs, "unexpected EOF"
	}
	return msgs, "EOF"
}

// readAll runs the buffered reader over data.
func readAll(data []byte, max uint64) (msgs []string, class string) {
	z := &zmtpReader{br: bufio.NewReaderSize(bytes.NewReader(data), 16), max: max}
	for {
		m, err := z.next()
		if err != nil {
			return msgs, errClass(err)
		}
		msgs = append(msgs, fmt.Sprintf("%q/%d/%v", m.body, m.nframes, m.cmd))
	}
}

func errClass(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, ErrFrameTooLarge):
		return "too large"
	case errors.Is(err, ErrBadFraming):
		return "bad framing"
	}
	return "other: " + err.Error()
}

// TestZMTPParser: fed a byte at a time, in larger pieces, or through the
// buffered zmtpReader, the parser yields the expected messages (body,
// frame count, command) and ends with the expected error.
func TestZMTPParser(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	for _, c := range []struct {
		name  string
		data  []byte
		max   uint64
		msgs  []string
		class string
	}{
		{"two messages", []byte{0, 3, 'a', 'b', 'c', 0, 0}, 1000, []string{`"abc"/1/false`, `""/1/false`}, "EOF"},
		{"multi-frame", []byte{flagMore, 1, 'a', flagMore, 0, 0, 1, 'b', 0, 1, 'c'}, 1000, []string{`"a"/3/false`, `"c"/1/false`}, "EOF"},
		{"long frame", append([]byte{flagLong, 0, 0, 0, 0, 0, 0, 1, 44}, long...), 1000, []string{fmt.Sprintf("%q/1/false", long)}, "EOF"},
		{"command", appendZMTPCommand([]byte{0, 1, 'z'}, "PING", []byte{0, 1, 'c'}), 1000, []string{`"z"/1/false`, `"\x04PING\x00\x01c"/1/true`}, "EOF"},
		{"command in a message", []byte{flagMore, 1, 'a', flagCommand, 0}, 1000, nil, "bad framing"},
		{"reserved flag", []byte{0, 1, 'a', 0x80, 1}, 1000, []string{`"a"/1/false`}, "bad framing"},
		{"too large", []byte{0, 1, 'a', flagLong, 0, 0, 0, 0, 0, 0, 0x10, 0}, 1000, []string{`"a"/1/false`}, "too large"},
		{"too large in total", []byte{flagMore, 200, 1}, 250, nil, "unexpected EOF"},
		{"too large in total, second frame", append(append([]byte{flagMore, 200}, make([]byte, 200)...), 0, 60), 250, nil, "too large"},
		{"cut in a header", []byte{0, 1, 'a', flagLong, 0, 0}, 1000, []string{`"a"/1/false`}, "unexpected EOF"},
		{"cut in a body", []byte{0, 5, 'a', 'b'}, 1000, nil, "unexpected EOF"},
		{"cut between frames", []byte{flagMore, 1, 'a'}, 1000, nil, "unexpected EOF"},
	} {
		want := fmt.Sprint(c.msgs)
		if len(c.msgs) == 0 {
			want = "[]"
		}
		got, class := readAll(c.data, c.max)
		if fmt.Sprint(got) != want || class != c.class {
			t.Errorf("%s, zmtpReader: %v, %s; want %s, %s", c.name, got, class, want, c.class)
		}
		for _, chunks := range [][]byte{nil, {0}, {2, 0, 6}, {255}} {
			got, class := parseAll(c.data, c.max, chunks)
			if fmt.Sprint(got) != want || class != c.class {
				t.Errorf("%s, pieces %v: %v, %s; want %s, %s", c.name, chunks, got, class, want, c.class)
			}
		}
	}
}

// FuzzZMTPParser: however the bytes are cut, the parser yields what the
// buffered reader (16-byte buffer) yields from the same stream.
func FuzzZMTPParser(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c'}, uint16(100), []byte{0})
	f.Add([]byte{flagMore, 1, 'a', 0, 1, 'b'}, uint16(100), []byte{1, 3})
	f.Add([]byte{flagLong, 0, 0, 0, 0, 0, 0, 1, 0}, uint16(300), []byte{4})
	f.Add(appendZMTPCommand(nil, "PING", []byte{0, 1}), uint16(10), []byte{})
	f.Add([]byte{flagCommand | flagMore, 0}, uint16(10), []byte{7})
	f.Fuzz(func(t *testing.T, data []byte, limit uint16, chunks []byte) {
		max := uint64(limit)
		if max == 0 {
			max = 1 << 16
		}
		wantMsgs, wantClass := readAll(data, max)
		got, class := parseAll(data, max, chunks)
		if fmt.Sprint(got) != fmt.Sprint(wantMsgs) || class != wantClass {
			t.Fatalf("parser %v, %s; reader %v, %s", got, class, wantMsgs, wantClass)
		}
	})
}
