'use strict';
/** The benchmark's handlers, shared by every JavaScript server (Go has twins in internal/gohandlers). */
const tasks = {
  'app.tasks.add': async (input) => input.a + input.b,
  'app.tasks.echo': async (input) => input,
  'app.tasks.sleep': (input) => new Promise((resolve) => setTimeout(() => resolve(true), input.ms)),
};
const events = {
  'app.events.notify': async () => {},
};
module.exports = { tasks, events };
