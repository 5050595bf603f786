// The C floors of `make bench`: what the kernel and libc cost without any runtime, for the
// ×floor column. One program, one subcommand per measure; each prints one JSON object.
//   floor spawn N          posix_spawn /bin/true with stdout/stderr pipes, read both to
//                          EOF, waitpid: {"ms":[per spawn]}
//   floor cancel N         N `sleep 1000` with pipes, then SIGTERM each and waitpid all:
//                          {"ms", "cpuMs", "spawnMs"}
//   floor tree SCRIPT K M  K times: the tree script in a session of its own, read its M
//                          "pid … N" lines, killpg(SIGTERM), then poll /proc
//                          until no member is left: {"ms":[…], "cpuMs":[…], "left":n}
//   floor read BYTES       head -c BYTES /dev/zero into a pipe, read 64 KiB at a time:
//                          {"ms", "cpuMs", "bytes"}
//   floor collect BYTES    the same into one growing (realloc) buffer, as run() collects:
//                          {"ms", "peakKb", "baseKb", "bytes"}
//   floor hold N           N idle processes (fork, pause) for "other processes on the
//                          machine"; prints "ready", ends them when stdin closes.
//   floor busy             a busy loop (the loaded throughput runs start two).
// Every wait is bounded (kBoundMs); a bound that fires is said in the JSON ("bound":1).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;
static const double kBoundMs = 60000;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// CPU of this process and of its waited-for children, ms.
static double cpu_ms(void) {
  struct rusage a, b;
  getrusage(RUSAGE_SELF, &a);
  getrusage(RUSAGE_CHILDREN, &b);
  double s = 0;
  s += a.ru_utime.tv_sec * 1e3 + a.ru_utime.tv_usec / 1e3 + a.ru_stime.tv_sec * 1e3 + a.ru_stime.tv_usec / 1e3;
  s += b.ru_utime.tv_sec * 1e3 + b.ru_utime.tv_usec / 1e3 + b.ru_stime.tv_sec * 1e3 + b.ru_stime.tv_usec / 1e3;
  return s;
}

// Spawns argv with stdout (and stderr when err_fd) on fresh pipes; returns the pid.
static pid_t spawn_piped(char* const argv[], int* out_fd, int* err_fd, int setsid_) {
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) != 0) return -1;
  if (err_fd && pipe2(e, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, o[1], 1);
  if (err_fd) posix_spawn_file_actions_adddup2(&fa, e[1], 2);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  if (setsid_) posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(o[1]);
  if (err_fd) close(e[1]);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  *out_fd = o[0];
  if (err_fd) *err_fd = e[0];
  return pid;
}

static void drain(int fd) {
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  close(fd);
}

static int cmd_spawn(int n) {
  char* argv[] = {"/bin/true", NULL};
  printf("{\"ms\":[");
  for (int i = 0; i < n; i++) {
    double t0 = now_ms();
    int o, e, st;
    pid_t pid = spawn_piped(argv, &o, &e, 0);
    if (pid < 0) return perror("posix_spawn"), 1;
    drain(o);
    drain(e);
    waitpid(pid, &st, 0);
    printf("%s%.4f", i ? "," : "", now_ms() - t0);
  }
  printf("]}\n");
  return 0;
}

static int cmd_cancel(int n) {
  char* argv[] = {"/bin/sleep", "1000", NULL};
  pid_t* pids = calloc(n, sizeof *pids);
  int* fds = calloc(2 * n, sizeof *fds);
  double s0 = now_ms();
  for (int i = 0; i < n; i++) {
    pids[i] = spawn_piped(argv, &fds[2 * i], &fds[2 * i + 1], 0);
    if (pids[i] < 0) return perror("posix_spawn"), 1;
  }
  double spawn = now_ms() - s0;
  usleep(200 * 1000);
  double c0 = cpu_ms(), t0 = now_ms();
  for (int i = 0; i < n; i++) kill(pids[i], SIGTERM);
  for (int i = 0; i < n; i++) {
    int st;
    waitpid(pids[i], &st, 0);
    close(fds[2 * i]);
    close(fds[2 * i + 1]);
  }
  printf("{\"ms\":%.3f,\"cpuMs\":%.3f,\"spawnMs\":%.3f}\n", now_ms() - t0, cpu_ms() - c0, spawn);
  return 0;
}

// Alive and not a zombie (a zombie has ended: pid 1 may reap orphans late).
static int alive(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p || p[1] == 0) return 0;
  return p[2] != 'Z' && p[2] != 'X';
}

static int cmd_tree(const char* script, int k, int expect) {
  printf("{\"ms\":[");
  int left_total = 0, bound = 0;
  double cpus[1024];
  if (k > 1024) k = 1024;
  for (int r = 0; r < k; r++) {
    char* argv[] = {"/bin/sh", (char*)script, NULL};
    int o;
    pid_t leader = spawn_piped(argv, &o, NULL, 1);
    if (leader < 0) return perror("posix_spawn"), 1;
    static char text[1 << 16];
    size_t len = 0;
    double t = now_ms();
    while (len < sizeof text - 1 && now_ms() - t < kBoundMs) {
      ssize_t n = read(o, text + len, sizeof text - 1 - len);
      if (n <= 0) break;
      len += n;
      text[len] = 0;
      int lines = 0;
      for (char* q = text; (q = strstr(q, "pid ")); q += 4) lines++;
      if (lines >= expect && text[len - 1] == '\n') break;
    }
    pid_t pids[4096];
    int np = 0;
    for (char* line = text; line && *line && np < 4096;) {
      char* nl = strchr(line, '\n');
      if (nl) *nl = 0;
      char* sp = strrchr(line, ' ');
      if (strncmp(line, "pid ", 4) == 0 && sp) pids[np++] = atoi(sp + 1);
      line = nl ? nl + 1 : NULL;
    }
    double c0 = cpu_ms(), t0 = now_ms();
    killpg(leader, SIGTERM);
    int st;
    waitpid(leader, &st, 0);
    close(o);
    // Poll the first member still alive, 1 ms apart: cheap, and the same for every column.
    int i = 0;
    while (i < np && now_ms() - t0 < kBoundMs) {
      if (!alive(pids[i])) {
        i++;
        continue;
      }
      usleep(1000);
    }
    double ms = now_ms() - t0;
    cpus[r] = cpu_ms() - c0;
    for (int j = 0; j < np; j++) {
      if (alive(pids[j])) {
        left_total++;
        bound = 1;
        kill(pids[j], SIGKILL);
      }
    }
    printf("%s%.3f", r ? "," : "", ms);
  }
  printf("],\"cpuMs\":[");
  for (int r = 0; r < k; r++) printf("%s%.3f", r ? "," : "", cpus[r]);
  printf("],\"left\":%d,\"bound\":%d}\n", left_total, bound);
  return 0;
}

static long rss_kb(const char* field) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t fl = strlen(field);
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, field, fl) == 0) v = atol(line + fl + 1);
  }
  if (f) fclose(f);
  return v;
}

static int cmd_read(long long bytes, int collect) {
  char count[32];
  snprintf(count, sizeof count, "%lld", bytes);
  char* argv[] = {"/usr/bin/head", "-c", count, "/dev/zero", NULL};
  long base = rss_kb("VmRSS:");
  double c0 = cpu_ms(), t0 = now_ms();
  int o;
  pid_t pid = spawn_piped(argv, &o, NULL, 0);
  if (pid < 0) return perror("posix_spawn"), 1;
  static char buf[1 << 16];
  long long got = 0;
  char* all = NULL;
  size_t cap = 0;
  for (;;) {
    ssize_t n = read(o, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (collect) {
      if ((size_t)(got + n) > cap) {
        cap = cap ? cap * 2 : 1 << 16;
        all = realloc(all, cap);
      }
      memcpy(all + got, buf, n);
    }
    got += n;
  }
  close(o);
  int st;
  waitpid(pid, &st, 0);
  double ms = now_ms() - t0, cpu = cpu_ms() - c0;
  if (collect) {
    printf("{\"ms\":%.3f,\"peakKb\":%ld,\"baseKb\":%ld,\"bytes\":%lld}\n", ms, rss_kb("VmHWM:"), base, got);
  } else {
    printf("{\"ms\":%.3f,\"cpuMs\":%.3f,\"bytes\":%lld}\n", ms, cpu, got);
  }
  free(all);
  return 0;
}

static int cmd_hold(int n) {
  pid_t* pids = calloc(n, sizeof *pids);
  for (int i = 0; i < n; i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      // Ends with its holder even if the holder is SIGKILLed.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() == 1) _exit(0);
      for (;;) pause();
    }
    if (pids[i] < 0) return perror("fork"), 1;
  }
  printf("ready\n");
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  if (argc >= 3 && !strcmp(argv[1], "spawn")) return cmd_spawn(atoi(argv[2]));
  if (argc >= 3 && !strcmp(argv[1], "cancel")) return cmd_cancel(atoi(argv[2]));
  if (argc >= 4 && !strcmp(argv[1], "tree")) return cmd_tree(argv[2], atoi(argv[3]), argc >= 5 ? atoi(argv[4]) : 101);
  if (argc >= 3 && !strcmp(argv[1], "read")) return cmd_read(atoll(argv[2]), 0);
  if (argc >= 3 && !strcmp(argv[1], "collect")) return cmd_read(atoll(argv[2]), 1);
  if (argc >= 3 && !strcmp(argv[1], "hold")) return cmd_hold(atoi(argv[2]));
  if (argc >= 2 && !strcmp(argv[1], "busy")) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the bench
    for (volatile unsigned long i = 0;; i++) {
    }
  }
  fprintf(stderr, "usage: floor spawn N | cancel N | tree SCRIPT K M | read BYTES | collect BYTES | hold N | busy\n");
  return 2;
}
