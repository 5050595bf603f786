// Linked into the addon of the linux-*-gnu packages only (scripts/packages/build.sh).
// The addon carries libstdc++ and libsupc++ statically (no GLIBCXX requirement on the
// user's system), and GCC 12's copies refer to two glibc symbols newer than the floor
// (2.28): __libc_single_threaded (2.32) and arc4random (2.36). Both are defined here,
// hidden, so those references bind inside the addon and never reach the user's glibc.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h> /* getrandom: glibc 2.25 */

/* 0: "other threads may exist", so libstdc++ always takes its atomic paths (the safe answer). */
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;

/* glibc's arc4random never fails: it aborts if the kernel cannot give randomness. */
__attribute__((visibility("hidden"))) uint32_t arc4random(void) {
  uint32_t v;
  for (;;) {
    ssize_t n = getrandom(&v, sizeof v, 0);
    if (n == (ssize_t)sizeof v) return v;
    if (n < 0 && errno != EINTR) abort();
  }
}
