import type { MessagePort, Transferable } from 'node:worker_threads';
import { type ErrorCode, TracklaneError } from '@tracklane/core';

/** A handler's answer with the buffers to transfer (moved, not copied, to the other thread). */
export class Transfer<T> {
  constructor(
    readonly value: T,
    readonly list: Transferable[],
  ) {}
}

// biome-ignore lint/suspicious/noExplicitAny: handlers take the positional arguments their caller sent
export type Handler = (...args: any[]) => unknown;

interface Request {
  t: 'req';
  id: number;
  m: string;
  a: unknown[];
}
interface Response {
  t: 'res';
  id: number;
  ok: boolean;
  v?: unknown;
  e?: WireError;
}
interface Event {
  t: 'ev';
  e: string;
  a: unknown;
}
type Message = Request | Response | Event;

interface WireError {
  code: ErrorCode | undefined;
  message: string;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Calls and one-way events over a MessagePort, in both directions. Replies carry the error's code, so a
 * `TracklaneError` thrown on one side is a `TracklaneError` with the same code on the other: callers
 * decide on codes (E_TOPIC_NOT_FOUND, E_LOG_CLOSED), never on which thread the error happened in.
 * Messages on one port are delivered in order, which the log proxy relies on (a seek precedes the
 * next poll).
 */
export class RpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: TracklaneError | undefined;
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    private readonly port: MessagePort,
    private readonly handlers: Record<string, Handler> = {},
    private readonly onEvent: (name: string, payload: unknown) => void = () => undefined,
  ) {
    port.on('message', (message: Message) => this.receive(message));
    // Fires when the other side closes its port or its thread dies: nothing pending will be answered.
    port.on('close', () =>
      this.shutdown(new TracklaneError('E_LOG_CLOSED', 'the other thread closed the channel; restart it')),
    );
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  call<T>(method: string, args: unknown[], transfer: Transferable[] = []): Promise<T> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.port.postMessage({ t: 'req', id, m: method, a: args } satisfies Request, transfer);
    });
  }

  notify(event: string, payload: unknown): void {
    if (this.closedWith !== undefined) return;
    this.port.postMessage({ t: 'ev', e: event, a: payload } satisfies Event);
  }

  /** Closes this side; calls still pending reject with `reason` (default E_LOG_CLOSED). */
  close(reason?: TracklaneError): void {
    this.shutdown(reason ?? new TracklaneError('E_LOG_CLOSED', 'the channel was closed; reopen it'));
    this.port.close();
  }

  private shutdown(reason: TracklaneError): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    for (const listener of this.closeListeners) listener();
  }

  private receive(message: Message): void {
    if (message.t === 'res') {
      const pending = this.pending.get(message.id);
      if (pending === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) pending.resolve(message.v);
      else pending.reject(fromWire(message.e!));
    } else if (message.t === 'ev') {
      this.onEvent(message.e, message.a);
    } else {
      void this.answer(message);
    }
  }

  private async answer(request: Request): Promise<void> {
    let reply: Response;
    let transfer: Transferable[] = [];
    try {
      const handler = this.handlers[request.m];
      if (handler === undefined) {
        throw new TracklaneError('E_NOT_SUPPORTED', `no method '${request.m}' on this channel`);
      }
      let value = await handler(...request.a);
      if (value instanceof Transfer) {
        transfer = value.list;
        value = value.value;
      }
      reply = { t: 'res', id: request.id, ok: true, v: value };
    } catch (err) {
      reply = { t: 'res', id: request.id, ok: false, e: toWire(err) };
    }
    if (this.closedWith === undefined) this.port.postMessage(reply, transfer);
  }
}

function toWire(err: unknown): WireError {
  const code = (err as { code?: unknown } | null)?.code;
  return {
    code: err instanceof TracklaneError ? err.code : undefined,
    message:
      err instanceof Error
        ? `${err.message}${typeof code === 'string' && !(err instanceof TracklaneError) ? ` (${code})` : ''}`
        : String(err),
  };
}

function fromWire(e: WireError): Error {
  return e.code === undefined ? new Error(e.message) : new TracklaneError(e.code, e.message);
}
