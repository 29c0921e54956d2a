'use strict';
/** The package's entry points: "." and "./runner", from CommonJS and ES modules. */
const assert = require('assert');
const path = require('path');

describe('package exports', function () {
  it('"@bluelibs/runner-native/runner" is runner.js, with nativeExposure', () => {
    assert.strictEqual(require.resolve('@bluelibs/runner-native/runner'), path.resolve(__dirname, '../../runner.js'));
    assert.strictEqual(require('@bluelibs/runner-native/runner').nativeExposure.id, require('@bluelibs/runner').nodeExposure.id, 'nodeExposure\'s id: logs carry the same source');
    assert.strictEqual(typeof require('@bluelibs/runner-native').TunnelServer, 'function');
  });

  it('with runner 5, nativeRpcLanes (the runner 6 export) is undefined', () => {
    assert.strictEqual(require('@bluelibs/runner-native/runner').nativeRpcLanes, undefined);
  });

  it('ES modules get nativeExposure as a named export', async () => {
    const mod = await import('@bluelibs/runner-native/runner');
    assert.strictEqual(mod.nativeExposure, require('../../runner').nativeExposure);
  });

  it('internal files are not entry points', () => {
    assert.throws(() => require.resolve('@bluelibs/runner-native/lib/runner/exposure'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  });
});
