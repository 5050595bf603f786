package main

/*
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

// A probe thread only waits: the smallest stack that every libc accepts will do.
#define PWS_PROBE_STACK (64 * 1024)

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go;
} pws_probe;

static void* pws_probe_thread(void* arg) {
	pws_probe* p = (pws_probe*)arg;
	pthread_mutex_lock(&p->mu);
	while (!p->go) pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

// Creates n threads that all exist at once, then lets them end and joins them.
// Returns 0, or the first pthread_create error (EAGAIN under RLIMIT_NPROC).
static int pws_probe_threads(int n) {
	pws_probe p = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	pthread_t* t = calloc(n > 0 ? n : 1, sizeof(pthread_t));
	if (t == NULL) return ENOMEM;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PWS_PROBE_STACK);
	int made = 0, err = 0;
	for (; made < n; made++) {
		err = pthread_create(&t[made], &attr, pws_probe_thread, &p);
		if (err != 0) break;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&p.mu);
	p.go = 1;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.mu);
	for (int i = 0; i < made; i++) pthread_join(t[i], NULL);
	free(t);
	return err;
}
*/
import "C"

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pawwork/pawwork-supervisor/go/core"
)

// Threads of this user are limited by RLIMIT_NPROC, which Go's runtime cannot
// survive running into: the core asks, before it starts the helper, whether the
// threads the helper needs can be had (see go/core/threads.go).
func init() {
	core.ProbeThreads = func(n int) error {
		if rc := C.pws_probe_threads(C.int(n)); rc != 0 {
			errno := syscall.Errno(rc)
			code := unix.ErrnoName(errno)
			if code == "" {
				code = fmt.Sprintf("E%d", int(errno))
			}
			return &core.Error{Code: code, Syscall: "pthread_create", Errno: errno, Err: errno,
				Msg: fmt.Sprintf("cannot have %d more threads (%v): the user's process/thread limit (RLIMIT_NPROC) is reached", n, errno)}
		}
		return nil
	}
}
