'use strict';
/**
 * Every status, code and message of an answer is defined in Go (internal/protocol); the
 * JavaScript side reads the ones it needs from the exported constants (W.ANSWERS). This
 * fails if a JavaScript file of the package writes one of those codes as a literal (its
 * Go twin is internal/protocol/codes_test.go).
 */
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const W = require('../lib/wire');

const root = path.join(__dirname, '..');

/** The package's JavaScript files: index.js, runner.js and lib/ (all of it). */
function sources() {
  const files = ['index.js', 'runner.js'].map((f) => path.join(root, f));
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.js')) files.push(full);
    }
  };
  walk(path.join(root, 'lib'));
  return files;
}

/** String literals in source: '...', "..." and `...` without substitutions. */
function literals(source) {
  const out = [];
  const re = /'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\$]|\\.)*)`/g;
  for (let m; (m = re.exec(source));) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

describe('answers: one definition, in Go', () => {
  it('exports the answers JavaScript uses, each with a code, a message and a status', () => {
    assert.ok(Array.isArray(W.ANSWER_CODES) && W.ANSWER_CODES.includes('REQUEST_ABORTED'));
    for (const [name, a] of Object.entries(W.ANSWERS)) {
      assert.ok(typeof a.code === 'string' && a.code && W.ANSWER_CODES.includes(a.code), name);
      assert.ok(typeof a.message === 'string' && a.message, name);
      assert.ok(Number.isInteger(a.status), name);
    }
    assert.deepStrictEqual([W.ANSWERS.CLIENT_GONE.status, W.ANSWERS.CLIENT_GONE.code], [499, 'REQUEST_ABORTED']);
    // One code for one situation: a stream the call settled before reading.
    assert.strictEqual(W.ANSWERS.BODY_DISCARDED.code, W.ANSWERS.FORM_DISCARDED.code);
  });

  it('no JavaScript file writes a code internal/protocol defines', () => {
    const codes = new Set(W.ANSWER_CODES);
    const found = [];
    const files = sources();
    assert.ok(files.length > 15, 'the walk found the sources');
    for (const file of files) {
      const rel = path.relative(root, file);
      for (const lit of literals(fs.readFileSync(file, 'utf8'))) {
        // lib/dispatcher.js is being rewritten with the bridge (issue 20 leaves it to that
        // issue); its fallback abort code is protocol.AbortUnknown's (W.ANSWERS.ABORT_UNKNOWN).
        if (rel === path.join('lib', 'dispatcher.js') && lit === W.ANSWERS.ABORT_UNKNOWN.code) continue;
        if (codes.has(lit)) found.push(`${rel}: '${lit}'`);
      }
    }
    assert.deepStrictEqual(found, [], 'read these codes from W.ANSWERS instead');
  });
});
