/*
 * The Go server as a child process (see go_process.h for why and the frame layout).
 *
 * Ownership, in one place:
 * - The child, its two sockets and the signal reader thread are process-wide and live
 *   until the process exits; the child ends when its call socket closes, so it never
 *   outlives Node, whatever way Node ends.
 * - A link (handle, fn, ctx) is added before the listen call is sent (the child may
 *   signal before its answer arrives) and removed by whichever comes first: a failed
 *   listen, RN_SIGNAL_CLOSED, rn_process_detach, rn_process_free, or the child's death
 *   (RN_SIGNAL_FAILED). fn is called only with links_mutex held, so once a link is
 *   removed no call of fn for it is running or can start: rn_process_detach keeps
 *   rn_detach's promise.
 * - One call is on the call socket at a time (call_mutex): the child answers in order.
 *
 * Plain C (no C++ runtime), so that the same file builds into a musl test host with
 * nothing but a C compiler. Linux only: binding.gyp compiles it there alone.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* before any system header: SOCK_CLOEXEC, F_DUPFD_CLOEXEC */
#endif

#include "go_process.h"

#if defined(__linux__)

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct link {
  uint64_t handle;
  rn_signal_fn fn;
  void *ctx;
  int listening; /* its listen call succeeded: the child's death is reported to it */
  struct link *next;
};

static pthread_mutex_t start_mutex = PTHREAD_MUTEX_INITIALIZER;
static int start_done;
static int start_rc = -1;
static char start_error[512];

static int call_fd = -1;
static int signal_fd = -1;
static atomic_long child_pid;
static pthread_mutex_t call_mutex = PTHREAD_MUTEX_INITIALIZER;
static atomic_int broken; /* a call failed: the child is dead or being killed */

static pthread_mutex_t links_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct link *links;
static int swept;      /* the child is gone and every listening link was told */
static char ending[160]; /* how the child ended, once known */

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* Reads exactly n bytes; 0 on end of file or error. */
static int read_full(int fd, void *buf, size_t n) {
  uint8_t *p = (uint8_t *)buf;
  while (n > 0) {
    ssize_t got = recv(fd, p, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 0;
    p += got;
    n -= (size_t)got;
  }
  return 1;
}

/* Writes a header and a payload whole; 0 on error. MSG_NOSIGNAL: a dead child is an
   error here, never a SIGPIPE for Node. */
static int send_all(int fd, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len) {
  struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = body_len > 0 ? 2 : 1;
  while (msg.msg_iovlen > 0) {
    ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return 0;
    while (msg.msg_iovlen > 0 && (size_t)sent >= msg.msg_iov[0].iov_len) {
      sent -= (ssize_t)msg.msg_iov[0].iov_len;
      msg.msg_iov++;
      msg.msg_iovlen--;
    }
    if (msg.msg_iovlen > 0) {
      msg.msg_iov[0].iov_base = (uint8_t *)msg.msg_iov[0].iov_base + sent;
      msg.msg_iov[0].iov_len -= (size_t)sent;
    }
  }
  return 1;
}

/* Copies text into out (capacity cap), NUL-terminated and truncated. */
static void write_out(char *out, size_t cap, const char *text) {
  if (out == NULL || cap == 0) return;
  size_t n = strlen(text);
  if (n > cap - 1) n = cap - 1;
  memcpy(out, text, n);
  out[n] = 0;
}

/* The error JSON for a call the child can no longer answer. listen's shape carries
   errno and syscall as Node's errors do; the others are rn_create's {kind, code}. */
static void write_gone(char *out, size_t cap, int for_listen) {
  char how[160];
  pthread_mutex_lock(&links_mutex);
  snprintf(how, sizeof how, "%s", ending[0] ? ending : "has ended");
  pthread_mutex_unlock(&links_mutex);
  char text[512];
  snprintf(text, sizeof text,
           "%s\"code\":\"RUNNER_NATIVE_SERVER_EXITED\",%s\"message\":\"the runner-native server process "
           "(runner-native-server, pid %ld) %s; its servers are gone: restart this Node process\"}",
           for_listen ? "{" : "{\"kind\":\"Error\",", for_listen ? "\"errno\":0,\"syscall\":\"listen\"," : "",
           (long)atomic_load(&child_pid), how);
  write_out(out, cap, text);
}

/* NUL-terminates an error JSON the child wrote into out (it sends at most cap - 1 bytes, as
   the library's writeOut does). */
static void terminate(char *out, size_t cap, size_t len) {
  if (cap > 0) out[len < cap ? len : cap - 1] = 0;
}

struct reply {
  int ok;         /* the child answered */
  int64_t result; /* its result */
  size_t len;     /* payload bytes written into out */
};

/* One call: request out, response in (its payload straight into out). A broken socket
   or a malformed response marks the child broken and kills it; the signal reader then
   reaps it and tells every listening server. */
static struct reply call(uint8_t op, uint64_t handle, int64_t arg, const void *in, size_t in_len, void *out, size_t cap) {
  struct reply r = {0, 0, 0};
  if (call_fd < 0 || atomic_load(&broken)) return r;
  if (in_len > UINT32_MAX - (RN_PROCESS_REQUEST_HEADER - 4)) return r; /* cannot be framed; the child lives on */
  uint8_t head[RN_PROCESS_REQUEST_HEADER] = {0};
  put32(head, (uint32_t)(RN_PROCESS_REQUEST_HEADER - 4 + in_len));
  head[4] = op;
  put64(head + 8, handle);
  put64(head + 16, (uint64_t)arg);
  put64(head + 24, (uint64_t)cap);
  uint8_t response[RN_PROCESS_RESPONSE_HEADER];
  pthread_mutex_lock(&call_mutex);
  if (!send_all(call_fd, head, sizeof head, (const uint8_t *)in, in_len)) goto fail;
  if (!read_full(call_fd, response, sizeof response)) goto fail;
  uint32_t length = get32(response);
  if (length < RN_PROCESS_RESPONSE_HEADER - 4 || length - (RN_PROCESS_RESPONSE_HEADER - 4) > cap) goto fail;
  r.result = (int64_t)get64(response + 4);
  r.len = length - (RN_PROCESS_RESPONSE_HEADER - 4);
  if (r.len > 0 && !read_full(call_fd, out, r.len)) goto fail;
  r.ok = 1;
  pthread_mutex_unlock(&call_mutex);
  return r;
fail:
  if (!atomic_exchange(&broken, 1)) kill((pid_t)atomic_load(&child_pid), SIGKILL);
  pthread_mutex_unlock(&call_mutex);
  r.ok = 0;
  r.result = 0;
  r.len = 0;
  return r;
}

/* Unlinks and returns the link of handle (NULL if none); links_mutex held. */
static struct link *unlink_locked(uint64_t handle) {
  for (struct link **p = &links; *p != NULL; p = &(*p)->next) {
    if ((*p)->handle == handle) {
      struct link *found = *p;
      *p = found->next;
      return found;
    }
  }
  return NULL;
}

static void forget(uint64_t handle) {
  pthread_mutex_lock(&links_mutex);
  free(unlink_locked(handle));
  pthread_mutex_unlock(&links_mutex);
}

/* The signal reader: delivers the child's signals, then, when its socket ends, reaps
   the child and tells every listening server with RN_SIGNAL_FAILED. */
static void *read_signals(void *unused) {
  (void)unused;
  uint8_t frame[RN_PROCESS_SIGNAL_FRAME];
  while (read_full(signal_fd, frame, sizeof frame)) {
    uint64_t handle = get64(frame);
    int32_t what = (int32_t)get32(frame + 8);
    pthread_mutex_lock(&links_mutex);
    for (struct link *l = links; l != NULL; l = l->next) {
      if (l->handle != handle) continue;
      l->fn(l->ctx, what);
      if (what == RN_SIGNAL_CLOSED) free(unlink_locked(handle)); /* its last signal */
      break;
    }
    pthread_mutex_unlock(&links_mutex);
  }
  atomic_store(&broken, 1);
  pid_t pid = (pid_t)atomic_load(&child_pid);
  kill(pid, SIGKILL); /* the socket ended: whatever it is doing, it is done */
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  pthread_mutex_lock(&links_mutex);
  if (reaped == pid && WIFEXITED(status)) {
    snprintf(ending, sizeof ending, "exited with status %d", WEXITSTATUS(status));
  } else if (reaped == pid && WIFSIGNALED(status)) {
    snprintf(ending, sizeof ending, "was killed by signal %d", WTERMSIG(status));
  } else {
    snprintf(ending, sizeof ending, "has ended");
  }
  swept = 1;
  struct link **p = &links;
  while (*p != NULL) {
    struct link *l = *p;
    if (!l->listening) { /* its listen call is failing now: it unlinks itself */
      p = &l->next;
      continue;
    }
    l->fn(l->ctx, RN_SIGNAL_FAILED);
    *p = l->next;
    free(l);
  }
  pthread_mutex_unlock(&links_mutex);
  return NULL;
}

/* A descriptor numbered above the two the child gets, so that adddup2 never dups a
   descriptor onto itself (which would leave FD_CLOEXEC set on some libcs). */
static int above_child_fds(int fd) {
  if (fd > RN_PROCESS_SIGNAL_FD) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, RN_PROCESS_SIGNAL_FD + 1);
  close(fd);
  return moved;
}

static int start(const char *path, char *err, size_t cap) {
  int calls[2] = {-1, -1}, signals[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, calls) != 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, signals) != 0) {
    snprintf(err, cap, "cannot start %s: socketpair: %s", path, strerror(errno));
    goto fail;
  }
  calls[1] = above_child_fds(calls[1]);
  signals[1] = above_child_fds(signals[1]);
  if (calls[1] < 0 || signals[1] < 0) {
    snprintf(err, cap, "cannot start %s: fcntl: %s", path, strerror(errno));
    goto fail;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, calls[1], RN_PROCESS_CALL_FD);
  posix_spawn_file_actions_adddup2(&actions, signals[1], RN_PROCESS_SIGNAL_FD);
  /* stdin: nothing to read, and Node's own stdin (a pipe, a terminal) is not held open by it.
     stdout and stderr stay Node's: it prints only a fatal protocol error, to stderr. */
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none); /* not the calling thread's mask */
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  char *argv[] = {(char *)path, NULL};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, path, &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    snprintf(err, cap, "cannot start %s: %s", path, strerror(rc));
    goto fail;
  }
  atomic_store(&child_pid, pid);
  close(calls[1]);
  close(signals[1]);
  call_fd = calls[0];
  signal_fd = signals[0];

  /* The reader blocks every signal: they stay Node's to handle. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t thread_attr;
  pthread_attr_init(&thread_attr);
  pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&thread_attr, 64 * 1024);
  pthread_t reader;
  rc = pthread_create(&reader, &thread_attr, read_signals, NULL);
  pthread_attr_destroy(&thread_attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    snprintf(err, cap, "cannot start the signal reader: %s", strerror(rc));
    close(call_fd); /* the child sees its end and exits; nothing reads signals */
    call_fd = -1;
    return -1;
  }
  return 0;
fail:
  for (int i = 0; i < 2; i++) {
    if (calls[i] >= 0) close(calls[i]);
    if (signals[i] >= 0) close(signals[i]);
  }
  return -1;
}

int rn_process_start(const char *path, char *err, size_t err_cap) {
  pthread_mutex_lock(&start_mutex); /* worker threads may start concurrently */
  if (!start_done) {
    start_done = 1;
    start_rc = start(path, start_error, sizeof start_error);
  }
  int rc = start_rc;
  if (rc != 0) write_out(err, err_cap, start_error);
  pthread_mutex_unlock(&start_mutex);
  return rc;
}

int64_t rn_process_pid(void) { return (int64_t)atomic_load(&child_pid); }

int64_t rn_process_constants(uint8_t *buf, size_t cap) {
  struct reply r = call(RN_OP_CONSTANTS, 0, 0, NULL, 0, buf, cap);
  return r.ok ? r.result : 0;
}

int64_t rn_process_check_config(char *config, size_t config_len, char *out, size_t out_cap) {
  struct reply r = call(RN_OP_CHECK_CONFIG, 0, 0, config, config_len, out, out_cap);
  if (!r.ok) {
    write_gone(out, out_cap, 0);
    return out_cap > 0 ? (int64_t)strlen(out) : 1;
  }
  if (r.result != 0) terminate(out, out_cap, r.len);
  return r.result;
}

uint64_t rn_process_create(char *config, size_t config_len, char *err, size_t err_cap) {
  struct reply r = call(RN_OP_CREATE, 0, 0, config, config_len, err, err_cap);
  if (!r.ok) {
    write_gone(err, err_cap, 0);
    return 0;
  }
  if (r.result == 0) terminate(err, err_cap, r.len);
  return (uint64_t)r.result;
}

int32_t rn_process_register(uint64_t h, uint8_t *batch, size_t len) {
  struct reply r = call(RN_OP_REGISTER, h, 0, batch, len, NULL, 0);
  return r.ok ? (int32_t)r.result : -1;
}

int32_t rn_process_listen(uint64_t h, rn_signal_fn fn, void *ctx, char *err, size_t err_cap) {
  struct link *l = (struct link *)calloc(1, sizeof *l);
  if (l == NULL) {
    write_out(err, err_cap, "{\"code\":\"ENOMEM\",\"errno\":-12,\"syscall\":\"listen\",\"message\":\"out of memory\"}");
    return -1;
  }
  l->handle = h;
  l->fn = fn;
  l->ctx = ctx;
  pthread_mutex_lock(&links_mutex);
  int gone = swept;
  if (!gone) { /* before the call: the child may signal before it answers */
    l->next = links;
    links = l;
  }
  pthread_mutex_unlock(&links_mutex);
  if (gone) {
    free(l);
    write_gone(err, err_cap, 1);
    return -1;
  }
  struct reply r = call(RN_OP_LISTEN, h, 0, NULL, 0, err, err_cap);
  if (!r.ok || r.result < 0) {
    forget(h);
    if (!r.ok) write_gone(err, err_cap, 1);
    else terminate(err, err_cap, r.len);
    return -1;
  }
  pthread_mutex_lock(&links_mutex);
  l->listening = 1;
  if (swept) { /* the child died after answering, before the sweep could see this link */
    l->fn(l->ctx, RN_SIGNAL_FAILED);
    free(unlink_locked(h));
  }
  pthread_mutex_unlock(&links_mutex);
  return (int32_t)r.result;
}

int64_t rn_process_exchange(uint64_t h, int32_t mode, uint8_t *answers, size_t len, uint8_t *buf, size_t cap) {
  struct reply r = call(RN_OP_EXCHANGE, h, mode, answers, len, buf, cap);
  return r.ok ? r.result : 0; /* gone: nothing more comes; RN_SIGNAL_FAILED says why */
}

int64_t rn_process_headers(uint64_t h, uint32_t id, uint8_t *buf, size_t cap) {
  struct reply r = call(RN_OP_HEADERS, h, id, NULL, 0, buf, cap);
  return r.ok ? r.result : 0;
}

int64_t rn_process_remote(uint64_t h, uint32_t id, uint8_t *buf, size_t cap) {
  struct reply r = call(RN_OP_REMOTE, h, id, NULL, 0, buf, cap);
  return r.ok ? r.result : 0;
}

void rn_process_close(uint64_t h, int64_t timeout_ms) { call(RN_OP_CLOSE, h, timeout_ms, NULL, 0, NULL, 0); }

void rn_process_close_connections(uint64_t h, int32_t idle_only) {
  call(RN_OP_CLOSE_CONNECTIONS, h, idle_only, NULL, 0, NULL, 0);
}

void rn_process_detach(uint64_t h) {
  call(RN_OP_DETACH, h, 0, NULL, 0, NULL, 0); /* answered once the child sends no more for h */
  forget(h);                                   /* and what is still in the socket is dropped */
}

void rn_process_free(uint64_t h) {
  call(RN_OP_FREE, h, 0, NULL, 0, NULL, 0);
  forget(h);
}

int32_t rn_process_stats(uint64_t h, uint64_t *out, size_t n) {
  if (n > SIZE_MAX / 8) n = SIZE_MAX / 8;
  struct reply r = call(RN_OP_STATS, h, 0, NULL, 0, out, n * 8);
  if (!r.ok || r.result < 0 || (size_t)r.result * 8 != r.len) return 0;
  /* The payload is little-endian u64s: on a big-endian host they would need swapping. */
  return (int32_t)r.result;
}

#endif /* __linux__ */
