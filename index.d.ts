/**
 * @bluelibs/runner-native: an HTTP tunnel server whose HTTP side (Go, fasthttp) runs
 * inside the Node process and calls the handlers registered here.
 */

export interface TunnelConfig {
  /**
   * Wire format. 'seed' (default): this package's original protocol. 'runner':
   * @bluelibs/runner 5.5.0's exposure protocol (string error codes, runner's check order,
   * body rules, request ids, security headers, fail-closed auth, 2 MiB bodies).
   */
  protocol?: 'seed' | 'runner';
  /** Port to listen on; 0 picks a free one (read it back from `server.port`). */
  port: number;
  /** Address to bind. Default: every interface. Use "127.0.0.1" for local clients only. */
  host?: string;
  /** Prefix of every route. Default "/__runner". Normalised to one leading slash, no trailing slash. */
  basePath?: string;
  /** Origins allowed to read responses. Default ["*"]. */
  corsOrigins?: string[];
  /** Largest request body in bytes; larger ones get 413 PAYLOAD_TOO_LARGE. Default 10 MiB. */
  maxBodySize?: number;
  /** Largest request line plus headers in bytes; larger ones get 431 HEADERS_TOO_LARGE. Default 8 KiB. */
  maxHeaderSize?: number;
  /** Deepest nesting of arrays/objects accepted in a body; deeper ones get 400 INVALID_JSON. Default 512. */
  maxJsonDepth?: number;
  /** Time allowed to read one request, in ms. Default 30000. */
  readTimeoutMs?: number;
  /** Time allowed to write one response, in ms. Default 30000. */
  writeTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept, in ms. Default 30000. */
  idleTimeoutMs?: number;
  /** Connections served at once; more are refused with 503. Default 262144. */
  maxConnections?: number;
  /** Time a handler may take to settle, in ms; then 504 TIMEOUT and ctx.signal fires. Default 0: no limit. */
  taskTimeoutMs?: number;
  /** Calls waiting for a handler at once; beyond it requests get 503 SERVICE_UNAVAILABLE at once. Default 10000. */
  maxInFlight?: number;
  /** Release idle keep-alive connections' buffers: less memory per idle connection, some more CPU per request. Default false. */
  reduceMemoryUsage?: boolean;
  /** Require a token on task, event and discovery requests (401 UNAUTHORIZED otherwise). */
  auth?: {
    /** The token, or several accepted tokens. Required in the seed protocol. */
    token?: string | string[];
    /** Header carrying the token. Default "x-runner-token". */
    header?: string;
    /** Runner protocol: with no token and no validator, let every request in (else 500 AUTH_NOT_CONFIGURED). */
    allowAnonymous?: boolean;
  };
  /** Asked when the token does not match: a truthy `true` or `{ ok: true }` lets the request in. */
  authValidator?: (request: AuthRequest) => boolean | { ok: boolean } | Promise<boolean | { ok: boolean }>;
  /** Told about every request refused by auth (for logs). */
  onAuthFailure?: (info: { requestId?: string; method: string; path: string; status: number; code: string }) => void;
  /** Runner's CORS config (instead of corsOrigins). */
  cors?: CorsConfig;
  /** Answer the discovery route 404. Default false. */
  disableDiscovery?: boolean;
  /**
   * What an id nobody registered gets: 'open' 404 (seed default), 'list' 403 "not exposed"
   * (runner default), 'closed' 403 "Exposure not enabled" for every id.
   */
  exposure?: 'open' | 'list' | 'closed';
  /** Encodes inputs, results, event payloads and error data (runner's Serializer fits). Default JSON. */
  serializer?: { parse(text: string): any; stringify(value: any): string };
  /** Default deadline of close(), in ms. Default 10000. */
  closeTimeoutMs?: number;
}

/** What an auth validator is asked about. */
export interface AuthRequest {
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  method: string;
  /** The request target, e.g. "/__runner/task/app.add?x=1". */
  url: string;
  /** Its path, normalised. */
  path: string;
  /** x-runner-request-id of the request (runner protocol). */
  requestId?: string;
}

/** @bluelibs/runner's cors config (src/node/exposure/cors.ts). */
export interface CorsConfig {
  /** Default "*". A string is sent as is; a list, RegExp or function chooses per request Origin. */
  origin?: string | string[] | RegExp | ((origin: string | undefined) => string | null | undefined);
  /** Preflight's Access-Control-Allow-Methods. Default ["POST", "OPTIONS"]. */
  methods?: string[];
  /** Preflight's Access-Control-Allow-Headers. Default: the requested headers. */
  allowedHeaders?: string[];
  exposedHeaders?: string[];
  credentials?: boolean;
  /** Preflight's Access-Control-Max-Age, in seconds. */
  maxAge?: number;
  /** Add Vary: Origin when the allowed origin depends on the request. Default true. */
  varyOrigin?: boolean;
}

/** The second argument of every handler. */
export interface CallContext {
  /** The task or event id. */
  readonly id: string;
  readonly kind: 'task' | 'event';
  /** Request headers, lower-case names. Read before the call times out; {} afterwards. */
  readonly headers: Record<string, string>;
  /**
   * Fires when the client disconnects before its answer, the call times out, or the server
   * closes; `signal.reason.code` is 'CLIENT_DISCONNECTED', 'TIMEOUT' or 'SERVER_CLOSING'.
   */
  readonly signal: AbortSignal;
  /** x-runner-request-id of the request (runner protocol), else undefined. */
  readonly requestId?: string;
  /** The request target as received, e.g. '/__runner/task/app.add?x=1' (runner protocol). */
  readonly url?: string;
  /** Always 'POST'. */
  readonly method: 'POST';
  /** The raw x-runner-context header (runner protocol), else undefined. */
  readonly contextHeader?: string;
  /** Events: whether the client asked for the event's result (returnPayload); then the handler's value is answered. */
  readonly returnPayload: boolean;
}

/**
 * A handler failure with an HTTP status and a structured error: throw or reject with one
 * to choose what the client sees; anything else thrown is a 500. In the runner protocol,
 * at status 500 only an error with an `id` (a typed error) keeps its message.
 */
export class HandlerError extends Error {
  constructor(message: string, options?: { status?: number; code?: string; id?: string; data?: unknown; httpCode?: number; cause?: unknown });
  /** HTTP status of the answer. Default 500. */
  readonly status: number;
  /** Machine-readable code. Default 'INTERNAL_ERROR'. */
  readonly code: string;
  readonly id?: string;
  readonly data?: unknown;
  readonly httpCode?: number;
}

/** Options of registerTask and registerEvent. */
export interface RegisterOptions {
  /** Show the id in discovery. Default true. */
  listed?: boolean;
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
  /** Calls whose client disconnected while waiting. */
  disconnects: number;
}

export type TaskHandler = (input: any, ctx: CallContext) => any | Promise<any>;
/** An event handler; its value is the answer's result when the client asks (ctx.returnPayload). */
export type EventHandler = (payload: any, ctx: CallContext) => any | Promise<any>;

export class TunnelServer {
  /** @throws TypeError or RangeError naming the invalid field. */
  constructor(config: TunnelConfig);
  /**
   * Registers or replaces a task handler; takes effect at once, also while listening.
   * One signature on purpose: overloads would stop TypeScript from inferring `input` in
   * `(input, ctx) => ...`. Seed-style `async (input) => ...` handlers fit it as they are.
   */
  registerTask(taskId: string, handler: TaskHandler, options?: RegisterOptions): void;
  /** Registers or replaces an event handler. */
  registerEvent(eventId: string, handler: EventHandler, options?: RegisterOptions): void;
  /** Resolves once the port accepts connections; rejects with an Error carrying `code` (e.g. "EADDRINUSE"). */
  listen(): Promise<void>;
  /** Stops accepting, answers every accepted request, releases native resources. Idempotent. */
  close(): Promise<void>;
  getTaskIds(): Promise<string[]>;
  getEventIds(): Promise<string[]>;
  /** Counters of the running server. */
  getStats(): TunnelStats;
  /** The bound port while listening, else null. */
  readonly port: number | null;
}
