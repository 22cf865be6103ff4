package zmq

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestInproc(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := NewInprocRouter()
	a, _ := r.Dial(ctx, "a")
	b, _ := r.Dial(ctx, "b")
	if err := a.Send(ctx, Frame{Payload: []byte("from a")}); err != nil {
		t.Fatal(err)
	}
	f, err := r.Recv(ctx)
	if err != nil || f.Peer != "a" || string(f.Payload) != "from a" {
		t.Fatalf("router got %+v %v", f, err)
	}
	if err := r.Send(ctx, Frame{Peer: "b", Payload: []byte("to b")}); err != nil {
		t.Fatal(err)
	}
	if f, err := b.Recv(ctx); err != nil || string(f.Payload) != "to b" {
		t.Fatalf("b got %+v %v", f, err)
	}
	if err := r.Send(ctx, Frame{Peer: "nobody", Payload: []byte("x")}); err != nil {
		t.Fatalf("send to unknown peer: %v", err)
	}
	r.Close()
	if _, err := a.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("dealer after router close: %v", err)
	}
}
