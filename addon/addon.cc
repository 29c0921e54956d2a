// The Node side of runner-native: a thin shim between JavaScript and the Go library.
//
// It owns exactly one thing per listening server, a Link: the threadsafe function
// through which Go wakes the JavaScript thread. Every other decision (protocol,
// batching, errors) lives in Go or in JavaScript; this file only moves bytes.
//
// Every function here runs on the JavaScript thread and returns quickly: the Go calls
// behind them never wait on anything that JavaScript could be holding.
#include <napi.h>

#include <string>
#include <vector>

#include "go_library.h"

namespace runner_native {
namespace {

// The values a signal carries. Static so that a signal allocates nothing.
int32_t kSignalWake = RN_SIGNAL_WAKE;
int32_t kSignalClosed = RN_SIGNAL_CLOSED;

class Link;
void CallJs(Napi::Env env, Napi::Function callback, Link* link, int32_t* what);
using SignalFunction = Napi::TypedThreadSafeFunction<Link, int32_t, CallJs>;

// Link connects one listening Go server to the JavaScript environment that owns it.
//
// Lifetime, enforced here rather than by convention:
// - It is owned by its threadsafe function, whose finalizer deletes it. Node runs that
//   finalizer on release and at environment teardown alike.
// - While handle_ is not 0, Go may call OnSignal with this Link. Every path that ends
//   that (Closed after RN_SIGNAL_CLOSED, Abandon after a failed listen, the teardown
//   hook, and the finalizer itself) first makes sure Go is done: rn_free, never armed,
//   or rn_detach, which returns only once no Go thread is inside OnSignal or can enter
//   it. So the finalizer never deletes a Link that Go can still reach, whatever order
//   Node runs its teardown in.
class Link {
 public:
  Link(napi_env env, uint64_t handle) : env_(env), handle_(handle) {}
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void Attach(Napi::Env env, Napi::Function on_signal) {
    signals_ = SignalFunction::New(env, on_signal, "runner-native", 0 /* unbounded queue */,
                                   1 /* one owner: this link */, this, Finalize,
                                   static_cast<void*>(nullptr));
    napi_add_env_cleanup_hook(env_, OnTeardown, this);
  }

  // listen failed: Go never armed its notifier, so it holds no pointer to us.
  void Abandon() {
    handle_ = 0;
    napi_remove_env_cleanup_hook(env_, OnTeardown, this);
    signals_.Release();  // the finalizer deletes this
  }

  // Go thread: wake JavaScript. Never blocks.
  static void OnSignal(void* ctx, int32_t what) {
    auto* link = static_cast<Link*>(ctx);
    link->signals_.NonBlockingCall(what == RN_SIGNAL_CLOSED ? &kSignalClosed : &kSignalWake);
  }

  // JavaScript thread, after RN_SIGNAL_CLOSED: Go will never signal this link again.
  void Closed() {
    if (handle_ == 0) return;
    Go()->free(handle_);
    handle_ = 0;
    napi_remove_env_cleanup_hook(env_, OnTeardown, this);
    signals_.Release();  // the finalizer deletes this, later, on this thread
  }

 private:
  // Environment teardown (process exit, worker.terminate()) while still listening:
  // detach as early as possible, so pending requests get their 503 at once.
  static void OnTeardown(void* arg) { static_cast<Link*>(arg)->Detach(); }

  static void Finalize(Napi::Env, void*, Link* link) {
    link->Detach();
    delete link;
  }

  void Detach() {
    if (handle_ == 0) return;
    // Returns once no Go thread is inside OnSignal or can enter it again; pending HTTP
    // requests are answered 503 and the Go server closes in the background.
    Go()->detach(handle_);
    handle_ = 0;
  }

  napi_env env_;
  uint64_t handle_;
  SignalFunction signals_;
};

void CallJs(Napi::Env env, Napi::Function callback, Link* link, int32_t* what) {
  if (env == nullptr) return;  // the function is being torn down: nothing to call
  // Raw N-API on purpose. While a worker terminates, these calls fail; node-addon-api
  // would turn the failure into an exception, and throwing into a terminating
  // environment is a fatal error that aborts the whole process. Here a failed call is
  // harmless: the environment is going away, and the link detaches Go.
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

// Bytes of a Uint8Array argument.
struct Bytes {
  uint8_t* data;
  size_t size;
};

Bytes BytesOf(const Napi::Value& value) {
  auto array = value.As<Napi::Uint8Array>();
  return {array.Data(), array.ByteLength()};
}

constexpr size_t kErrorCapacity = 1024;

// load(path): undefined, or an error message.
Napi::Value Load(const Napi::CallbackInfo& info) {
  std::string error;
  if (LoadGoLibrary(info[0].As<Napi::String>().Utf8Value(), &error) == nullptr) {
    return Napi::String::New(info.Env(), error);
  }
  return info.Env().Undefined();
}

// constants(): the wire constants as JSON text.
Napi::Value Constants(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  std::vector<uint8_t> buf(4096);
  int64_t n = Go()->constants(buf.data(), buf.size());
  if (n < 0) {
    buf.resize(static_cast<size_t>(-n));
    n = Go()->constants(buf.data(), buf.size());
  }
  return Napi::String::New(env, reinterpret_cast<const char*>(buf.data()), n > 0 ? static_cast<size_t>(n) : 0);
}

// checkConfig(json): undefined when valid, else the error as JSON text.
Napi::Value CheckConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  std::string config = info[0].As<Napi::String>().Utf8Value();
  char out[kErrorCapacity] = {0};
  int64_t n = Go()->check_config(config.data(), config.size(), out, sizeof out);
  if (n == 0) return env.Undefined();
  return Napi::String::New(env, out);
}

// create(json): a handle, or the error as JSON text.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  std::string config = info[0].As<Napi::String>().Utf8Value();
  char error[kErrorCapacity] = {0};
  uint64_t handle = Go()->create(config.data(), config.size(), error, sizeof error);
  if (handle == 0) return Napi::String::New(env, error);
  return Napi::Number::New(env, static_cast<double>(handle));
}

// register(handle, batch, length): 0, or -1.
Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  Bytes batch = BytesOf(info[1]);
  size_t length = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
  if (length > batch.size) length = batch.size;
  return Napi::Number::New(env, Go()->register_batch(HandleOf(info[0]), batch.data, length));
}

// listen(handle, onSignal): the bound port, or the error as JSON text.
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

// exchange(handle, mode, answers, answersLength, buffer): bytes of records written into
// buffer, -size when it needs to be bigger, or -1 for a corrupt answer batch.
Napi::Value Exchange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  Bytes answers = BytesOf(info[2]);
  size_t length = static_cast<size_t>(info[3].As<Napi::Number>().Int64Value());
  if (length > answers.size) length = answers.size;
  Bytes buffer = BytesOf(info[4]);
  int64_t n = Go()->exchange(HandleOf(info[0]), info[1].As<Napi::Number>().Int32Value(), answers.data, length,
                             buffer.data, buffer.size);
  return Napi::Number::New(env, static_cast<double>(n));
}

// What Go copies out about a pending call (headers, remote), into a buffer given by JavaScript:
// (handle, id, buffer) -> bytes written, 0 when the call is gone, or -size needed.
template <rn_headers_fn GoLibrary::*Copy>
Napi::Value CopyOut(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  Bytes buffer = BytesOf(info[2]);
  int64_t n = (Go()->*Copy)(HandleOf(info[0]), info[1].As<Napi::Number>().Uint32Value(), buffer.data, buffer.size);
  return Napi::Number::New(env, static_cast<double>(n));
}

// close(handle, timeoutMs): starts a graceful close; onSignal(SIGNAL_CLOSED) follows.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  Go()->close(HandleOf(info[0]), info[1].As<Napi::Number>().Int64Value());
  return env.Undefined();
}

// closeConnections(handle, idleOnly): closes idle (true) or all (false) connections.
Napi::Value CloseConnections(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireLibrary(env)) return env.Undefined();
  Go()->close_connections(HandleOf(info[0]), info[1].As<Napi::Boolean>().Value() ? 1 : 0);
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
  exports.Set("constants", Napi::Function::New(env, Constants, "constants"));
  exports.Set("checkConfig", Napi::Function::New(env, CheckConfig, "checkConfig"));
  exports.Set("create", Napi::Function::New(env, Create, "create"));
  exports.Set("register", Napi::Function::New(env, Register, "register"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("exchange", Napi::Function::New(env, Exchange, "exchange"));
  exports.Set("headers", Napi::Function::New(env, CopyOut<&GoLibrary::headers>, "headers"));  // the request headers, as JSON
  exports.Set("remote", Napi::Function::New(env, CopyOut<&GoLibrary::remote>, "remote"));     // "ip:port" of the client
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("closeConnections", Napi::Function::New(env, CloseConnections, "closeConnections"));
  exports.Set("free", Napi::Function::New(env, Free, "free"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  return exports;
}

}  // namespace
}  // namespace runner_native

// NODE_API_MODULE pastes the function name into an identifier: it needs a plain name.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return runner_native::Init(env, exports);
}
NODE_API_MODULE(runner_native, InitModule)
