'use strict';
/** The nativeExposure resource of one flavour: nodeExposure's shape, runner-native's server. */
const { createNativeExposure } = require('./exposure');

/** @param {import('./exposure').Flavour} flavour */
function defineNativeExposure(flavour) {
  return flavour.defineResource({
    id: flavour.resourceId,
    meta: {
      title: 'Native Exposure (HTTP, runner-native)',
      description: 'Exposes Runner tasks and events over HTTP, as nodeExposure does, from a Go server inside the Node process.',
    },
    dependencies: flavour.dependencies,
    async init(cfg, deps) {
      return createNativeExposure(cfg, deps, flavour);
    },
    async dispose(value) {
      if (value && value.close) await value.close();
    },
  });
}

module.exports = { defineNativeExposure };
