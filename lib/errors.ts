// One error type for everything Gatehouse reports to a caller. The API always answers
// `{ error: { code, message } }` with the status from STATUS_BY_CODE; anything that is not an
// AppError becomes INTERNAL with a generic message (internals never leak in a 500).

export const STATUS_BY_CODE = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  ABORTED: 409, // stale etag (read-modify-write conflict)
  PAYLOAD_TOO_LARGE: 413,
  FAILED_PRECONDITION: 409, // the change conflicts with the current state (e.g. it would leave nobody in charge)
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

export interface ErrorDetail {
  /** Where the problem is: a JSON path ("bindings[2].members[0]") or "file.yaml:12:5". */
  path?: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

export function toErrorBody(err: unknown): { status: number; body: { error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } } {
  if (err instanceof AppError) {
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(err.details.length ? { details: err.details } : {}) } },
    };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "Internal error" } } };
}
