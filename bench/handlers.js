'use strict';
/** The benchmark's handlers, shared by every JavaScript server (Go has twins in internal/gohandlers). */
const crypto = require('crypto');

/** About 1 ms of CPU on this project's machine: a fixed amount of SHA-256 hashing. */
const CPU_ROUNDS = 500;

function burn() {
  let digest = Buffer.alloc(32);
  for (let i = 0; i < CPU_ROUNDS; i++) digest = crypto.createHash('sha256').update(digest).digest();
  return digest.toString('hex');
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
