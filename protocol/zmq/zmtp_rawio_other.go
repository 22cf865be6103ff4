//go:build !linux

package zmq

import "syscall"

// Without raw system calls, the ROUTER uses the net.Conn's Read and Write.
const haveRawIO = false

func rawRead(fd uintptr, p []byte) (int, syscall.Errno)  { return 0, syscall.EINVAL }
func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) { return 0, syscall.EINVAL }
