/*
 * pws.h — the C ABI of the pawwork-supervisor Go core.
 *
 * The Go core is built with `go build -buildmode=c-shared` into
 * libpawwork_supervisor.{so,dylib,dll}. The N-API addon does not link against
 * it: it dlopen()s the library from its own directory and resolves each symbol
 * below by name (see binding/loader.cc), so this header is the single source of
 * truth for the signatures (the typedefs at the end are what the loader uses;
 * go/capi includes it beside its //export functions, so a Go signature that
 * differs fails the build) and for every number of the ABI (below).
 *
 * It lives in go/capi, not in binding/, so that Go's build cache sees it: a
 * header outside the package's directory is not part of the cache key, and a
 * changed number would be checked against a stale build. binding.gyp adds this
 * directory to the addon's include path.
 *
 * Rules that hold for every function:
 *  - Only integers and byte buffers cross. No Go pointer is ever returned; no C
 *    pointer is retained by Go after the call returns (input buffers are copied
 *    before return, output buffers are written before return).
 *  - Every function may be called from any thread, concurrently, except where a
 *    function says otherwise. None of them calls back into C.
 *  - Negative return values are errors. Where a function takes an `err` buffer,
 *    a failure writes a JSON object {"code":"ENOENT","message":"...","syscall":"spawn"}
 *    (no NUL terminator) into it and returns -(bytes written); if `errcap` is too
 *    small the JSON is cut at errcap bytes.
 *  - Handles are positive 64-bit integers, never reused within one process.
 *
 * Lifetimes:
 *  - A hub (pws_hub_open) is one event queue, one per JavaScript environment
 *    (main thread or worker). It lives until pws_hub_close.
 *  - A child handle (pws_spawn) lives from a successful spawn until
 *    pws_forget; after the EXIT event of that child no further event for it
 *    is queued. Calls on a forgotten or unknown handle return PWS_EBADHANDLE.
 */
#ifndef PWS_H
#define PWS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The numbers of the ABI. This header is their only source: go/capi checks the
 * Go core's copies against it when it is built (a difference fails `go build`,
 * see go/capi/abi.go), the addon is compiled from it and exports them as
 * `constants`, and lib/addon.ts refuses an addon whose numbers differ from the
 * ones it was written for.
 */

/* Bumped whenever a signature or an event layout changes; the addon refuses
 * to run against a library that answers another number. */
#define PWS_ABI_VERSION 3

/* Error returns that are not errno-style JSON. */
#define PWS_EBADHANDLE (-1)   /* unknown or forgotten handle                 */
#define PWS_ECLOSED    (-2)   /* hub closed (pws_hub_next: closed and empty) */
#define PWS_EINVAL     (-3)   /* an argument is out of range                 */

/* Event types (see pws_hub_next for the record layout). */
#define PWS_EV_STDOUT    1  /* payload: bytes read from the child's stdout             */
#define PWS_EV_STDERR    2  /* payload: bytes read from the child's stderr             */
#define PWS_EV_STDIN_ACK 3  /* aux: sequence number of a pws_write; payload: empty on
                               success, else JSON {"code","message"} of the failure     */
#define PWS_EV_EXIT      4  /* payload: JSON outcome (see go/core/outcome.go). Last
                               event of a child; stdout/stderr events all came first. */
#define PWS_EV_STDOUT_END 5 /* stdout reached EOF (or was cut: see outcome.truncated)  */
#define PWS_EV_STDERR_END 6 /* stderr reached EOF (or was cut)                        */
#define PWS_EV_CLOSE     7  /* only with "holdLeftovers": the leader exited by itself and its
                               streams ended; payload: JSON outcome so far. The tree is
                               still held; PWS_EV_EXIT follows once it is empty.         */

/* Streams for pws_flow (each the number of its output event). */
#define PWS_STREAM_STDOUT 1
#define PWS_STREAM_STDERR 2

/* What pws_process_state answers. */
#define PWS_PROC_GONE   0 /* no such process, or it was reaped              */
#define PWS_PROC_ALIVE  1 /* running, asleep or stopped: anything but ended */
#define PWS_PROC_ZOMBIE 2 /* ended, not reaped yet by its parent            */

/* Reasons for pws_cancel (they appear in outcome.reason as "abort", "timeout",
 * "stop", "host"; "exit", the leader exiting by itself, is never asked for). */
#define PWS_REASON_ABORT   1
#define PWS_REASON_TIMEOUT 2
#define PWS_REASON_STOP    3
#define PWS_REASON_HOST    4

/* The largest signal number pws_signal, pws_cancel and the spawn request's
 * killSignal accept (0 has its own meaning in each). */
#define PWS_SIG_MAX 64

/* The largest time in milliseconds any argument or request field accepts
 * (2^40 ms, about 34 years). */
#define PWS_MS_MAX ((int64_t)1 << 40)

/* The largest rows and cols of a terminal (the spawn request's "terminal",
 * pws_resize): the kernel's window size fields are 16-bit. */
#define PWS_TERM_SIZE_MAX 65535

/* Defaults of the spawn request's time fields, in milliseconds (see pws_spawn). */
#define PWS_DEFAULT_GRACE_MS      5000
#define PWS_DEFAULT_DRAIN_IDLE_MS 1000
#define PWS_DEFAULT_DRAIN_MAX_MS  10000

/* Bounds on how long a call may block, in milliseconds. */
#define PWS_HUB_CLOSE_BOUND_MS 1000 /* pws_hub_close waits for its children   */
#define PWS_HELLO_WAIT_MS      1000 /* calls made while a just-started helper
                                       has not said hello wait for it until
                                       this long after its start (pws_spawn,
                                       pws_containment) */

/* One record of a pws_hub_next batch: this header, then payload_len bytes of
 * payload. Records follow each other without padding, so a header is not
 * aligned: copy it out (memcpy) before reading its fields. Little-endian, the
 * byte order of every platform built for. */
typedef struct pws_record_header {
  uint32_t type;        /* PWS_EV_*                                  */
  uint32_t payload_len; /* bytes of payload after the header         */
  int64_t handle;       /* the child's handle                        */
  int64_t aux;          /* PWS_EV_STDIN_ACK: the write's sequence no. */
} pws_record_header;

#define PWS_RECORD_HEADER_SIZE 24
/* The smallest batch buffer pws_hub_next takes: one 64 KiB chunk of output and
 * its header. */
#define PWS_BATCH_MIN (65536 + PWS_RECORD_HEADER_SIZE)

#ifdef __cplusplus
static_assert(sizeof(pws_record_header) == PWS_RECORD_HEADER_SIZE, "pws_record_header must be PWS_RECORD_HEADER_SIZE bytes");
#else
_Static_assert(sizeof(pws_record_header) == PWS_RECORD_HEADER_SIZE, "pws_record_header must be PWS_RECORD_HEADER_SIZE bytes");
#endif

/* The library's ABI number (PWS_ABI_VERSION of the build). Any thread. */
int32_t pws_abi_version(void);

/* Opens a hub. Returns a hub handle (> 0). */
int64_t pws_hub_open(void);

/* Closes a hub: every child spawned on it that is still running is cancelled
 * with reason "host" (SIGKILL to its whole tree at once, no grace), and a
 * thread blocked in pws_hub_next on it returns PWS_ECLOSED once the events
 * already queued are taken. Bounded: returns within about PWS_HUB_CLOSE_BOUND_MS
 * even if a tree does not die (the cancellation goes on in the background).
 * Idempotent. */
int32_t pws_hub_close(int64_t hub);

/* Takes the next events of a hub, blocking up to timeout_ms (0: do not block)
 * for the first one, then appending more already-queued events while they fit.
 * Written into buf (owned by the caller, cap >= PWS_BATCH_MIN bytes) as a
 * sequence of records, each a pws_record_header and its payload:
 *   uint32 type | uint32 payload_len | int64 handle | int64 aux | payload
 * (little-endian, the byte order of every platform built for; records not
 * padded). Returns the number of bytes written (> 0), 0 on timeout, PWS_ECLOSED
 * when the hub is closed and empty, PWS_EBADHANDLE for an unknown hub,
 * PWS_EINVAL when cap < PWS_BATCH_MIN or buf is NULL. Intended for one pump
 * thread per hub. */
int64_t pws_hub_next(int64_t hub, uint8_t *buf, int64_t cap, int32_t timeout_ms);

/* Spawns a child described by req, a JSON object (copied before return;
 * go/core/options.go ParseOptions decodes it). Its fields, all but argv
 * optional; any other field, or a value out of range, is refused (EINVAL):
 *   "argv":   [string, ...], the program and its arguments; argv[0] is not
 *             empty and is looked up in PATH (the child's, when env sets one)
 *             unless it holds a path separator. No shell is involved.
 *   "cwd":    string, the child's working directory (absent or "": the host's).
 *   "env":    ["KEY=VALUE", ...], the child's whole environment (absent: the
 *             host's; []: an empty one).
 *   "stdin", "stdout", "stderr": "pipe", "inherit" or "ignore" (absent or "":
 *             "ignore"); "stderr" may also be "stdout" (one pipe, 2>&1), which
 *             needs "stdout": "pipe" (or "socket"). Also: "socket" (as "pipe",
 *             over a socketpair; not on Windows) and "fd:N" (a duplicate of the
 *             host's open fd N; not on Windows).
 *   "killSignal": 1..PWS_SIG_MAX, the first signal of a cancellation (absent
 *             or 0: SIGTERM).
 *   "graceMs": 0..PWS_MS_MAX, from the first signal to SIGKILL (absent:
 *             PWS_DEFAULT_GRACE_MS; 0: SIGKILL at once).
 *   "timeoutMs": 0..PWS_MS_MAX, a run-time limit after which the child is
 *             cancelled with reason "timeout" (absent or 0: none).
 *   "holdLeftovers": bool, keep owning what the leader leaves behind when it exits by
 *             itself (not let go; pws_cancel still kills it): PWS_EV_CLOSE comes
 *             at the leader's exit, PWS_EV_EXIT when the tree is empty
 *   "killTreeOnExit": bool, kill what the leader leaves behind when it exits
 *             by itself (false: leave it running, reported as leftovers).
 *   "drainIdleMs", "drainMaxMs": 0..PWS_MS_MAX, after the leader's exit, the
 *             wait for the next chunk of output and for the whole drain
 *             (absent: PWS_DEFAULT_DRAIN_IDLE_MS, PWS_DEFAULT_DRAIN_MAX_MS;
 *             0: do not wait).
 *   "terminal": {"rows": 1..PWS_TERM_SIZE_MAX, "cols": 1..PWS_TERM_SIZE_MAX},
 *             a terminal session: the leader runs on a new pseudo-terminal of
 *             this size (its fds 0-2), leads a new session with it as its
 *             controlling terminal, and is contained as any tree (through the
 *             helper when there is one). The terminal's output comes as
 *             PWS_EV_STDOUT events (then PWS_EV_STDOUT_END: every slave fd
 *             closed, or a drain bound), pws_write writes to the terminal (its
 *             input: line discipline, echo, ^C), pws_resize, pws_foreground and
 *             pws_signal_foreground apply. "stdin", "stdout" and "stderr" must
 *             then be absent. Linux and macOS (a pty; on Linux through the
 *             helper) and Windows (ConPTY, in the leader's Job Object); on any
 *             other system the spawn fails with ENOSYS.
 * No string may hold a NUL byte. On success returns the child handle (> 0) and
 * writes the child's pid to *pid_out. On failure returns a negative length of
 * the JSON error written into err (codes: EINVAL for a bad request, ENOENT,
 * EACCES, ENOTDIR, E2BIG, ...); nothing is left running and no event is queued.
 * May wait up to PWS_HELLO_WAIT_MS for a helper it has just started. */
int64_t pws_spawn(int64_t hub, const uint8_t *req, int64_t len,
                  uint8_t *err, int64_t errcap, int64_t *pid_out);

/* Queues len bytes (copied before return) for the child's stdin. Completion is
 * reported by a PWS_EV_STDIN_ACK event carrying seq. Writes are performed in
 * the order queued. Returns 0, PWS_EBADHANDLE, or PWS_EINVAL (stdin not piped
 * or already closed; no event follows). */
int32_t pws_write(int64_t h, const uint8_t *data, int64_t len, int64_t seq);

/* Closes the child's stdin after the writes already queued (EOF for the child).
 * Returns 0 or PWS_EBADHANDLE. Idempotent. */
int32_t pws_close_stdin(int64_t h);

/* Pauses (paused=1) or resumes (paused=0) reading one output stream
 * (PWS_STREAM_STDOUT or PWS_STREAM_STDERR): while paused, the pipe is not read, so the child
 * blocks once the pipe is full (backpressure). Time spent paused never counts
 * against the drain bounds. Returns 0, PWS_EBADHANDLE, or PWS_EINVAL (not a
 * stream, or that stream is not a pipe). */
int32_t pws_flow(int64_t h, int32_t stream, int32_t paused);

/* Sends signal sig (0..PWS_SIG_MAX; 0 only checks) to the child only (tree=0)
 * or to every member of its tree (tree=1), once, without any ladder. Returns 0,
 * PWS_EBADHANDLE, PWS_EINVAL (sig out of range), or a negative errno. Sending
 * to a child that has already exited is a no-op (0). */
int32_t pws_signal(int64_t h, int32_t sig, int32_t tree);

/* Starts the cancellation ladder on the child's whole tree: sig (0..PWS_SIG_MAX;
 * 0: the request's killSignal, SIGTERM by default) to every member, up to
 * grace_ms (0..PWS_MS_MAX) for all of them to be gone, SIGKILL to the rest,
 * confirm. reason is one of PWS_REASON_*. Returns at once (0); the EXIT event
 * reports the outcome with the given reason. Returns PWS_EBADHANDLE, or
 * PWS_EINVAL for an unknown reason, a signal or a grace out of range. Cancelling twice
 * or after exit is a no-op returning 0. */
int32_t pws_cancel(int64_t h, int32_t reason, int32_t sig, int64_t grace_ms);

/* Forgets the handle: the library stops tracking the child. If it is still
 * running it is cancelled first (reason "host", SIGKILL to its tree). After this
 * call no event of the child is queued. Returns 0 or PWS_EBADHANDLE. */
int32_t pws_forget(int64_t h);

/* Writes the pids of every live descendant of pid (children first, not pid
 * itself) as a JSON array into buf. Returns bytes written, or -(needed) when
 * cap is too small. Works for any pid, supervised or not. */
int64_t pws_descendants(int64_t pid, uint8_t *buf, int64_t cap);

/* Whether pid (1..INT32_MAX) is a live process: PWS_PROC_ALIVE (a process of
 * another user counts, even where the OS hides it), PWS_PROC_ZOMBIE (ended, not
 * reaped; Windows has none), PWS_PROC_GONE; or PWS_EINVAL for a pid out of range.
 * Works for any pid, supervised or not. Any thread. */
int32_t pws_process_state(int64_t pid);

/* Sends sig (0..PWS_SIG_MAX; 0 only checks) once to pid's tree, for a pid that
 * is not supervised (a supervised child's tree is pws_signal's): to pid's process
 * group if pid leads one, to pid, and to every descendant of pid that the process
 * table shows (as pws_descendants), each through the core's own checks: never
 * init, never the host (nor its group), and on Linux only the very process the
 * table listed (a pidfd and its start time), so a re-used pid is not hit.
 * Windows has no signals: any sig but 0 terminates each process (as libuv's kill).
 * Writes the pids it reached as a JSON array into buf, as pws_descendants does,
 * and returns the bytes written; the signals are sent whatever cap is: when the
 * list does not fit, the pids that fit are written (still an array), so give 12
 * bytes per process that may be listed. Returns PWS_EINVAL for pid <= 1, the
 * host's own pid, a pid beyond INT32_MAX, a signal out of range, or a cap below
 * 2. Any thread. */
int64_t pws_signal_tree(int64_t pid, int32_t sig, uint8_t *buf, int64_t cap);

/* Sets a terminal session's size (rows, cols: 1..PWS_TERM_SIZE_MAX); the kernel
 * sends SIGWINCH to the terminal's foreground process group. Returns 0,
 * PWS_EBADHANDLE, PWS_EINVAL (not a terminal session, a size out of range, or
 * the session has ended), or a negative errno. */
int32_t pws_resize(int64_t h, int32_t rows, int32_t cols);

/* Writes what a terminal session's terminal says of its foreground process group,
 * as a JSON object into buf:
 *   {"processGroupId": the foreground group (tcgetpgrp; 0: none),
 *    "members": [pid, ...] the tree's members in it,
 *    "waiting": [pid, ...] those proved blocked in a read of this terminal,
 *    "inputWaiting": bool, waiting is not empty,
 *    "proof": "procfs" (Linux: /proc/<pid>/syscall shows a read of a fd that
 *             is this terminal, or wchan is n_tty_read) | "unsupported" (no
 *             proof on this platform: inputWaiting is always false)}
 * Returns bytes written, -(needed) when cap is too small, PWS_EBADHANDLE, or
 * PWS_EINVAL (not a terminal session, or it has ended; cap < 0 or buf NULL). */
int64_t pws_foreground(int64_t h, uint8_t *buf, int64_t cap);

/* Sends sig (1..PWS_SIG_MAX) once to every member of the tree in the terminal's
 * foreground process group, each through the core's per-process checks (never a
 * bare kill of a group id). Writes {"processGroupId": n, "reached": [pid, ...]}
 * into buf (reached is empty once the leader has exited, or with no foreground
 * group). Returns bytes written, -(needed) when cap is too small (the signal went
 * out all the same), PWS_EBADHANDLE, or PWS_EINVAL as pws_foreground, and for a
 * signal out of range. */
int64_t pws_signal_foreground(int64_t h, int32_t sig, uint8_t *buf, int64_t cap);

/* Settings, as a JSON object in json[0..len) (UTF-8, copied):
 *   "helper": "" for the default ("helperPath"), "0" or "off" to run without
 *             it, or the helper's path;
 *   "helperPath": the helper executable the host found (exact path; the library
 *             never looks for its own file, so without it the default helper is
 *             reported missing by pws_containment);
 *   "cgroup": "" to use a cgroup v2 subtree when one is writable, "0" or "off"
 *             never to, or the cgroup directory to create the subtree in.
 * A key that is absent keeps its value. They override PAWWORK_SUPERVISOR_HELPER and
 * PAWWORK_SUPERVISOR_CGROUP as the library saw them at load time, and take effect
 * at the helper's next start. Any thread. Returns 0, or PWS_EINVAL for bad JSON. */
int32_t pws_configure(const uint8_t *json, int64_t len);

/* Writes how the next spawn's tree will be contained, as a JSON object into buf
 * (the caller's; nothing is kept):
 *   {"mode": "helper" (Linux: the per-host helper) | "fallback" (no helper) |
 *            "job" (Windows: a Job Object per tree),
 *    "helperPid", "helperPath" (mode "helper"),
 *    "reason" (why the helper is not used),
 *    "cgroup", "cgroupReason" (the helper's cgroup v2 subtree, or why none),
 *    "guarantees": [string, ...]}
 * (fields that do not apply are absent). Starts the helper if it is not running
 * yet, and waits up to PWS_HELLO_WAIT_MS for a just-started helper's hello (a
 * call made while another waits waits for it too). Any thread. Returns bytes
 * written, or -(needed) when cap is too small. */
int64_t pws_containment(uint8_t *buf, int64_t cap);

/* Function pointer types used by the dynamic loader. */
typedef int32_t (*pws_abi_version_fn)(void);
typedef int64_t (*pws_hub_open_fn)(void);
typedef int32_t (*pws_hub_close_fn)(int64_t);
typedef int64_t (*pws_hub_next_fn)(int64_t, uint8_t *, int64_t, int32_t);
typedef int64_t (*pws_spawn_fn)(int64_t, const uint8_t *, int64_t, uint8_t *, int64_t, int64_t *);
typedef int32_t (*pws_write_fn)(int64_t, const uint8_t *, int64_t, int64_t);
typedef int32_t (*pws_close_stdin_fn)(int64_t);
typedef int32_t (*pws_flow_fn)(int64_t, int32_t, int32_t);
typedef int32_t (*pws_signal_fn)(int64_t, int32_t, int32_t);
typedef int32_t (*pws_cancel_fn)(int64_t, int32_t, int32_t, int64_t);
typedef int32_t (*pws_forget_fn)(int64_t);
typedef int64_t (*pws_descendants_fn)(int64_t, uint8_t *, int64_t);
typedef int32_t (*pws_process_state_fn)(int64_t);
typedef int64_t (*pws_signal_tree_fn)(int64_t, int32_t, uint8_t *, int64_t);
typedef int64_t (*pws_containment_fn)(uint8_t *, int64_t);
typedef int32_t (*pws_configure_fn)(const uint8_t *, int64_t);
typedef int32_t (*pws_resize_fn)(int64_t, int32_t, int32_t);
typedef int64_t (*pws_foreground_fn)(int64_t, uint8_t *, int64_t);
typedef int64_t (*pws_signal_foreground_fn)(int64_t, int32_t, uint8_t *, int64_t);

#ifdef __cplusplus
}
#endif

#endif /* PWS_H */
