package logging

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestRingKeepsTheLastLines(t *testing.T) {
	var r Ring
	fmt.Fprint(&r, "a\nb")
	if l, n := r.Lines(); !slices.Equal(l, []string{"a"}) || n != 1 {
		t.Fatalf("lines %q total %d", l, n)
	}
	fmt.Fprint(&r, "c\n")
	if l, n := r.Lines(); !slices.Equal(l, []string{"a", "bc"}) || n != 2 {
		t.Fatalf("lines %q total %d", l, n)
	}
	for i := range 1000 {
		fmt.Fprintf(&r, "line %d\n", i)
	}
	l, n := r.Lines()
	if len(l) != RingSize || n != 1002 || l[0] != "line 500" || l[RingSize-1] != "line 999" {
		t.Fatalf("%d lines (%q .. %q), total %d", len(l), l[0], l[len(l)-1], n)
	}
	r.Write([]byte(strings.Repeat("x", 100<<10)))
	r.Write([]byte("\n"))
	if l, _ := r.Lines(); len(l[len(l)-1]) != 64<<10 {
		t.Fatalf("a runaway line kept %d bytes", len(l[len(l)-1]))
	}
}

func TestRingConcurrentLoggers(t *testing.T) {
	var r Ring
	log := New(&r, 0, "glocust.test")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				log.Info("hello", "g", g, "i", i)
			}
		}()
	}
	wg.Wait()
	l, n := r.Lines()
	if n != 800 || len(l) != RingSize {
		t.Fatalf("total %d, kept %d", n, len(l))
	}
	for _, s := range l {
		if !strings.Contains(s, "/INFO/glocust.test: hello g=") {
			t.Fatalf("line %q", s)
		}
	}
}
