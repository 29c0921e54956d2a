/**
 * @bluelibs/runner-native: an HTTP tunnel server whose HTTP side (Go, fasthttp) runs
 * inside the Node process and calls the handlers registered here.
 */

/** A value (de)serializer. Runner's `Serializer` fits; the default is JSON. */
export interface SerializerLike {
  parse(text: string): any;
  stringify(value: any): string;
}

/** What an `authValidator` is given about a request. */
export interface AuthRequest {
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  method: string;
  /** The request target as received, query included. */
  url: string;
  /** Its path. */
  path: string;
  /** Runner protocol: the request's x-runner-request-id (also among the headers, as runner writes it there). */
  requestId?: string;
}

/** What `onAuthFailure` is told about a refused request. */
export interface AuthFailure {
  requestId?: string;
  method: string;
  path: string;
  status: number;
  code: string;
  /**
   * How many more requests were refused after this one and coalesced into this report
   * (absent when none): at most one report waits for the JavaScript thread, so a flood of
   * refused requests never queues work for it. `getStats().authFailures` counts them all.
   */
  more?: number;
}

/**
 * One answered request, as `onRequests` gets it: for access logs and metrics. Every
 * request the server answered is there: calls, refusals (401, 403, 404, 413...),
 * preflights and discovery; not the ones refused as malformed HTTP
 * (`getStats().rejectedHTTP`).
 */
export interface RequestRecord {
  /** When the request's head was read, in ms since the Unix epoch (as Date.now()). */
  time: number;
  method: string;
  /** The path as received, without the query (at most 2048 bytes, one character per byte). */
  path: string;
  /** 'task' or 'event' when a handler was called, else undefined (answered by the server alone). */
  kind: 'task' | 'event' | undefined;
  /** The task or event id when a handler was called, else undefined. */
  id: string | undefined;
  /** The HTTP status answered (499: the client went away first). */
  status: number;
  /**
   * Milliseconds from the request's head read to the answer handed to the connection; for
   * a streamed answer, to the stream's end (written, cut or abandoned).
   */
  durationMs: number;
  /** Request body bytes the server read. */
  bytesIn: number;
  /** Response body bytes sent (a streamed answer: every byte of the stream written). */
  bytesOut: number;
  /** The client's IP address (IPv4-mapped IPv6 shown as IPv4), undefined when not TCP. */
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** Runner protocol: the request's x-runner-request-id (the client's, or the one generated). */
  requestId: string | undefined;
}

/** Runner-style CORS configuration (the same shape as runner's `http.cors`). */
export interface CorsConfig {
  /**
   * Allowed origin(s). Omitted: "*" (or none with `credentials`). A string is sent as is;
   * a list echoes a listed Origin; a RegExp allows an Origin it matches; a function
   * returns the value to send, or null.
   */
  origin?: string | string[] | RegExp | ((origin: string | undefined) => string | null | undefined);
  /** Preflight Access-Control-Allow-Methods. Default ["POST", "OPTIONS"]. */
  methods?: string[];
  /** Preflight Access-Control-Allow-Headers. Default: echo the requested ones. */
  allowedHeaders?: string[];
  /** Access-Control-Expose-Headers on actual responses. */
  exposedHeaders?: string[];
  /** Send Access-Control-Allow-Credentials: true. */
  credentials?: boolean;
  /** Preflight Access-Control-Max-Age, in seconds. */
  maxAge?: number;
  /** Add Vary: Origin when the answer depends on the Origin. Default true. */
  varyOrigin?: boolean;
}

export interface TunnelConfig {
  /** Port to listen on; 0 picks a free one (read it back from `server.port`). */
  port: number;
  /** Address to bind. Default: every interface. Use "127.0.0.1" for local clients only. */
  host?: string;
  /**
   * Wire format. 'seed' (default): this package's original protocol, numeric error codes.
   * 'runner': @bluelibs/runner's exposure protocol (string codes, typed errors, request
   * ids, security headers, fail-closed auth); see `@bluelibs/runner-native/runner`.
   */
  protocol?: 'seed' | 'runner';
  /** Prefix of every route. Default "/__runner". Normalised to one leading slash, no trailing slash. */
  basePath?: string;
  /** Origins allowed to read responses (seed style). Default ["*"]. Not together with `cors`. */
  corsOrigins?: string[];
  /** Runner-style CORS. Default (runner protocol): "*". */
  cors?: CorsConfig;
  /** Largest request body in bytes; larger ones get 413 PAYLOAD_TOO_LARGE. Default 10 MiB (runner: 2 MiB). */
  maxBodySize?: number;
  /**
   * Largest request body streamed to a handler (application/octet-stream: `ctx.body`; a
   * multipart upload, runner protocol), in bytes; past it the stream fails and the
   * request gets 413. Default 0: no limit, as runner.
   */
  maxStreamBodySize?: number;
  /**
   * Runner protocol: limits of multipart/form-data uploads, runner's
   * `http.limits.multipart` (busboy's). Absent: runner's defaults (fileSize 20 MiB,
   * files 10, fields 100, fieldSize 1 MiB). Given: a member left out is unlimited, but
   * fieldSize (1 MiB); Infinity is unlimited. Past a limit: 413 PAYLOAD_TOO_LARGE.
   */
  multipart?: { fileSize?: number; files?: number; fields?: number; fieldSize?: number; parts?: number; headerPairs?: number; fieldNameSize?: number };
  /** Largest request line plus headers in bytes; larger ones get 431 HEADERS_TOO_LARGE. Default 8 KiB (runner: 16 KiB). */
  maxHeaderSize?: number;
  /** Deepest nesting of arrays/objects accepted in a body; deeper ones get 400 INVALID_JSON. Default 512 (runner: 1000). */
  maxJsonDepth?: number;
  /** Time allowed to read one request, in ms; a streamed body: each read. Default 30000. */
  readTimeoutMs?: number;
  /**
   * Time allowed to receive a whole request, head to last body byte, streamed bodies
   * (`ctx.body`, multipart uploads) included, in ms: Node's `server.requestTimeout`. Past
   * it the request is answered 408 REQUEST_TIMEOUT (when its answer has not started) and
   * the connection closes. Default 300000; 0: no limit. Raise it for uploads that
   * legitimately take longer.
   */
  requestTimeoutMs?: number;
  /** Time allowed to write one response, in ms. Default 30000. */
  writeTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept, in ms. Default 30000. */
  idleTimeoutMs?: number;
  /** Connections served at once; more are refused with 503. Default 262144. */
  maxConnections?: number;
  /** Time a handler may take to settle, in ms; then 504 TIMEOUT and ctx.signal fires. Default 0: no limit. */
  taskTimeoutMs?: number;
  /** Calls waiting for a handler at once (at most 16777216); beyond it requests get 503 at once. Default 10000. */
  maxInFlight?: number;
  /** How long close() waits for running handlers, in ms; then they are answered 503. Default 10000. */
  closeTimeoutMs?: number;
  /** Release idle keep-alive connections' buffers: less memory per idle connection, some more CPU per request. Default false. */
  reduceMemoryUsage?: boolean;
  /**
   * Who may call. Seed protocol: `token` is required. Runner protocol: without a token
   * or an `authValidator`, every request gets 500 AUTH_NOT_CONFIGURED unless
   * `allowAnonymous` (runner fails closed).
   */
  auth?: {
    /** Accepted token(s), compared in constant time. */
    token?: string | string[];
    /** Header carrying the token. Default "x-runner-token". */
    header?: string;
    /** Runner protocol: let every request in when no token or validator is configured. */
    allowAnonymous?: boolean;
  };
  /** Asked when a request's token does not match: true (or {ok: true}) lets it in. */
  authValidator?: (request: AuthRequest) => boolean | { ok: boolean } | Promise<boolean | { ok: boolean }>;
  /** Told about refused requests (for logs): every one, or several at once as `more` under a flood. */
  onAuthFailure?: (failure: AuthFailure) => void;
  /**
   * Told about every call answered 5xx because its handler failed: a throw or rejection
   * (other than a `HandlerError` of status 4xx), a result that cannot be encoded, a stream
   * that failed. For logs and metrics; the client's answer does not change (seed protocol:
   * the error's message, see README). A hook that throws becomes a process warning.
   */
  onHandlerError?: (error: unknown, call: { kind: 'task' | 'event'; id: string | undefined; requestId: string | undefined }) => void;
  /**
   * Told of every answered request (see RequestRecord), in batches: Go records each
   * answer and hands the records over with the bridge's next exchange (at most a quarter
   * of a second later when the server is idle), so logging adds no wake-up per request.
   * Without this hook no record is made. At most 1 MiB of records waits for the
   * JavaScript thread: past it records are dropped, counted in `info.dropped` (since the
   * previous batch) and `getStats().recordsDropped`. Records still waiting at close()
   * are delivered before it resolves. A hook that throws becomes a process warning.
   */
  onRequests?: (records: RequestRecord[], info: { dropped: number }) => void;
  /** Answer the discovery route 404. Default false. */
  disableDiscovery?: boolean;
  /**
   * What an id nobody registered gets: 'open' 404 (seed default), 'list' 403 "not
   * exposed" (runner default), 'closed' 403 for every task and event.
   */
  exposure?: 'open' | 'list' | 'closed';
  /** Decodes inputs and encodes results, event results and error data. Default JSON. */
  serializer?: SerializerLike;
  /**
   * Share the port: with SO_REUSEPORT across processes (node:cluster, pm2), and within a
   * process one listener for every thread's server on the same host and port, each call
   * going to the least busy thread that registered its id. Every thread must use the
   * same configuration. Default false.
   */
  reusePort?: boolean;
}

/** Options of registerTask and registerEvent. */
export interface RegisterOptions {
  /** Show the id in discovery. Default true. */
  listed?: boolean;
}

/** The second argument of every handler. */
export interface CallContext {
  /** The task or event id. */
  readonly id: string;
  readonly kind: 'task' | 'event';
  /** Always 'POST'. */
  readonly method: 'POST';
  /** Request headers, lower-case names. Read while the call runs; {} once it was answered or aborted. */
  readonly headers: Record<string, string>;
  /**
   * Fires when the client disconnects before its answer, the call times out, or `close()`
   * reaches its deadline with the call still running; `signal.reason.code` is
   * 'CLIENT_DISCONNECTED', 'TIMEOUT' or 'SERVER_CLOSING'. Read after that, it is already
   * aborted with the same reason. `close()` alone does not fire it (graceful shutdown).
   */
  readonly signal: AbortSignal;
  /** Whether `close()` has begun: the call still runs to its end and is answered. */
  readonly closing: boolean;
  /**
   * The client's IP address, as Node's `req.socket.remoteAddress` ('127.0.0.1', '::1'). Read
   * it while the call runs (the first read is kept); undefined once the call was answered.
   */
  readonly remoteAddress: string | undefined;
  /** The client's port, as `req.socket.remotePort`. */
  readonly remotePort: number | undefined;
  /** 'IPv4' or 'IPv6', as `req.socket.remoteFamily`. */
  readonly remoteFamily: 'IPv4' | 'IPv6' | undefined;
  /** Runner protocol: the request's x-runner-request-id. */
  readonly requestId: string | undefined;
  /** Runner protocol: the request target as received. */
  readonly url: string | undefined;
  /** Runner protocol: the raw x-runner-context header. */
  readonly contextHeader: string | undefined;
  /** Events: whether the client asked for the event's result (`returnPayload`). */
  readonly returnPayload: boolean;
  /**
   * An application/octet-stream request body, as a stream read as the handler reads it
   * (at most `maxStreamBodySize` bytes); the input is then undefined. Otherwise undefined.
   */
  readonly body: import('stream').Readable | undefined;
}

/** Counters of a running server (all zero when it is not listening). */
export interface TunnelStats {
  /** Requests seen, including malformed ones. */
  requests: number;
  status2xx: number;
  status4xx: number;
  status5xx: number;
  /** Go panics recovered and answered 500. */
  panics: number;
  /** Calls waiting for a JavaScript handler to settle. */
  pending: number;
  /** Open client connections. */
  connections: number;
  /** Calls inside a handler right now (waiting for JavaScript or being answered). */
  inFlight: number;
  /** Calls answered 504 because of taskTimeoutMs. */
  timeouts: number;
  /** Calls answered 503 because maxInFlight was reached. */
  rejected: number;
  /** Calls whose client disconnected while waiting (an outcome of its own, not a 4xx). */
  disconnects: number;
  /** Calls answered 503 because close() reached its deadline. */
  closedByDeadline: number;
  /** Requests refused as malformed HTTP. */
  rejectedHTTP: number;
  /** Threads serving the port (1 without reusePort). */
  threads: number;
  /** Calls waiting for this thread's handlers (`pending` counts every thread's). */
  threadPending: number;
  /** Calls handed to this thread since it listened. */
  threadCalls: number;
  /** Streamed answers cut because their stream failed after the first byte. */
  streamErrors: number;
  /**
   * Requests refused by the auth policy (401, or runner's AUTH_NOT_CONFIGURED). Each is
   * reported to `onAuthFailure`, one by one or, while the JavaScript thread is behind,
   * counted in the `more` of the failure reported before it.
   */
  authFailures: number;
  /** Records `onRequests` did not get because too many waited for the JavaScript thread. */
  recordsDropped: number;
  /**
   * How long answers took (as `RequestRecord.durationMs`), every answered request counted,
   * whether or not `onRequests` is set: a histogram to read percentiles from or to export
   * (Prometheus, OpenTelemetry). Shared by the threads of a reusePort port.
   */
  latency: LatencyHistogram;
}

/** Counts of durations by bucket; `counts[i]` is the number of durations in bucket i. */
export interface LatencyHistogram {
  /**
   * Upper bounds of the buckets in ms, ascending, inclusive (Prometheus' `le`):
   * [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000].
   */
  boundsMs: number[];
  /** One count per bound, then the count of longer durations (not cumulative). */
  counts: number[];
  /** All durations counted. */
  count: number;
  /** Their sum, in ms (microsecond resolution). */
  sumMs: number;
}

export type TaskHandler = (input: any, ctx: CallContext) => any | Promise<any>;
export type EventHandler = (payload: any, ctx: CallContext) => any | Promise<any>;

/** Options of HandlerError. */
export interface HandlerErrorOptions {
  /**
   * HTTP status of the answer: an error status, an integer from 400 to 599 (else the
   * constructor throws a RangeError, code ERR_OUT_OF_RANGE). Default 500.
   */
  status?: number;
  /** Machine-readable code. Default 'INTERNAL_ERROR'. */
  code?: string;
  /** A typed error's id (runner: the error helper's id; it keeps the message at 500). */
  id?: string;
  /** Structured data, encoded with the serializer. */
  data?: unknown;
  /** The httpCode runner's clients read (400-599, checked as `status` is). */
  httpCode?: number;
  cause?: unknown;
}

/** Throw (or reject with) one to choose the status and the error the client gets. */
export class HandlerError extends Error {
  constructor(message: string, options?: HandlerErrorOptions);
  readonly status: number;
  readonly code: string;
  readonly id?: string;
  readonly data?: unknown;
  readonly httpCode?: number;
}

export class TunnelServer {
  /** @throws TypeError or RangeError naming the invalid field (`field`), with Node's `code` (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE; ERR_UNKNOWN_OPTION for a key no option has). */
  constructor(config: TunnelConfig);
  /**
   * Registers or replaces a task handler; takes effect at once, also while listening.
   * One signature on purpose: overloads would stop TypeScript from inferring `input` in
   * `(input, ctx) => ...`. Seed-style `async (input) => ...` handlers fit it as they are.
   */
  registerTask(taskId: string, handler: TaskHandler, options?: RegisterOptions): void;
  /** Registers or replaces an event handler. */
  registerEvent(eventId: string, handler: EventHandler, options?: RegisterOptions): void;
  /**
   * Resolves once the port accepts connections; rejects with an Error carrying `code`
   * (e.g. "EADDRINUSE"), `errno`, `syscall`, `address` and `port`, as Node's servers do,
   * or `code: 'ERR_SERVER_ALREADY_LISTEN'`.
   */
  listen(): Promise<void>;
  /**
   * Stops accepting, closes idle connections, answers every accepted request, releases
   * native resources. Past `timeoutMs` (default `closeTimeoutMs`), calls still running
   * are answered 503. Idempotent.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
  /** Closes every connection not in the middle of a request. */
  closeIdleConnections(): void;
  /** Closes every connection at once, requests in progress included. */
  closeAllConnections(): void;
  getTaskIds(): Promise<string[]>;
  getEventIds(): Promise<string[]>;
  /** Counters of the running server; after close(), the last ones it had. */
  getStats(): TunnelStats;
  /** The bound port while listening, else null. */
  readonly port: number | null;
  /** The bound address while listening, as Node's `server.address()` (all interfaces: `'::'`), else null. */
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | null;
}

/** The threads started by startWorkers. */
export interface Workers {
  readonly workers: import('worker_threads').Worker[];
  /** The port they serve. */
  readonly port: number;
  /** Closes every thread's server (the last one closes the port), then ends the threads. */
  close(): Promise<void>;
}

/**
 * Starts `threads` worker threads (default: os.availableParallelism()) that each load
 * `modulePath`, a module exporting `(workerData) => Promise<TunnelServer>` that builds a
 * server with `reusePort: true`, registers its handlers and listens. Resolves once every
 * thread listens.
 */
export function startWorkers(modulePath: string, options?: { threads?: number; workerData?: unknown }): Promise<Workers>;
