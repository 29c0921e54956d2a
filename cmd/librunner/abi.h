/*
 * The C ABI of librunner_native, the Go library built from this folder with
 * -buildmode=c-shared. It is the only contract between Go and the C++ addon: the addon
 * loads the library at run time (dlopen) and looks these symbols up, so it never links
 * against Go and never includes the header cgo generates.
 *
 * Threads: every rn_* function returns quickly and never waits on JavaScript; call them
 * from the JavaScript thread. The signal callback is called from Go threads.
 */
#ifndef RUNNER_NATIVE_ABI_H
#define RUNNER_NATIVE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a signal says. */
enum {
  RN_SIGNAL_REQUESTS = 1, /* calls are queued: drain them with rn_drain */
  RN_SIGNAL_CLOSED = 2    /* rn_close finished; this is the server's last signal */
};

/* Called from a Go thread, never with a Go lock held that JavaScript could wait on. */
typedef void (*rn_signal_fn)(void *ctx, int32_t what);

/* Creates a server from its JSON configuration. Returns a handle, or 0 with a message
   in err (NUL-terminated, truncated to err_cap). */
typedef uint64_t (*rn_create_fn)(char *config, size_t config_len, char *err, size_t err_cap);

/* Registers id (UTF-8) as a task (kind 1) or event (kind 2) handled at slot. Returns 0,
   or -1 for an unknown handle or kind. */
typedef int32_t (*rn_register_fn)(uint64_t h, int32_t kind, char *id, size_t id_len, int32_t slot);

/* Binds and starts serving; signals go to fn(ctx, ...) until RN_SIGNAL_CLOSED. Returns the
   bound port, or -1 with "CODE: message" in err (CODE as Node's err.code, e.g. EADDRINUSE). */
typedef int32_t (*rn_listen_fn)(uint64_t h, rn_signal_fn fn, void *ctx, char *err, size_t err_cap);

/* Copies queued calls into buf. Returns bytes written; 0 when none are queued; or -size
   when the next call needs a buffer of at least size bytes. */
typedef int64_t (*rn_drain_fn)(uint64_t h, uint8_t *buf, size_t cap);

/* Copies the request headers of pending call id into buf as a JSON object. Returns bytes
   written; 0 when the call is no longer pending; or -size when buf is too small. */
typedef int64_t (*rn_headers_fn)(uint64_t h, uint32_t id, uint8_t *buf, size_t cap);

/* Applies a batch of answers. Returns 0, or -1 for an unknown handle or a corrupt batch. */
typedef int32_t (*rn_complete_fn)(uint64_t h, uint8_t *batch, size_t len);

/* Starts a graceful close in the background; RN_SIGNAL_CLOSED follows when done. */
typedef void (*rn_close_fn)(uint64_t h);

/* For environment teardown: returns once no signal is being or will ever be sent,
   answers pending calls 503, and releases the server in the background. */
typedef void (*rn_detach_fn)(uint64_t h);

/* Releases a handle that is not listening (never listened, failed, or closed). */
typedef void (*rn_free_fn)(uint64_t h);

/* Fills out with up to n counters, in the order of the stat* constants in main.go (and
   STAT_NAMES in index.js); returns how many were written. */
typedef int32_t (*rn_stats_fn)(uint64_t h, uint64_t *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* RUNNER_NATIVE_ABI_H */
