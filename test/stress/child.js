'use strict';
/**
 * The stress tests' servers run in a child process, so that the RSS they measure is the
 * server's own. Both sides of that, once:
 *
 * - in the child, serveParent answers the parent over IPC: 'reset' starts a new peak RSS
 *   (after a GC) and replies { reset: memory() }; 'rss' replies what the server's `rss()`
 *   gives (its memory and whatever else it reports); 'exit' closes the server and exits;
 * - in the parent, forkServer starts such a child and gives `next(key)` (the next message
 *   that has `key`, whole) and `ask(what, key)`.
 */
const fs = require('fs');
const { fork } = require('child_process');

/** This process's RSS and its peak (VmHWM), in bytes. */
function memory() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => Number((status.match(new RegExp(`${key}:\\s+(\\d+)`)) || [0, 0])[1]);
  return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
}

/**
 * Child side: answers the parent, then tells it the server is up with `ready` ({ port, ... }).
 * @param {{ready: object, rss: () => object, close: () => Promise<unknown>}} server
 */
function serveParent({ ready, rss, close }) {
  process.on('message', (m) => {
    if (m === 'reset') {
      if (global.gc) global.gc();
      // Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
      try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch (_) { /* the peak then counts from the start */ }
      process.send({ reset: memory() });
    } else if (m === 'rss') {
      process.send(rss());
    } else if (m === 'exit') {
      close().then(() => process.exit(0));
    }
  });
  process.send(ready);
}

/** Parent side: forks file (with --expose-gc) and collects its messages. */
function forkServer(file, args = []) {
  const child = fork(file, args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages = [];
  child.on('message', (m) => messages.push(m));
  const next = (key) => new Promise((resolve) => {
    const found = messages.findIndex((m) => key in m);
    if (found >= 0) { resolve(messages.splice(found, 1)[0]); return; }
    const on = (m) => {
      if (!(key in m)) return;
      child.off('message', on);
      messages.splice(messages.indexOf(m), 1);
      resolve(m);
    };
    child.on('message', on);
  });
  return {
    child,
    next,
    ask: (what, key) => { const p = next(key); child.send(what); return p; },
    /** Asks the child to close and waits for it to exit. */
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send('exit');
      await exited;
    },
  };
}

module.exports = { memory, serveParent, forkServer };
