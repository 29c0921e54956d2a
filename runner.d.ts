/**
 * @bluelibs/runner-native/runner, for the @bluelibs/runner the application loads:
 *
 * runner 6.x: nativeRpcLanes, a drop-in replacement for rpcLanesResource (same config,
 * same value) whose HTTP exposure runner-native's Go server serves:
 *
 *   import { nativeRpcLanes } from '@bluelibs/runner-native/runner';
 *   app.register([nativeRpcLanes.with({ profile: 'server', topology, mode: 'network', exposure: { http } })]);
 *
 * runner 5.x: nativeExposure, a drop-in replacement for nodeExposure:
 *
 *   import { nativeExposure } from '@bluelibs/runner-native/runner';
 *   app.register([serverTunnel, nativeExposure.with({ http: { listen: { port: 7070 }, auth: { token } } })]);
 *
 * The export of the other major is undefined at run time.
 */
import type * as Runner from '@bluelibs/runner';
import type { IResource } from '@bluelibs/runner';
import type { NodeExposureHttpConfig, nodeExposure } from '@bluelibs/runner/node';
import type { Readable, Writable } from 'stream';
import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders } from 'http';
import type { TunnelServer, TunnelConfig } from './index';

/**
 * The runner-native settings nativeExposure takes in `http` beside runner's own members
 * (taskTimeoutMs, maxInFlight, reusePort, the timeouts and limits, onRequests,
 * onHandlerError...): every TunnelConfig field but those nativeExposure sets itself
 * from runner's members (setting one of them is refused at boot, naming where it lives).
 */
export type NativeHttpSettings = Partial<Omit<TunnelConfig,
  'protocol' | 'exposure' | 'port' | 'host' | 'maxBodySize' | 'multipart' | 'corsOrigins'
  | 'serializer' | 'authValidator' | 'onAuthFailure' | 'cors' | 'auth' | 'disableDiscovery' | 'basePath'>>;

/**
 * nodeExposure's http config, as nativeExposure takes it: basePath, listen (required:
 * runner-native serves its own port; host defaults to "127.0.0.1"), auth, cors,
 * limits.json.maxSize, limits.multipart (file uploads), disableDiscovery,
 * dangerouslyAllowOpenExposure; and runner-native's settings (NativeHttpSettings).
 * `server` (attach to an http.Server) is not supported.
 */
export type NativeExposureHttpConfig = Omit<NodeExposureHttpConfig, 'server' | 'listen'> & NativeHttpSettings & {
  listen: { port: number; host?: string };
  server?: never;
};

export interface NativeExposureConfig {
  http: NativeExposureHttpConfig;
}

/** What the resource gives the application. */
export interface NativeExposureValue {
  /** The resolved base path, e.g. "/__runner". */
  readonly basePath: string;
  /** The address bound: listen.host, default "127.0.0.1". */
  readonly host: string;
  /** The bound port (the real one with port 0) once runner is ready, else null. */
  readonly port: number | null;
  /** The TunnelServer once listening (getStats(), closeIdleConnections()...), else null. */
  readonly server: TunnelServer | null;
  /** Stops serving: every accepted request is answered, then the port is released. */
  close(): Promise<void>;
}

/** `req.socket` under nativeExposure: the client, as Node's socket gives it. */
export interface NativeExposureSocket {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly remoteFamily?: string;
}

/**
 * `useExposureContext().req` as both exposures provide it: under nativeExposure a
 * Readable (the raw body for application/octet-stream, else already at its end, as
 * runner's is once it read the input) with the IncomingMessage members runner tasks
 * read. Node's IncomingMessage fits it, so `const ctx: NativeExposureContext =
 * useExposureContext()` compiles and then offers only what nativeExposure provides.
 */
export interface NativeExposureRequest extends Readable {
  readonly method?: string;
  /** The request target as received (path and query). */
  readonly url?: string;
  readonly headers: IncomingHttpHeaders;
  readonly socket: NativeExposureSocket;
}

/**
 * `useExposureContext().res` as both exposures provide it: under nativeExposure a
 * Writable carried over the streamed-answer path (runner's "response hijack"): the first
 * write, writeHead, flushHeaders or end commits the status and headers; the task's
 * return value is then ignored, as under nodeExposure.
 */
export interface NativeExposureResponse extends Writable {
  statusCode: number;
  statusMessage: string;
  readonly headersSent: boolean;
  setHeader(name: string, value: number | string | readonly string[]): this;
  getHeader(name: string): number | string | string[] | undefined;
  getHeaders(): OutgoingHttpHeaders;
  getHeaderNames(): string[];
  hasHeader(name: string): boolean;
  removeHeader(name: string): void;
  writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  flushHeaders(): void;
}

/**
 * What `useExposureContext()` gives a task, typed as nativeExposure provides it (runner
 * types it with Node's classes, of which nativeExposure has what is listed here):
 * `const { req, res, signal }: NativeExposureContext = useExposureContext();`
 */
export interface NativeExposureContext {
  req: NativeExposureRequest;
  res: NativeExposureResponse;
  url: URL;
  basePath: string;
  headers: IncomingHttpHeaders;
  method?: string;
  /** Aborts when the client goes away or close() reaches its deadline, with runner's cancellation error. */
  signal: AbortSignal;
}

type DependenciesOf<R> = R extends IResource<any, any, infer D, any, any, any, any> ? D : never;

/** The resource: nodeExposure's dependencies and config, runner-native's server. */
export declare const nativeExposure: IResource<NativeExposureConfig, Promise<NativeExposureValue>, DependenciesOf<typeof nodeExposure>>;

/**
 * runner 6.x: rpcLanesResource's own type (its config, dependencies and value), so that
 * `rpcLanesResource.with(config)` becomes `nativeRpcLanes.with(config)` unchanged. Its
 * value is rpcLanesResource's; `exposure` (null when nothing is served) also has the
 * fields of NativeRpcLanesExposure. With runner 5.x installed this is `never`.
 */
export declare const nativeRpcLanes: typeof Runner extends { rpcLanesResource: infer L } ? L : never;

/** What `value.exposure` of nativeRpcLanes holds when it serves (runner 6.x). */
export interface NativeRpcLanesExposure {
  readonly basePath: string;
  readonly host: string;
  /** The bound port (the real one with port 0). */
  readonly port: number | null;
  readonly server: TunnelServer | null;
  close(): Promise<void>;
  /** runner's Node handlers: there are none (null). */
  getHandlers(): null;
}
