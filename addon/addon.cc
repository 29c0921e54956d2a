// The Node side of runner-native: a thin shim between index.js and the Go library.
//
// It owns exactly two things per listening server, both in a Link: the threadsafe
// function through which Go wakes the JavaScript thread, and the environment cleanup
// hook that stops Go from using that function when the environment goes away. Every
// other decision (protocol, batching, errors) lives in Go or in index.js.
//
// Every function here runs on the JavaScript thread and returns quickly: the Go calls
// behind them never wait on anything that JavaScript could be holding.
#include <napi.h>

#include <string>

#include "go_library.h"

namespace runner_native {
namespace {

// The values a signal carries. Static so that a signal allocates nothing.
int32_t kSignalRequests = RN_SIGNAL_REQUESTS;
int32_t kSignalClosed = RN_SIGNAL_CLOSED;

class Link;
void CallJs(Napi::Env env, Napi::Function callback, Link* link, int32_t* what);
using SignalFunction = Napi::TypedThreadSafeFunction<Link, int32_t, CallJs>;

// Link connects one listening Go server to the JavaScript environment that owns it.
//
// Lifetime: created by Listen; owned by its threadsafe function, whose finalizer deletes
// it. The function is released either after RN_SIGNAL_CLOSED (Go promised never to
// signal again) or by Node at environment teardown, after OnTeardown has detached Go.
class Link {
 public:
  Link(napi_env env, uint64_t handle) : env_(env), handle_(handle) {}
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Creates the threadsafe function and the teardown hook. The hook is added after the
  // function on purpose: cleanup hooks run in reverse order, so ours detaches Go before
  // Node tears the function down.
  void Attach(Napi::Env env, Napi::Function on_signal) {
    signals_ = SignalFunction::New(env, on_signal, "runner-native", 0 /* unbounded queue */,
                                   1 /* one owner: this link */, this, Finalize,
                                   static_cast<void*>(nullptr));
    napi_add_env_cleanup_hook(env_, OnTeardown, this);
  }

  // Undoes Attach when listen failed: Go never started signalling.
  void Abandon() {
    napi_remove_env_cleanup_hook(env_, OnTeardown, this);
    signals_.Release();  // the finalizer deletes this
  }

  // Go thread: wake JavaScript. Never blocks.
  static void OnSignal(void* ctx, int32_t what) {
    auto* link = static_cast<Link*>(ctx);
    link->signals_.NonBlockingCall(what == RN_SIGNAL_CLOSED ? &kSignalClosed : &kSignalRequests);
  }

  // JavaScript thread, after RN_SIGNAL_CLOSED: Go is done with this server.
  void Closed() {
    if (finished_) return;
    finished_ = true;
    napi_remove_env_cleanup_hook(env_, OnTeardown, this);
    Go()->free(handle_);
    signals_.Release();  // the finalizer deletes this, later, on this thread
  }

 private:
  // Environment teardown (process exit, worker.terminate()) while still listening.
  static void OnTeardown(void* arg) {
    auto* link = static_cast<Link*>(arg);
    link->finished_ = true;
    // Returns once no Go thread is inside OnSignal or can enter it again; pending HTTP
    // requests are answered 503 and the Go server closes in the background.
    Go()->detach(link->handle_);
  }

  static void Finalize(Napi::Env, void*, Link* link) { delete link; }

  napi_env env_;
  uint64_t handle_;
  bool finished_ = false;
  SignalFunction signals_;
};

void CallJs(Napi::Env env, Napi::Function callback, Link* link, int32_t* what) {
  if (env == nullptr) return;  // the function is being torn down: nothing to call
  // Raw N-API on purpose. While a worker terminates, these calls fail; node-addon-api
  // would turn the failure into an exception, and throwing into a terminating
  // environment is a fatal error that aborts the whole process. Here a failed call is
  // harmless: the environment is going away, and its cleanup hook detaches Go.
  napi_value undefined;
  napi_value arg;
  napi_value ignored;
  if (napi_get_undefined(env, &undefined) == napi_ok && napi_create_int32(env, *what, &arg) == napi_ok) {
    napi_call_function(env, undefined, callback, 1, &arg, &ignored);
  }
  if (*what == RN_SIGNAL_CLOSED) link->Closed();
}

uint64_t HandleOf(const Napi::Value& value) {
  return static_cast<uint64_t>(value.As<Napi::Number>().Int64Value());
}

bool RequireLibrary(Napi::Env env) {
  if (Go() != nullptr) return true;
  Napi::Error::New(env, "runner-native: the Go library is not loaded").ThrowAsJavaScriptException();
  return false;
}

constexpr size_t kErrorCapacity = 512;

// load(path): undefined, or an error message.
Napi::Value Load(const Napi::CallbackInfo& info) {
  std::string error;
  if (LoadGoLibrary(info[0].As<Napi::String>().Utf8Value(), &error) == nullptr) {
    return Napi::String::New(info.Env(), error);
  }
  return info.Env().Undefined();
}

// create(configJson): a handle, or an error message.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  std::string config = info[0].As<Napi::String>().Utf8Value();
  char error[kErrorCapacity] = {0};
  uint64_t handle = Go()->create(config.data(), config.size(), error, sizeof error);
  if (handle == 0) return Napi::String::New(env, error);
  return Napi::Number::New(env, static_cast<double>(handle));
}

// register(handle, kind, id, slot): 0, or -1.
Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  std::string id = info[2].As<Napi::String>().Utf8Value();
  int32_t rc = Go()->register_handler(HandleOf(info[0]), info[1].As<Napi::Number>().Int32Value(),
                                      id.data(), id.size(), info[3].As<Napi::Number>().Int32Value());
  return Napi::Number::New(env, rc);
}

// listen(handle, onSignal): the bound port, or an error message "CODE: text".
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  uint64_t handle = HandleOf(info[0]);
  auto* link = new Link(env, handle);
  link->Attach(env, info[1].As<Napi::Function>());
  char error[kErrorCapacity] = {0};
  int32_t port = Go()->listen(handle, Link::OnSignal, link, error, sizeof error);
  if (port < 0) {
    link->Abandon();
    return Napi::String::New(env, error);
  }
  return Napi::Number::New(env, port);
}

// drain(handle, buffer): bytes written, 0 when nothing is queued, or -size needed.
Napi::Value Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  auto buffer = info[1].As<Napi::Uint8Array>();
  int64_t n = Go()->drain(HandleOf(info[0]), buffer.Data(), buffer.ByteLength());
  return Napi::Number::New(env, static_cast<double>(n));
}

// headers(handle, id, buffer): bytes written, 0 when the call is gone, or -size needed.
Napi::Value Headers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  auto buffer = info[2].As<Napi::Uint8Array>();
  int64_t n = Go()->headers(HandleOf(info[0]), info[1].As<Napi::Number>().Uint32Value(), buffer.Data(),
                            buffer.ByteLength());
  return Napi::Number::New(env, static_cast<double>(n));
}

// complete(handle, buffer, length): 0, or -1 for a corrupt batch.
Napi::Value Complete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  auto buffer = info[1].As<Napi::Uint8Array>();
  size_t length = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
  if (length > buffer.ByteLength()) length = buffer.ByteLength();
  return Napi::Number::New(env, Go()->complete(HandleOf(info[0]), buffer.Data(), length));
}

// close(handle): starts a graceful close; onSignal(RN_SIGNAL_CLOSED) follows.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  Go()->close(HandleOf(info[0]));
  return env.Undefined();
}

// free(handle): releases a server that is not listening.
Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  Go()->free(HandleOf(info[0]));
  return env.Undefined();
}

// stats(handle, BigUint64Array): the number of counters written.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  auto out = info[1].As<Napi::BigUint64Array>();
  return Napi::Number::New(env, Go()->stats(HandleOf(info[0]), out.Data(), out.ElementLength()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("load", Napi::Function::New(env, Load, "load"));
  exports.Set("create", Napi::Function::New(env, Create, "create"));
  exports.Set("register", Napi::Function::New(env, Register, "register"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("drain", Napi::Function::New(env, Drain, "drain"));
  exports.Set("headers", Napi::Function::New(env, Headers, "headers"));
  exports.Set("complete", Napi::Function::New(env, Complete, "complete"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("free", Napi::Function::New(env, Free, "free"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("SIGNAL_REQUESTS", Napi::Number::New(env, RN_SIGNAL_REQUESTS));
  exports.Set("SIGNAL_CLOSED", Napi::Number::New(env, RN_SIGNAL_CLOSED));
  return exports;
}

}  // namespace
}  // namespace runner_native

// NODE_API_MODULE pastes the function name into an identifier: it needs a plain name.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return runner_native::Init(env, exports);
}
NODE_API_MODULE(runner_native, InitModule)
