/**
 * Errors and replies of simulated API handlers, mapped to PVE's wire format by the handler.
 *
 * @module
 */

/** A failure answered with an HTTP status and PVE's message (and per-parameter errors). */
export class ApiError extends Error {
  /** HTTP status, e.g. 400, 403, 500, 595. */
  readonly status: number;
  /** Per-parameter messages (status 400). */
  readonly errors?: Record<string, string>;
  /** When true the body stays empty (PVE's authentication failures). */
  readonly emptyBody: boolean;
  constructor(
    status: number,
    message: string,
    opts: { errors?: Record<string, string>; emptyBody?: boolean } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errors = opts.errors;
    this.emptyBody = opts.emptyBody ?? false;
  }
}

/** A 400 "Parameter verification failed." with one error per parameter. */
export function paramError(errors: Record<string, string>): ApiError {
  return new ApiError(400, "Parameter verification failed.", { errors });
}

/** A successful reply with extra top-level fields next to `data` (e.g. `total`). */
export class Reply {
  constructor(
    readonly data: unknown,
    readonly extra: Record<string, unknown> = {},
  ) {}
}
