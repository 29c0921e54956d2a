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
int32_t kSignalFailed = RN_SIGNAL_FAILED;

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
    link->signals_.NonBlockingCall(what == RN_SIGNAL_CLOSED   ? &kSignalClosed
                                   : what == RN_SIGNAL_FAILED ? &kSignalFailed
                                                              : &kSignalWake);
  }

  // JavaScript thread, after RN_SIGNAL_CLOSED or RN_SIGNAL_FAILED: Go will never signal
  // this link again.
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
  if (*what == RN_SIGNAL_CLOSED || *what == RN_SIGNAL_FAILED) link->Closed();
}

// Bytes of a Uint8Array argument.
struct Bytes {
  uint8_t* data;
  size_t size;
};

// The prologue of every export, once: the Go library must be loaded, and each argument
// is checked before it is used (better-sqlite3's REQUIRE_ARGUMENT_* in a class). A wrong
// argument throws a TypeError naming the export and the argument; from then on ok() is
// false, every accessor returns a zero value, and the export returns undefined at once.
// JavaScript (lib/) is the only caller, so a failure here is a bug there, reported
// instead of reading memory through an unchecked As<>.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* name, bool needs_library = true)
      : info_(info), env_(info.Env()), name_(name) {
    if (needs_library && Go() == nullptr) Throw("the Go library is not loaded");
  }

  bool ok() const { return ok_; }
  Napi::Env env() const { return env_; }
  Napi::Value Undefined() const { return env_.Undefined(); }

  double Number(size_t i) {
    if (!Check(i, info_[i].IsNumber(), "a number")) return 0;
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  // A server handle: a positive integer below 2^53 (Go's handles are small counters).
  uint64_t Handle(size_t i) {
    double d = Number(i);
    if (ok_ && !(d >= 1 && d <= 9007199254740991.0 && d == static_cast<double>(static_cast<uint64_t>(d)))) Fail(i, "a server handle");
    return ok_ ? static_cast<uint64_t>(d) : 0;
  }
  // A length or size: an integer from 0 to 2^53.
  size_t Size(size_t i) {
    double d = Number(i);
    if (ok_ && !(d >= 0 && d <= 9007199254740991.0)) Fail(i, "a non-negative integer");
    return ok_ ? static_cast<size_t>(d) : 0;
  }
  bool Boolean(size_t i) {
    if (!Check(i, info_[i].IsBoolean(), "a boolean")) return false;
    return info_[i].As<Napi::Boolean>().Value();
  }
  std::string String(size_t i) {
    if (!Check(i, info_[i].IsString(), "a string")) return std::string();
    return info_[i].As<Napi::String>().Utf8Value();
  }
  Napi::Function Function(size_t i) {
    if (!Check(i, info_[i].IsFunction(), "a function")) return Napi::Function();
    return info_[i].As<Napi::Function>();
  }
  Bytes Uint8s(size_t i) {
    bool is = info_[i].IsTypedArray() && info_[i].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
    if (!Check(i, is, "a Uint8Array (or Buffer)")) return {nullptr, 0};
    auto array = info_[i].As<Napi::Uint8Array>();
    return {array.Data(), array.ByteLength()};
  }
  Napi::BigUint64Array BigUint64s(size_t i) {
    bool is = info_[i].IsTypedArray() && info_[i].As<Napi::TypedArray>().TypedArrayType() == napi_biguint64_array;
    if (!Check(i, is, "a BigUint64Array")) return Napi::BigUint64Array();
    return info_[i].As<Napi::BigUint64Array>();
  }

 private:
  bool Check(size_t i, bool is, const char* what) {
    if (!ok_) return false;
    if (!is) Fail(i, what);
    return ok_;
  }
  void Fail(size_t i, const char* what) {
    Throw((std::string("argument ") + std::to_string(i) + " must be " + what).c_str());
  }
  void Throw(const char* why) {
    ok_ = false;
    Napi::TypeError::New(env_, std::string("runner-native: ") + name_ + "(): " + why).ThrowAsJavaScriptException();
  }

  const Napi::CallbackInfo& info_;
  Napi::Env env_;
  const char* name_;
  bool ok_ = true;
};

constexpr size_t kErrorCapacity = 1024;

// load(path, asProcess): undefined, or an error message. asProcess: path is the Go
// server program to start (go_process.h), not the library to load.
Napi::Value Load(const Napi::CallbackInfo& info) {
  Args args(info, "load", false);
  std::string path = args.String(0);
  bool as_process = args.Boolean(1);
  if (!args.ok()) return args.Undefined();
  std::string error;
  const GoLibrary* lib = as_process ? StartGoProcess(path, &error) : LoadGoLibrary(path, &error);
  if (lib == nullptr) return Napi::String::New(args.env(), error);
  return args.Undefined();
}

// serverPid(): the Go server program's process id, or 0 when Go runs in this process.
Napi::Value ServerPid(const Napi::CallbackInfo& info) {
  Args args(info, "serverPid", false);
  return Napi::Number::New(args.env(), static_cast<double>(GoProcessId()));
}

// constants(): the wire constants as JSON text.
Napi::Value Constants(const Napi::CallbackInfo& info) {
  Args args(info, "constants");
  if (!args.ok()) return args.Undefined();
  std::vector<uint8_t> buf(4096);
  int64_t n = Go()->constants(buf.data(), buf.size());
  if (n < 0) {
    buf.resize(static_cast<size_t>(-n));
    n = Go()->constants(buf.data(), buf.size());
  }
  return Napi::String::New(args.env(), reinterpret_cast<const char*>(buf.data()), n > 0 ? static_cast<size_t>(n) : 0);
}

// checkConfig(json): undefined when valid, else the error as JSON text.
Napi::Value CheckConfig(const Napi::CallbackInfo& info) {
  Args args(info, "checkConfig");
  std::string config = args.String(0);
  if (!args.ok()) return args.Undefined();
  char out[kErrorCapacity] = {0};
  int64_t n = Go()->check_config(config.data(), config.size(), out, sizeof out);
  if (n == 0) return args.Undefined();
  return Napi::String::New(args.env(), out);
}

// create(json): a handle, or the error as JSON text.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Args args(info, "create");
  std::string config = args.String(0);
  if (!args.ok()) return args.Undefined();
  char error[kErrorCapacity] = {0};
  uint64_t handle = Go()->create(config.data(), config.size(), error, sizeof error);
  if (handle == 0) return Napi::String::New(args.env(), error);
  return Napi::Number::New(args.env(), static_cast<double>(handle));
}

// register(handle, batch, length): 0, or -1.
Napi::Value Register(const Napi::CallbackInfo& info) {
  Args args(info, "register");
  uint64_t handle = args.Handle(0);
  Bytes batch = args.Uint8s(1);
  size_t length = args.Size(2);
  if (!args.ok()) return args.Undefined();
  if (length > batch.size) length = batch.size;
  return Napi::Number::New(args.env(), Go()->register_batch(handle, batch.data, length));
}

// listen(handle, onSignal): the bound port, or the error as JSON text.
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Args args(info, "listen");
  uint64_t handle = args.Handle(0);
  Napi::Function on_signal = args.Function(1);
  if (!args.ok()) return args.Undefined();
  auto* link = new Link(args.env(), handle);
  link->Attach(args.env(), on_signal);
  char error[kErrorCapacity] = {0};
  int32_t port = Go()->listen(handle, Link::OnSignal, link, error, sizeof error);
  if (port < 0) {
    link->Abandon();
    return Napi::String::New(args.env(), error);
  }
  return Napi::Number::New(args.env(), port);
}

// exchange(handle, mode, answers, answersLength, buffer): bytes of records written into
// buffer, -size when it needs to be bigger, or -1 for a corrupt answer batch.
Napi::Value Exchange(const Napi::CallbackInfo& info) {
  Args args(info, "exchange");
  uint64_t handle = args.Handle(0);
  double mode = args.Number(1);
  Bytes answers = args.Uint8s(2);
  size_t length = args.Size(3);
  Bytes buffer = args.Uint8s(4);
  if (!args.ok()) return args.Undefined();
  if (length > answers.size) length = answers.size;
  int64_t n = Go()->exchange(handle, static_cast<int32_t>(mode), answers.data, length, buffer.data, buffer.size);
  return Napi::Number::New(args.env(), static_cast<double>(n));
}

// What Go copies out about a pending call (headers, remote), into a buffer given by JavaScript:
// (handle, id, buffer) -> bytes written, 0 when the call is gone, or -size needed.
Napi::Value CopyOut(const Napi::CallbackInfo& info, const char* name, rn_headers_fn GoLibrary::*copy) {
  Args args(info, name);
  uint64_t handle = args.Handle(0);
  double id = args.Number(1);
  Bytes buffer = args.Uint8s(2);
  if (!args.ok()) return args.Undefined();
  int64_t n = (Go()->*copy)(handle, static_cast<uint32_t>(id), buffer.data, buffer.size);
  return Napi::Number::New(args.env(), static_cast<double>(n));
}

// headers(handle, id, buffer): the request headers of a pending call, as JSON.
Napi::Value Headers(const Napi::CallbackInfo& info) { return CopyOut(info, "headers", &GoLibrary::headers); }

// remote(handle, id, buffer): "ip:port" of a pending call's client.
Napi::Value Remote(const Napi::CallbackInfo& info) { return CopyOut(info, "remote", &GoLibrary::remote); }

// close(handle, timeoutMs): starts a graceful close; onSignal(SIGNAL_CLOSED) follows.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Args args(info, "close");
  uint64_t handle = args.Handle(0);
  double timeout_ms = args.Number(1);
  if (args.ok()) Go()->close(handle, static_cast<int64_t>(timeout_ms));
  return args.Undefined();
}

// closeConnections(handle, idleOnly): closes idle (true) or all (false) connections.
Napi::Value CloseConnections(const Napi::CallbackInfo& info) {
  Args args(info, "closeConnections");
  uint64_t handle = args.Handle(0);
  bool idle_only = args.Boolean(1);
  if (args.ok()) Go()->close_connections(handle, idle_only ? 1 : 0);
  return args.Undefined();
}

// free(handle): releases a server that is not listening.
Napi::Value Free(const Napi::CallbackInfo& info) {
  Args args(info, "free");
  uint64_t handle = args.Handle(0);
  if (args.ok()) Go()->free(handle);
  return args.Undefined();
}

// stats(handle, BigUint64Array): the number of counters written.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Args args(info, "stats");
  uint64_t handle = args.Handle(0);
  Napi::BigUint64Array out = args.BigUint64s(1);
  if (!args.ok()) return args.Undefined();
  return Napi::Number::New(args.env(), Go()->stats(handle, out.Data(), out.ElementLength()));
}

// The exports, as a table: name and function.
struct Export {
  const char* name;
  Napi::Value (*fn)(const Napi::CallbackInfo&);
};
constexpr Export kExports[] = {
    {"load", Load},       {"constants", Constants}, {"checkConfig", CheckConfig},
    {"create", Create},   {"register", Register},   {"listen", Listen},
    {"exchange", Exchange}, {"headers", Headers},   {"remote", Remote},
    {"close", Close},     {"closeConnections", CloseConnections},
    {"free", Free},       {"stats", Stats},       {"serverPid", ServerPid},
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (const Export& e : kExports) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  return exports;
}

}  // namespace
}  // namespace runner_native

// NODE_API_MODULE pastes the function name into an identifier: it needs a plain name.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return runner_native::Init(env, exports);
}
NODE_API_MODULE(runner_native, InitModule)
