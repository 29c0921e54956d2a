'use strict';
/**
 * @bluelibs/runner-native/runner, given the runner module the application loaded
 * (runner.js passes require's, runner.mjs import's: one application, one runner).
 */
const { createFlavour } = require('./flavour-v5');
const { defineNativeExposure } = require('./resource');

/**
 * @param {any} runner the @bluelibs/runner module
 * @returns {{nativeExposure: any}}
 */
function createRunnerExports(runner) {
  const tags = runner && runner.globals && runner.globals.tags;
  if (!tags || !tags.tunnel || !runner.resource) {
    throw new Error('@bluelibs/runner-native/runner: this version of @bluelibs/runner is not supported; nativeExposure needs runner 5.x (tunnel resources and globals.tags.tunnel)');
  }
  return { nativeExposure: defineNativeExposure(createFlavour(runner)) };
}

module.exports = { createRunnerExports };
