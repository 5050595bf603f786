// make test-musl: the Go library built for musl (musl-gcc), run by a musl program under
// musl's own loader: the ABI number, then one real child through the C ABI
// (sh -c 'echo …; exit 7'), its output and its exit read from the hub. Built with musl-gcc;
// prints what it saw, exits non-zero on any mismatch. Every wait is bounded
// (pws_hub_next's timeout, 20 s overall).
//
//   musl-smoke <lib>     dlopen(lib), as the addon loads the library (see test-musl: musl
//                        refuses it, the reason the linux-x64-musl package is not built)
//   musl-smoke --linked  the library linked in (NEEDED), loaded at start-up
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "pws.h"

#define LOAD(var, name) \
  var = (name##_t)dlsym(lib, #name); \
  if (!var) { fprintf(stderr, "FAIL: no %s in the library: %s\n", #name, dlerror()); return 1; }

typedef int32_t (*pws_abi_version_t)(void);
typedef int64_t (*pws_hub_open_t)(void);
typedef int32_t (*pws_hub_close_t)(int64_t);
typedef int64_t (*pws_hub_next_t)(int64_t, uint8_t *, int64_t, int32_t);
typedef int64_t (*pws_spawn_t)(int64_t, const uint8_t *, int64_t, uint8_t *, int64_t, int64_t *);

static pws_abi_version_t abi_version;
static pws_hub_open_t hub_open;
static pws_hub_close_t hub_close;
static pws_hub_next_t hub_next;
static pws_spawn_t spawn;

static uint8_t buf[PWS_BATCH_MIN];

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: musl-smoke <libpawwork_supervisor.so> | --linked\n"); return 2; }
  void *lib = strcmp(argv[1], "--linked") == 0 ? dlopen(NULL, RTLD_NOW) : dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) { fprintf(stderr, "FAIL: dlopen: %s\n", dlerror()); return 1; }
  LOAD(abi_version, pws_abi_version) LOAD(hub_open, pws_hub_open) LOAD(hub_close, pws_hub_close)
  LOAD(hub_next, pws_hub_next) LOAD(spawn, pws_spawn)
  int32_t abi = abi_version();
  printf("loaded %s under musl: ABI %d\n", argv[1], abi);
  if (abi != PWS_ABI_VERSION) { fprintf(stderr, "FAIL: ABI %d, pws.h says %d\n", abi, PWS_ABI_VERSION); return 1; }

  int64_t hub = hub_open();
  const char *req = "{\"argv\":[\"sh\",\"-c\",\"echo from-musl; exit 7\"],\"stdout\":\"pipe\",\"stderr\":\"pipe\"}";
  uint8_t err[1024];
  int64_t pid = 0;
  int64_t h = spawn(hub, (const uint8_t *)req, (int64_t)strlen(req), err, sizeof err, &pid);
  if (h <= 0) { fprintf(stderr, "FAIL: pws_spawn: %.*s\n", (int)-h, (const char *)err); return 1; }
  printf("spawned pid %lld\n", (long long)pid);

  char out[256] = {0};
  size_t outlen = 0;
  int exited = 0;
  char outcome[1024] = {0};
  time_t deadline = time(NULL) + 20;
  while (!exited && time(NULL) < deadline) {
    int64_t n = hub_next(hub, buf, sizeof buf, 1000);
    if (n < 0) { fprintf(stderr, "FAIL: pws_hub_next: %lld\n", (long long)n); return 1; }
    for (int64_t at = 0; at + PWS_RECORD_HEADER_SIZE <= n;) {
      pws_record_header rh;
      memcpy(&rh, buf + at, sizeof rh);
      const uint8_t *payload = buf + at + PWS_RECORD_HEADER_SIZE;
      if (rh.type == PWS_EV_STDOUT && outlen + rh.payload_len < sizeof out) {
        memcpy(out + outlen, payload, rh.payload_len);
        outlen += rh.payload_len;
      }
      if (rh.type == PWS_EV_EXIT) {
        exited = 1;
        snprintf(outcome, sizeof outcome, "%.*s", (int)rh.payload_len, (const char *)payload);
        printf("exit event: %s\n", outcome);
      }
      at += PWS_RECORD_HEADER_SIZE + rh.payload_len;
    }
  }
  hub_close(hub);
  if (!exited) { fprintf(stderr, "FAIL: bound fired: no exit event within 20 s\n"); return 1; }
  printf("stdout: %s", out);
  if (strcmp(out, "from-musl\n") != 0) { fprintf(stderr, "FAIL: stdout %s, want from-musl\n", out); return 1; }
  if (!strstr(outcome, "\"code\":7")) { fprintf(stderr, "FAIL: outcome without \"code\":7\n"); return 1; }
  printf("ok   linux-x64-musl library: loaded by musl, child spawned, output and exit read\n");
  return 0;
}
