// The Go library's entry points, resolved once per process with dlopen/dlsym.
//
// Why load at run time instead of linking: one Go runtime per process can never be
// unloaded (golang/go#11100), Windows cannot link a Go DLL from MSVC (golang/go#36233),
// and a missing or broken library becomes a clear JavaScript error instead of a failed
// require with a loader message.
#ifndef RUNNER_NATIVE_GO_LIBRARY_H
#define RUNNER_NATIVE_GO_LIBRARY_H

#include <string>

#include "abi.h"

namespace runner_native {

struct GoLibrary {
  rn_constants_fn constants;
  rn_check_config_fn check_config;
  rn_create_fn create;
  rn_register_fn register_batch;
  rn_listen_fn listen;
  rn_exchange_fn exchange;
  rn_headers_fn headers;
  rn_remote_fn remote;
  rn_close_fn close;
  rn_close_connections_fn close_connections;
  rn_detach_fn detach;
  rn_free_fn free;
  rn_stats_fn stats;
};

// Loads the library at path (first call only; later calls return the same result).
// Returns nullptr and sets *error when it cannot be loaded. Never unloaded.
const GoLibrary* LoadGoLibrary(const std::string& path, std::string* error);

// Starts the Go server as the program at path instead (go_process.h; Linux only), and
// returns a table whose functions reach it. One or the other per process: whichever of
// the two loads is asked first decides, and later calls of either return its result.
const GoLibrary* StartGoProcess(const std::string& path, std::string* error);

// The child's process id when the Go server runs as a program, else 0.
int64_t GoProcessId();

// The loaded library, or nullptr before a successful LoadGoLibrary.
const GoLibrary* Go();

}  // namespace runner_native

#endif  // RUNNER_NATIVE_GO_LIBRARY_H
