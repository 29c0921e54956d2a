/*
 * The Go server as a child process: the 13 functions of abi.h, carried over two Unix
 * socket pairs to `runner-native-server` (cmd/runner-server, a static Go program).
 *
 * Why: a Go c-shared library cannot be loaded into a musl process (golang/go#54805,
 * #13492), so on musl (Alpine) the addon starts the Go server as a program instead of
 * loading it. RUNNER_NATIVE_TRANSPORT=process forces this on glibc too, which is how the
 * whole test suite checks it.
 *
 * The byte layout of the frames is internal/wire's (Process*, Op*); the numbers below are
 * the same, and a Go test (cmd/runner-server) reads this header to check that they agree.
 *
 * Threads: the call functions may be called from any JavaScript thread; one call is on the
 * wire at a time, answered in order. Signals are read by one thread of ours, which calls
 * the rn_signal_fn given to rn_listen, as Go's threads do with the library.
 *
 * Linux only (binding.gyp compiles go_process.c there alone).
 */
#ifndef RUNNER_NATIVE_GO_PROCESS_H
#define RUNNER_NATIVE_GO_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The call socket is fd 3 in the child, the signal socket fd 4. */
#define RN_PROCESS_CALL_FD 3
#define RN_PROCESS_SIGNAL_FD 4

/* Call request: u32 length of what follows; u8 op; u8[3] zero; u64 handle; i64 arg;
   u64 cap (room the caller has for the answer's payload); then the payload. */
#define RN_PROCESS_REQUEST_HEADER 32
/* Call response: u32 length of what follows; i64 result; then the payload (<= cap). */
#define RN_PROCESS_RESPONSE_HEADER 12
/* Signal frame, child to parent: u64 handle; i32 what; u32 zero. */
#define RN_PROCESS_SIGNAL_FRAME 16

/* Operations: one per function of abi.h. */
#define RN_OP_CONSTANTS 1
#define RN_OP_CHECK_CONFIG 2
#define RN_OP_CREATE 3
#define RN_OP_REGISTER 4
#define RN_OP_LISTEN 5
#define RN_OP_EXCHANGE 6
#define RN_OP_HEADERS 7
#define RN_OP_REMOTE 8
#define RN_OP_CLOSE 9
#define RN_OP_CLOSE_CONNECTIONS 10
#define RN_OP_DETACH 11
#define RN_OP_FREE 12
#define RN_OP_STATS 13

/* Starts the server program at path, once per process (later calls return the first
   result). Returns 0, or -1 with a message in err. The program lives until this process
   exits (it ends when its call socket closes). */
int rn_process_start(const char *path, char *err, size_t err_cap);

/* The functions of abi.h, through the child. When the child has died, each returns its
   failure value (create and listen with an error naming how it ended), and every
   listening server gets RN_SIGNAL_FAILED as its last signal. */
int64_t rn_process_constants(uint8_t *buf, size_t cap);
int64_t rn_process_check_config(char *config, size_t config_len, char *out, size_t out_cap);
uint64_t rn_process_create(char *config, size_t config_len, char *err, size_t err_cap);
int32_t rn_process_register(uint64_t h, uint8_t *batch, size_t len);
int32_t rn_process_listen(uint64_t h, rn_signal_fn fn, void *ctx, char *err, size_t err_cap);
int64_t rn_process_exchange(uint64_t h, int32_t mode, uint8_t *answers, size_t len, uint8_t *buf, size_t cap);
int64_t rn_process_headers(uint64_t h, uint32_t id, uint8_t *buf, size_t cap);
int64_t rn_process_remote(uint64_t h, uint32_t id, uint8_t *buf, size_t cap);
void rn_process_close(uint64_t h, int64_t timeout_ms);
void rn_process_close_connections(uint64_t h, int32_t idle_only);
void rn_process_detach(uint64_t h);
void rn_process_free(uint64_t h);
int32_t rn_process_stats(uint64_t h, uint64_t *out, size_t n);

/* The child's process id (0 before a start); for tests and diagnostics. */
int64_t rn_process_pid(void);

#ifdef __cplusplus
}
#endif

#endif /* RUNNER_NATIVE_GO_PROCESS_H */
