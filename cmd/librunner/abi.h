/*
 * The C ABI of librunner_native, the Go library built from this folder with
 * -buildmode=c-shared. It is the only contract between Go and the C++ addon: the addon
 * loads the library at run time (dlopen) and looks these symbols up, so it never links
 * against Go and never includes the header cgo generates.
 *
 * Threads: every rn_* function returns quickly and never waits on JavaScript; call them
 * from the JavaScript thread that owns the handle. The signal callback is called from Go
 * threads.
 *
 * Byte formats (records, registrations, constants) are internal/wire's; JavaScript reads
 * them from rn_constants and C++ never interprets them.
 */
#ifndef RUNNER_NATIVE_ABI_H
#define RUNNER_NATIVE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a signal says (internal/wire defines the same numbers; cmd/librunner checks it). */
enum {
  RN_SIGNAL_WAKE = 1,  /* records are queued: call rn_exchange */
  RN_SIGNAL_CLOSED = 2, /* the server closed; no signal ever follows this one */
  RN_SIGNAL_FAILED = 3  /* the server process died (go_process.h only); none follows */
};

/* Called from a Go thread, never with a Go lock held that JavaScript could wait on. */
typedef void (*rn_signal_fn)(void *ctx, int32_t what);

/* Writes the wire constants (JSON) into buf. Returns their length, or -size when buf is
   smaller than size. */
typedef int64_t (*rn_constants_fn)(uint8_t *buf, size_t cap);

/* Checks an encoded TunnelConfig. Returns 0 when it is valid; otherwise writes the error
   as JSON {kind, field, message} into out and returns its length. */
typedef int64_t (*rn_check_config_fn)(char *config, size_t config_len, char *out, size_t out_cap);

/* Creates a server from an encoded TunnelConfig. Returns a handle, or 0 with the error
   JSON (as rn_check_config) in err. */
typedef uint64_t (*rn_create_fn)(char *config, size_t config_len, char *err, size_t err_cap);

/* Applies a batch of registrations. Returns 0, or -1 for an unknown handle or a corrupt
   batch. */
typedef int32_t (*rn_register_fn)(uint64_t h, uint8_t *batch, size_t len);

/* Binds, then starts serving; signals go to fn(ctx, ...) until RN_SIGNAL_CLOSED. fn and
   ctx are kept only when this succeeds. Returns the bound port, or -1 with the error as
   JSON {code, errno, syscall, message} in err. */
typedef int32_t (*rn_listen_fn)(uint64_t h, rn_signal_fn fn, void *ctx, char *err, size_t err_cap);

/* Applies the answers in [answers, answers+len), then copies queued records into buf.
   mode says why (wake or flush, see internal/wire). Returns the bytes written (0: none
   queued), -size when the next record needs a buffer of size bytes, or -1 when the
   answers were corrupt (a bug). */
typedef int64_t (*rn_exchange_fn)(uint64_t h, int32_t mode, uint8_t *answers, size_t len, uint8_t *buf, size_t cap);

/* Copies the request headers of pending call id into buf as a JSON object. Returns bytes
   written; 0 when the call is no longer pending; or -size when buf is too small. */
typedef int64_t (*rn_headers_fn)(uint64_t h, uint32_t id, uint8_t *buf, size_t cap);

/* Copies the client address of pending call id into buf, as "ip:port" ("[ip]:port" for
   IPv6). Returns bytes written; 0 when the call is no longer pending or has no address;
   or -size when buf is too small. */
typedef int64_t (*rn_remote_fn)(uint64_t h, uint32_t id, uint8_t *buf, size_t cap);

/* Starts a graceful close in the background, answering 503 to what is still running after
   timeout_ms (negative: the configured closeTimeoutMs); RN_SIGNAL_CLOSED follows when done. */
typedef void (*rn_close_fn)(uint64_t h, int64_t timeout_ms);

/* Closes the idle connections (idle_only != 0) or all of them, at once. */
typedef void (*rn_close_connections_fn)(uint64_t h, int32_t idle_only);

/* For environment teardown: returns once no signal is being or will ever be sent,
   answers pending calls 503, and releases the server in the background. Idempotent;
   a no-op for a released handle. */
typedef void (*rn_detach_fn)(uint64_t h);

/* Releases a handle that is not listening (never listened, failed, or closed). */
typedef void (*rn_free_fn)(uint64_t h);

/* Fills out with up to n counters, in the order of the wire constants' STATS; returns
   how many were written. */
typedef int32_t (*rn_stats_fn)(uint64_t h, uint64_t *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* RUNNER_NATIVE_ABI_H */
