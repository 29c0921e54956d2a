/*
 * A musl C host that drives the addon's process transport (addon/go_process.c) the way
 * the addon does: start the Go server program, create and listen, serve one HTTP request
 * that Go answers alone (an unknown task: 404 with the protocol's envelope), read the
 * counters, close and wait for the last signal, free. Built static for musl by
 * scripts/test-musl.js with zig; prints "ok" and exits 0, or says what failed and exits 1.
 *
 *   host <path of runner-native-server>
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "go_process.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int closed_signals;

static void on_signal(void *ctx, int32_t what) {
  (void)ctx;
  pthread_mutex_lock(&mu);
  if (what == RN_SIGNAL_CLOSED) closed_signals++;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&mu);
}

static int fail(const char *what, const char *detail) {
  printf("FAIL %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) return fail("usage", "host <path of runner-native-server>");
  char err[1024] = {0};
  if (rn_process_start(argv[1], err, sizeof err) != 0) return fail("start", err);

  uint8_t constants[16384];
  int64_t n = rn_process_constants(constants, sizeof constants);
  if (n <= 0 || constants[0] != '{') return fail("constants", NULL);

  char bad[] = "{\"port\":-1}";
  if (rn_process_check_config(bad, strlen(bad), err, sizeof err) <= 0 || strstr(err, "port") == NULL) return fail("check_config", err);

  char config[] = "{\"port\":0,\"host\":\"127.0.0.1\"}";
  uint64_t h = rn_process_create(config, strlen(config), err, sizeof err);
  if (h == 0) return fail("create", err);
  int32_t port = rn_process_listen(h, on_signal, NULL, err, sizeof err);
  if (port <= 0) return fail("listen", err);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return fail("connect", NULL);
  const char request[] = "POST /__runner/task/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
  if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) return fail("write", NULL);
  char response[4096];
  size_t got = 0;
  for (ssize_t r; got < sizeof response - 1 && (r = read(fd, response + got, sizeof response - 1 - got)) > 0;) got += (size_t)r;
  response[got] = 0;
  close(fd);
  if (strncmp(response, "HTTP/1.1 404", 12) != 0 || strstr(response, "\"codeName\":\"NOT_FOUND\"") == NULL) return fail("response", response);

  uint64_t stats[64] = {0};
  int32_t count = rn_process_stats(h, stats, 64);
  if (count < 1 || stats[0] != 1) return fail("stats", "expected one request");

  rn_process_close(h, -1);
  pthread_mutex_lock(&mu);
  while (closed_signals == 0) pthread_cond_wait(&changed, &mu);
  pthread_mutex_unlock(&mu);
  rn_process_free(h);
  printf("ok: port %d, pid %lld, %d counters\n", port, (long long)rn_process_pid(), count);
  return 0;
}
