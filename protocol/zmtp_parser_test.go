package protocol

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

// readAll runs the blocking reader over data.
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

// TestZMTPParserMatchesReader: the poller's push parser, fed a byte at a
// time or in larger pieces, yields the messages and the error the blocking
// reader does.
func TestZMTPParserMatchesReader(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	streams := map[string][]byte{
		"two messages":         {0, 3, 'a', 'b', 'c', 0, 0},
		"multi-frame":          {flagMore, 1, 'a', flagMore, 0, 0, 1, 'b', 0, 1, 'c'},
		"long frame":           append([]byte{flagLong, 0, 0, 0, 0, 0, 0, 1, 44}, long...),
		"command":              appendZMTPCommand([]byte{0, 1, 'z'}, "PING", []byte{0, 1, 'c'}),
		"command in a message": {flagMore, 1, 'a', flagCommand, 0},
		"reserved flag":        {0, 1, 'a', 0x80, 1},
		"too large":            {0, 1, 'a', flagLong, 0, 0, 0, 0, 0, 0, 0x10, 0},
		"too large in total":   {flagMore, 200, 1},
		"cut in a header":      {0, 1, 'a', flagLong, 0, 0},
		"cut in a body":        {0, 5, 'a', 'b'},
		"cut between frames":   {flagMore, 1, 'a'},
	}
	for name, data := range streams {
		wantMsgs, wantClass := readAll(data, 1000)
		if name == "too large in total" {
			wantMsgs, wantClass = readAll(data, 250)
		}
		for _, chunks := range [][]byte{nil, {0}, {2, 0, 6}, {255}} {
			max := uint64(1000)
			if name == "too large in total" {
				max = 250
			}
			got, class := parseAll(data, max, chunks)
			if fmt.Sprint(got) != fmt.Sprint(wantMsgs) || class != wantClass {
				t.Errorf("%s, pieces %v: parser %v, %s; reader %v, %s", name, chunks, got, class, wantMsgs, wantClass)
			}
		}
	}
}

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
