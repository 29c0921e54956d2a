#include "go_library.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>

namespace runner_native {
namespace {

std::mutex load_mutex;
GoLibrary library;
std::string load_error;
bool attempted = false;
std::atomic<const GoLibrary*> loaded{nullptr};

template <typename Fn>
bool Resolve(void* handle, const char* name, Fn* out, std::string* error) {
  *out = reinterpret_cast<Fn>(dlsym(handle, name));
  if (*out == nullptr) {
    *error = std::string("symbol ") + name + " missing from the Go library: rebuild with 'npm run build'";
    return false;
  }
  return true;
}

}  // namespace

const GoLibrary* LoadGoLibrary(const std::string& path, std::string* error) {
  std::lock_guard<std::mutex> lock(load_mutex);  // worker threads may load concurrently
  if (!attempted) {
    attempted = true;
    // RTLD_LOCAL: the Go symbols stay private to us. Never dlclose: the Go runtime
    // cannot be unloaded.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      load_error = std::string("cannot load ") + path + ": " + (why ? why : "unknown error");
    } else if (Resolve(handle, "rn_constants", &library.constants, &load_error) &&
               Resolve(handle, "rn_check_config", &library.check_config, &load_error) &&
               Resolve(handle, "rn_create", &library.create, &load_error) &&
               Resolve(handle, "rn_register", &library.register_batch, &load_error) &&
               Resolve(handle, "rn_listen", &library.listen, &load_error) &&
               Resolve(handle, "rn_exchange", &library.exchange, &load_error) &&
               Resolve(handle, "rn_headers", &library.headers, &load_error) &&
               Resolve(handle, "rn_remote", &library.remote, &load_error) &&
               Resolve(handle, "rn_close", &library.close, &load_error) &&
               Resolve(handle, "rn_close_connections", &library.close_connections, &load_error) &&
               Resolve(handle, "rn_detach", &library.detach, &load_error) &&
               Resolve(handle, "rn_free", &library.free, &load_error) &&
               Resolve(handle, "rn_stats", &library.stats, &load_error)) {
      loaded.store(&library, std::memory_order_release);
    }
  }
  const GoLibrary* lib = loaded.load(std::memory_order_acquire);
  if (lib == nullptr) *error = load_error;
  return lib;
}

const GoLibrary* Go() { return loaded.load(std::memory_order_acquire); }

}  // namespace runner_native
