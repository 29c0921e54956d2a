'use strict';
/** The benchmark's handlers, shared by every JavaScript server (Go has twins in internal/gohandlers). */
/**
 * About 1 ms of CPU on this project's machine: a fixed amount of hashing (FNV-1a over a
 * 4 KiB buffer, CPU_ROUNDS times), allocation-free so that it measures the threads'
 * CPU and not the garbage collector.
 */
const CPU_ROUNDS = 160;
const CPU_DATA = Buffer.alloc(4096);
for (let i = 0; i < CPU_DATA.length; i++) CPU_DATA[i] = (i * 31) & 255;

function burn() {
  let h = 0x811c9dc5;
  for (let r = 0; r < CPU_ROUNDS; r++) {
    for (let i = 0; i < CPU_DATA.length; i++) {
      h ^= CPU_DATA[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16);
}

const tasks = {
  'app.tasks.add': async (input) => input.a + input.b,
  'app.tasks.echo': async (input) => input,
  'app.tasks.sleep': (input) => new Promise((resolve) => setTimeout(() => resolve(true), input.ms)),
  'app.tasks.cpu': () => burn(),
};
const events = {
  'app.events.notify': async () => {},
};
module.exports = { tasks, events, burn, CPU_ROUNDS };
