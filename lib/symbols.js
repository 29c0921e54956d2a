'use strict';
/** Symbols shared between runner-native's own modules; not part of the public API. */
module.exports = {
  /** TunnelServer[kDeclareMissing](kind, id, listed): an id answered 404 (see index.js). */
  kDeclareMissing: Symbol('runner-native.declareMissing'),
};
