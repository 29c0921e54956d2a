/**
 * @bluelibs/runner-native: an HTTP tunnel server whose HTTP side (Go, fasthttp) runs
 * inside the Node process and calls the handlers registered here.
 */

export interface TunnelConfig {
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
    token: string;
    /** Header carrying the token. Default "x-runner-token". */
    header?: string;
  };
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
export type EventHandler = (payload: any, ctx: CallContext) => void | Promise<void>;

export class TunnelServer {
  /** @throws TypeError or RangeError naming the invalid field. */
  constructor(config: TunnelConfig);
  /**
   * Registers or replaces a task handler; takes effect at once, also while listening.
   * One signature on purpose: overloads would stop TypeScript from inferring `input` in
   * `(input, ctx) => ...`. Seed-style `async (input) => ...` handlers fit it as they are.
   */
  registerTask(taskId: string, handler: TaskHandler): void;
  /** Registers or replaces an event handler. */
  registerEvent(eventId: string, handler: EventHandler): void;
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
