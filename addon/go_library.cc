#include "go_library.h"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include <atomic>
#include <mutex>

#ifdef __linux__
#include "go_process.h"
#endif

namespace runner_native {
namespace {

std::mutex load_mutex;
GoLibrary library;
std::string load_error;
bool attempted = false;
std::atomic<const GoLibrary*> loaded{nullptr};

#ifdef _WIN32
// LoadLibraryExW with the DLL's own folder first: the path comes from JavaScript as UTF-8
// and may hold any character, so it is converted to UTF-16 rather than passed to the
// ANSI LoadLibraryA. Never FreeLibrary: the Go runtime cannot be unloaded.
void* OpenLibrary(const std::string& path, std::string* error) {
  int wide = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.c_str(), -1, nullptr, 0);
  if (wide <= 0) {
    *error = "cannot load " + path + ": the path is not valid UTF-8";
    return nullptr;
  }
  std::wstring wpath(static_cast<size_t>(wide), L'\0');
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.c_str(), -1, &wpath[0], wide);
  HMODULE module = LoadLibraryExW(wpath.c_str(), nullptr,
                                  LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
  if (module == nullptr) {
    DWORD code = GetLastError();
    char* text = nullptr;
    FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                   nullptr, code, 0, reinterpret_cast<LPSTR>(&text), 0, nullptr);
    std::string why = text ? text : "unknown error";
    if (text) LocalFree(text);
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r' || why.back() == ' ')) why.pop_back();
    *error = "cannot load " + path + ": " + why + " (error " + std::to_string(code) + ")";
  }
  return reinterpret_cast<void*>(module);
}

void* Symbol(void* handle, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(handle), name));
}
#else
// RTLD_LOCAL: the Go symbols stay private to us. Never dlclose: the Go runtime cannot be
// unloaded.
void* OpenLibrary(const std::string& path, std::string* error) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = std::string("cannot load ") + path + ": " + (why ? why : "unknown error");
  }
  return handle;
}

void* Symbol(void* handle, const char* name) { return dlsym(handle, name); }
#endif

template <typename Fn>
bool Resolve(void* handle, const char* name, Fn* out, std::string* error) {
  *out = reinterpret_cast<Fn>(Symbol(handle, name));
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
    void* handle = OpenLibrary(path, &load_error);
    if (handle != nullptr &&
        Resolve(handle, "rn_constants", &library.constants, &load_error) &&
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

const GoLibrary* StartGoProcess(const std::string& path, std::string* error) {
  std::lock_guard<std::mutex> lock(load_mutex);
  if (!attempted) {
    attempted = true;
#ifdef __linux__
    char why[512] = {0};
    if (rn_process_start(path.c_str(), why, sizeof why) == 0) {
      library = GoLibrary{rn_process_constants, rn_process_check_config, rn_process_create, rn_process_register,
                          rn_process_listen,    rn_process_exchange,     rn_process_headers, rn_process_remote,
                          rn_process_close,     rn_process_close_connections, rn_process_detach, rn_process_free,
                          rn_process_stats};
      loaded.store(&library, std::memory_order_release);
    } else {
      load_error = why;
    }
#else
    load_error = "the Go server runs as a separate program on Linux only (RUNNER_NATIVE_TRANSPORT=process)";
#endif
  }
  const GoLibrary* lib = loaded.load(std::memory_order_acquire);
  if (lib == nullptr) *error = load_error;
  return lib;
}

int64_t GoProcessId() {
#ifdef __linux__
  return rn_process_pid();
#else
  return 0;
#endif
}

const GoLibrary* Go() { return loaded.load(std::memory_order_acquire); }

}  // namespace runner_native
