import { STATUS_CODES } from 'node:http';

/** The one error shape of the API (docs/api.md, "Errors"). */
export interface ErrorBody {
  error: string;
  message: string;
  code: number;
  timestamp: string;
  request_id: string;
  [extra: string]: unknown;
}

export function errorBody(
  status: number,
  message: string,
  requestId: string,
  extra: Record<string, unknown> = {},
): ErrorBody {
  return {
    error: STATUS_CODES[status] ?? 'Error',
    message,
    code: status,
    timestamp: new Date().toISOString(),
    request_id: requestId,
    ...extra,
  };
}
