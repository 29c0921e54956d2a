'use strict';
/**
 * @bluelibs/runner-native/runner, given the runner module the application loaded
 * (runner.js passes the one require finds: one application, one runner).
 * The flavour follows that runner's major version:
 * - 6.x (rpcLanesResource): nativeRpcLanes, used as rpcLanesResource is (flavour-v6.js, rpc-lanes.js);
 * - 5.x (tunnel resources, globals.tags.tunnel): nativeExposure, used as nodeExposure is (flavour-v5.js).
 */
const { createFlavour } = require('./flavour-v5');
const { defineNativeExposure } = require('./resource');

/**
 * @param {any} runner the @bluelibs/runner module
 * @returns {{nativeExposure?: any, nativeRpcLanes?: any, flavour: string}}
 */
function createRunnerExports(runner) {
  if (runner && runner.rpcLanesResource && typeof runner.computeRpcLaneAllowList === 'function' && runner.defineResource) {
    const v6 = require('./flavour-v6');
    const { defineNativeRpcLanes } = require('./rpc-lanes');
    return { nativeRpcLanes: defineNativeRpcLanes(runner, v6.createFlavour(runner)), flavour: 'runner-6' };
  }
  const tags = runner && runner.globals && runner.globals.tags;
  if (!tags || !tags.tunnel || !runner.resource) {
    throw new Error('@bluelibs/runner-native/runner: this version of @bluelibs/runner is not supported; runner-native needs runner 6.x (rpcLanesResource: use nativeRpcLanes) or 5.x (tunnel resources: use nativeExposure)');
  }
  return { nativeExposure: defineNativeExposure(createFlavour(runner)), flavour: 'runner-5' };
}

module.exports = { createRunnerExports };
