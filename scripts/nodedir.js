'use strict';
/**
 * Finds the Node headers that belong to the running `node`, so that node-gyp never has
 * to download them (and works offline).
 *
 * Node installs its headers beside its binary: <prefix>/bin/node and
 * <prefix>/include/node/node_api.h. That holds for distribution packages (/usr),
 * nvm (~/.nvm/versions/node/vX), Homebrew (the Cellar path behind the symlink) and the
 * official tarballs. When no headers are found we return null and node-gyp falls back
 * to its own download, which works on a machine with internet access.
 */
const fs = require('fs');
const path = require('path');

function hasHeaders(prefix) {
  const dir = path.join(prefix, 'include', 'node');
  return fs.existsSync(path.join(dir, 'node_api.h')) && fs.existsSync(path.join(dir, 'common.gypi'));
}

/** @returns {string|null} a directory to pass as node-gyp's --nodedir, or null. */
function findNodeDir() {
  const candidates = [];
  if (process.env.npm_config_nodedir) candidates.push(process.env.npm_config_nodedir);
  const real = fs.realpathSync(process.execPath);
  candidates.push(path.resolve(path.dirname(real), '..'));
  candidates.push(path.resolve(path.dirname(process.execPath), '..'));
  const prefix = process.config && process.config.variables && process.config.variables.node_prefix;
  if (prefix) candidates.push(prefix);
  return candidates.find(hasHeaders) || null;
}

module.exports = { findNodeDir };

if (require.main === module) console.log(findNodeDir() || '');
