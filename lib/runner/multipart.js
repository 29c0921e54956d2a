'use strict';
/**
 * File uploads, as runner 5.5.0 takes them (src/node/exposure/multipart.ts,
 * handlers/taskHandler.ts), over the form Go parses (internal/multipart): Go reads the
 * multipart body, enforces busboy's limits and hands over the manifest (the call's
 * input) and each `file:<id>` part as a stream (ctx.form). This file does what runner
 * does in JavaScript: the manifest's file sentinels become runner's own NodeInputFile
 * objects, each backed by a PassThrough its part is piped into once it arrives (so the
 * task may start before every file has arrived), the files limit counts the ids of the
 * manifest and of the parts, and the answer waits for the whole form ("finalize"): a
 * form that fails, or a file the manifest names that never came (MISSING_FILE_PART),
 * answers instead of the task.
 *
 * Differences, where runner would wait for ever: when the task settles, the files it did
 * not read are dropped past what is buffered (Go stops waiting for them; a stream cut
 * there fails with FILE_DISCARDED) and the rest of the form is read and checked; a
 * second part for the same id is dropped (runner pipes both into one stream).
 */
const { PassThrough } = require('stream');
const { HandlerError } = require('../errors');
const { ANSWERS } = require('../wire');

const DEFAULT_NAME = 'upload';
const MANIFEST_KEY = '$runnerFile';

/** A form's refusal, answered as runner answers it (no log, 500s say "Internal Error"). */
function refusal({ status, code, message }) {
  return new HandlerError(message, { status, code });
}

const FILES_LIMIT = ANSWERS.FORM_TOO_MANY_FILES;
const MISSING_MANIFEST = ANSWERS.FORM_MISSING_MANIFEST;

class LimitError extends Error {}

/**
 * One upload: runner's parseMultipartInput state (files by id, finalize).
 */
class Upload {
  /**
   * @param {import('../streams').MultipartForm} form
   * @param {any} NodeInputFile runner's class
   * @param {number|undefined} maxFiles runner's limits.files (undefined: none)
   */
  constructor(form, NodeInputFile, maxFiles) {
    this.form = form;
    this.NodeInputFile = NodeInputFile;
    this.maxFiles = maxFiles;
    this.files = new Map();
    this.settled = false;
    this.finalize = new Promise((resolve) => { this.resolveFinalize = resolve; });
  }

  /** runner's ensureEntry. Throws LimitError past the files limit. */
  entry(id, meta, source = 'manifest') {
    let entry = this.files.get(id);
    if (!entry) {
      if (typeof this.maxFiles === 'number' && this.files.size >= this.maxFiles) throw new LimitError();
      const pass = new PassThrough();
      pass.on('error', () => {}); // streams are destroyed on failure; nobody may be listening
      const file = new this.NodeInputFile({ name: (meta && meta.name) ?? DEFAULT_NAME }, pass);
      entry = { id, file, stream: pass, connected: false, expected: false, manifestMeta: undefined };
      this.files.set(id, entry);
    }
    if (meta) applyMeta(entry, meta, source);
    if (source === 'manifest') entry.expected = true;
    return entry;
  }

  /** A file part arrived: runner's 'file' handler. */
  connect(part) {
    if (this.settled) {
      part.stream.destroy();
      return;
    }
    let entry;
    try {
      const meta = { name: decodeFilename(part.filename, part.filenameCharset), type: part.type };
      entry = this.files.get(part.id);
      if (entry && entry.connected) { // a second part for one id: dropped
        part.stream.destroy();
        return;
      }
      entry = this.entry(part.id, meta, 'file');
    } catch (err) {
      if (!(err instanceof LimitError)) throw err;
      part.stream.destroy();
      this.fail(FILES_LIMIT);
      return;
    }
    entry.connected = true;
    entry.part = part.stream;
    part.stream.on('error', (err) => {
      // Go refused the form, or the call was aborted: fail() has the reason. A file cut
      // because the task settled fails its PassThrough alike.
      if (err && err.code === ANSWERS.BODY_DISCARDED.code) entry.stream.destroy(err);
    });
    part.stream.pipe(entry.stream);
  }

  /** The form was read to its end: runner's handleCompletion. */
  complete() {
    for (const entry of this.files.values()) {
      // A file cut short (FILE_DISCARDED) fails now, before anyone can read its start:
      // its 'error' event may come only after the answer began.
      if (entry.part && entry.part.errored && !entry.stream.destroyed) entry.stream.destroy(entry.part.errored);
    }
    for (const entry of this.files.values()) {
      if (entry.expected && !entry.connected) {
        const { status, code, message } = ANSWERS.FORM_MISSING_FILE_PART;
        this.fail({ status, code, message: message.replace('{}', () => entry.id) });
        return;
      }
      if (entry.manifestMeta) applyMeta(entry, entry.manifestMeta, 'manifest');
    }
    this.settle({ ok: true });
  }

  /** runner's fail(): every file stream fails, the form is read on without them. */
  fail(response) {
    if (this.settled) return;
    const error = new Error();
    for (const entry of this.files.values()) {
      if (entry.part && !entry.part.destroyed) entry.part.destroy();
      if (!entry.stream.destroyed) entry.stream.destroy(error);
    }
    this.form.settled();
    this.settle({ ok: false, response });
  }

  settle(result) {
    if (this.settled) return;
    this.settled = true;
    this.resolveFinalize(result);
  }
}

/**
 * Reads an upload's input: the parts before the manifest first (runner meets them
 * first), then the manifest's sentinels. Throws the refusal runner answers before the
 * task runs (MISSING_MANIFEST, the files limit).
 * @returns {Promise<{upload: Upload, input: unknown}>}
 */
async function openUpload(form, manifest, NodeInputFile, maxFiles) {
  const upload = new Upload(form, NodeInputFile, maxFiles);
  const queued = [];
  let hydrated = false;
  form.onFile((part) => (hydrated ? upload.connect(part) : queued.push(part)));
  await form.earlyParts();
  for (const part of queued.splice(0, form.early)) upload.connect(part);
  if (upload.settled) throw refusal((await upload.finalize).response);
  if (!manifest || typeof manifest !== 'object') throw refusal(MISSING_MANIFEST);
  let input;
  try {
    input = hydrate(manifest.input, (id, meta) => upload.entry(id, meta).file);
  } catch (err) {
    if (!(err instanceof LimitError)) throw err;
    upload.fail(FILES_LIMIT);
    throw refusal(FILES_LIMIT);
  }
  hydrated = true;
  for (const part of queued.splice(0)) upload.connect(part);
  form.ended.then((end) => {
    if (end.ok) upload.complete();
    else upload.fail({ status: end.status, code: end.code, message: end.message });
  });
  return { upload, input };
}

/**
 * Runs an upload's task as runner's taskHandler does: the task, then the form's end;
 * a failed form answers instead of the task.
 * @param {Upload} upload
 * @param {() => Promise<any>} run the task (contexts and all)
 * @param {(err: unknown) => never} fail what a task's failure becomes
 */
async function runUpload(upload, run, fail) {
  let taskError;
  let result;
  try {
    result = await run();
  } catch (err) {
    taskError = err;
  }
  upload.form.settled();
  const finalize = await upload.finalize;
  if (!finalize.ok) throw refusal(finalize.response);
  if (taskError) fail(taskError); // runner: `if (taskError) throw taskError`: a falsy throw is a success
  return result;
}

/** runner's hydrateInputWithFiles: sentinels become files; arrays and objects are copied. */
function hydrate(input, fileFor) {
  const visit = (value) => {
    if (!value || typeof value !== 'object') return value;
    if (value[MANIFEST_KEY] === 'File' && typeof value.id === 'string') return fileFor(value.id, value.meta);
    if (Array.isArray(value)) return value.map(visit);
    const out = {};
    for (const key of Object.keys(value)) out[key] = visit(value[key]);
    return out;
  };
  return visit(input);
}

/** runner's applyMeta: the manifest's metadata wins over the part's. */
function applyMeta(entry, meta, source) {
  const { file } = entry;
  if (source === 'manifest') entry.manifestMeta = { ...(entry.manifestMeta ?? {}), ...meta };
  const manifestHas = (key) => (entry.manifestMeta ? entry.manifestMeta[key] !== undefined : false);
  if (meta.name !== undefined) {
    if (source === 'manifest') file.name = meta.name;
    else if (!manifestHas('name') && (!file.name || file.name === DEFAULT_NAME)) file.name = meta.name;
  }
  for (const key of ['type', 'size', 'lastModified', 'extra']) {
    if (meta[key] === undefined) continue;
    if (source === 'manifest' || (!manifestHas(key) && file[key] === undefined)) file[key] = meta[key];
  }
}

/**
 * A part's filename as busboy gives it: a plain parameter is Latin-1 text, filename*
 * is decoded with its charset (busboy's decoders), then only its last path segment is
 * kept. undefined when there is none. Go skips a part whose filename* is in any other
 * charset (busboy's decoder for those always fails), so none arrives here.
 */
function decodeFilename(bytes, charset) {
  if (bytes === undefined) return undefined;
  let text;
  switch (charset === undefined ? 'latin1' : charset.toLowerCase()) {
    case 'utf-8': case 'utf8': text = bytes.toString('utf8'); break;
    case 'latin1': case 'ascii': case 'us-ascii': case 'iso-8859-1': case 'iso8859-1': case 'iso88591':
    case 'iso_8859-1': case 'windows-1252': case 'iso_8859-1:1987': case 'cp1252': case 'x-cp1252':
      text = bytes.toString('latin1'); break;
    case 'utf16le': case 'utf-16le': case 'ucs2': case 'ucs-2': text = bytes.toString('utf16le'); break;
    case 'base64': text = bytes.toString('base64'); break;
    default:
      return undefined;
  }
  return basename(text);
}

/** busboy's basename: the text after the last '/' or '\', '' for '.' and '..'. */
function basename(path) {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const name = i >= 0 ? path.slice(i + 1) : path;
  return name === '.' || name === '..' ? '' : name;
}

module.exports = { openUpload, runUpload, hydrate, decodeFilename, refusal };
