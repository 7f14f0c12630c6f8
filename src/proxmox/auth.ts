/**
 * Ticket sessions for password authentication: one login shared by concurrent requests,
 * renewal before the 2-hour lifetime ends, and a fresh login after a 401.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { ProxmoxAuthError } from "./errors.ts";

/** A ticket from `POST /access/ticket`. */
export interface Ticket {
  /** The `PVEAuthCookie` value. */
  ticket: string;
  /** Header value required on every non-GET request. */
  csrfToken: string;
  /** `user@realm` as confirmed by the server. */
  username: string;
  /** Clock time (ms) when the ticket was obtained. */
  obtainedAt: number;
}

/** Form fields of one `POST /access/ticket`. */
export interface LoginForm {
  username: string;
  password: string;
  realm?: string;
}

/** Performs `POST /access/ticket` and returns the ticket fields; throws on failure. */
export type LoginFn = (form: LoginForm) => Promise<Omit<Ticket, "obtainedAt">>;

/** Options of a {@link TicketSession}. */
export interface TicketSessionOptions {
  /** `user@realm`, or a bare user name together with `realm`. */
  username: string;
  password: string;
  realm?: string;
  clock: Clock;
  login: LoginFn;
  logger?: Logger;
  /** Renew when the ticket is older than this (default 1 h 45 min). */
  renewAfterMs?: number;
  /** Tickets are worthless after this (default 2 h). */
  lifetimeMs?: number;
}

/** Proxmox tickets are valid for two hours. */
export const TICKET_LIFETIME_MS = 2 * 60 * 60 * 1000;
/** Renew a ticket once it is this old. */
export const TICKET_RENEW_AFTER_MS = 105 * 60 * 1000;

/** Holds the current ticket and obtains new ones, at most one login at a time. */
export class TicketSession {
  #opts: TicketSessionOptions;
  #ticket?: Ticket;
  #inflight?: Promise<Ticket>;
  #renewAfter: number;
  #lifetime: number;

  constructor(options: TicketSessionOptions) {
    this.#opts = options;
    this.#renewAfter = options.renewAfterMs ?? TICKET_RENEW_AFTER_MS;
    this.#lifetime = options.lifetimeMs ?? TICKET_LIFETIME_MS;
  }

  /** The user this session logs in as, for messages. */
  get user(): string {
    const { username, realm } = this.#opts;
    return username.includes("@") || !realm ? username : `${username}@${realm}`;
  }

  /** A ticket fresh enough to use, logging in or renewing first when needed. */
  current(): Promise<Ticket> {
    if (this.#inflight) return this.#inflight;
    const ticket = this.#ticket;
    if (ticket && this.#age(ticket) < this.#renewAfter) return Promise.resolve(ticket);
    return this.#start(ticket);
  }

  /**
   * Called after `stale` was answered with 401: forgets it and logs in again with the
   * password, unless another request already replaced it.
   */
  refreshAfterUnauthorized(stale: Ticket): Promise<Ticket> {
    if (this.#inflight) return this.#inflight;
    if (this.#ticket && this.#ticket !== stale) return this.current();
    this.#ticket = undefined;
    return this.#start(undefined);
  }

  #age(ticket: Ticket): number {
    return this.#opts.clock.now() - ticket.obtainedAt;
  }

  #start(previous: Ticket | undefined): Promise<Ticket> {
    const pending = this.#obtain(previous).then((ticket) => {
      this.#ticket = ticket;
      return ticket;
    }).finally(() => {
      if (this.#inflight === pending) this.#inflight = undefined;
    });
    this.#inflight = pending;
    return pending;
  }

  async #obtain(previous: Ticket | undefined): Promise<Ticket> {
    if (previous && this.#age(previous) < this.#lifetime) {
      try {
        return await this.#login({ username: previous.username, password: previous.ticket });
      } catch (e) {
        if (!(e instanceof ProxmoxAuthError)) {
          // Network trouble: the old ticket still works for a while; try again next time.
          this.#opts.logger?.log("debug", "ticket renewal failed, keeping the current ticket", {
            error: e instanceof Error ? e.name : "unknown",
          });
          return previous;
        }
        this.#opts.logger?.log("debug", "ticket renewal refused, logging in again");
      }
    }
    const { username, password, realm } = this.#opts;
    const form: LoginForm = { username, password };
    if (realm && !username.includes("@")) form.realm = realm;
    return await this.#login(form);
  }

  async #login(form: LoginForm): Promise<Ticket> {
    const result = await this.#opts.login(form);
    return { ...result, obtainedAt: this.#opts.clock.now() };
  }
}
