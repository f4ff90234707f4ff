package queue

import (
	"runtime"
	"syscall"
)

// backgroundNice is the niceness of an import's threads. Under load a thread
// at nice 10 gets about a tenth of the CPU a thread at nice 0 gets, so the
// HTTP API, which runs at nice 0, answers promptly while an import keeps
// every core busy (make bench-api), and an import alone still has the
// whole machine.
const backgroundNice = 10

// Background moves the calling goroutine, for the rest of its life, onto an
// OS thread of its own at background priority. The goroutine must end
// without unlocking: the runtime then retires the thread, so no other
// goroutine ever runs at the lowered priority (which an unprivileged
// process could not raise again). A failure to lower the priority only
// costs API latency, so it is ignored. The pool runs every import this way;
// the importer calls it in the goroutines an import starts.
func Background() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice)
}
