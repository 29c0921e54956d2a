'use strict';
/** Symbols shared between runner-native's own modules; not part of the public API. */
module.exports = {
  /** TunnelServer[kDeclareMissing](kind, id, listed): an id answered 404 (see index.js). */
  kDeclareMissing: Symbol('runner-native.declareMissing'),
  /**
   * ctx[kOnAbort](fn) on a CallContext (lib/dispatcher.js): fn(reason) is called when the
   * call is aborted, as a listener on ctx.signal would be, without creating ctx.signal
   * (an AbortSignal per call is the costly part). Returns the reason when the call was
   * already aborted (fn is then not kept), else undefined.
   */
  kOnAbort: Symbol('runner-native.onAbort'),
  /**
   * TEST ONLY. server[kTestOnlyFaults] = {call(id), dropWake()} arms the dispatcher's
   * fault-injection hooks (test/hardening.test.js); null disarms them. The one test seam
   * of TunnelServer: nothing in the package sets it.
   */
  kTestOnlyFaults: Symbol.for('runner-native.test-only.faults'),
};
