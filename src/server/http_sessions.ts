/**
 * State of the HTTP transport: the MCP sessions (one server and session transport each) and
 * the count of requests whose response has not finished, which shutdown waits on.
 *
 * @module
 */
import type { Logger } from "../util/log.ts";
import type { McpServer } from "./sdk.ts";
import { HttpSessionTransport } from "./http_transport.ts";
import { connectServer } from "./connect.ts";

/** One MCP session. */
export interface Session {
  id?: string;
  server: McpServer;
  transport: HttpSessionTransport;
  lastSeen: number;
}

/** Open sessions by id, and the ones still initializing. */
export class SessionTable {
  readonly #open = new Map<string, Session>();
  readonly #pending = new Set<Session>();

  constructor(private readonly log: Logger) {}

  /** Open sessions. */
  get size(): number {
    return this.#open.size;
  }

  /** Open and initializing sessions. */
  get total(): number {
    return this.#open.size + this.#pending.size;
  }

  get(id: string): Session | undefined {
    return this.#open.get(id);
  }

  /** A new session around `server`, registered once its `initialize` is accepted. */
  async create(server: McpServer): Promise<Session> {
    const session = { server, lastSeen: Date.now() } as Session;
    session.transport = new HttpSessionTransport({
      sessionId: crypto.randomUUID(),
      onInitialized: (id) => {
        session.id = id;
        this.#pending.delete(session);
        this.#open.set(id, session);
        this.log.log("debug", "MCP session opened", { sessions: this.#open.size });
      },
    });
    session.transport.onclose = () => this.#forget(session);
    this.#pending.add(session);
    await connectServer(server, session.transport);
    return session;
  }

  #forget(session: Session): void {
    if (session.id) this.#open.delete(session.id);
    this.#pending.delete(session);
  }

  /** Closes one session. */
  async close(session: Session): Promise<void> {
    this.#forget(session);
    try {
      await session.server.close();
    } catch (e) {
      this.log.log("debug", "closing an MCP session failed", { error: String(e) });
    }
  }

  /** Closes the sessions unused since `cutoff` (epoch ms). */
  sweep(cutoff: number): void {
    for (const s of this.#open.values()) if (s.lastSeen < cutoff) void this.close(s);
  }

  /** Closes every session. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open.values(), ...this.#pending].map((s) => this.close(s)));
  }
}

/** Requests whose response has not finished. */
export class RequestCounter {
  #count = 0;
  #idle = Promise.withResolvers<void>();

  constructor() {
    this.#idle.resolve();
  }

  get count(): number {
    return this.#count;
  }

  begin(): void {
    if (this.#count++ === 0) this.#idle = Promise.withResolvers<void>();
  }

  end(): void {
    if (--this.#count === 0) this.#idle.resolve();
  }

  /** Waits until no request is in flight or `ms` passed; returns how many are left. */
  async settle(ms: number): Promise<number> {
    if (!this.#count) return 0;
    const timer = Promise.withResolvers<void>();
    const id = setTimeout(timer.resolve, ms);
    await Promise.race([this.#idle.promise, timer.promise]);
    clearTimeout(id);
    return this.#count;
  }
}
