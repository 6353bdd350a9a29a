import { CommonErrorCode } from './domain-error';

/** The HTTP status of every domain error code, as each module registered it. */
const STATUS = new Map<string, number>();

/**
 * A module declares the HTTP status of each of its error codes next to the
 * codes (a Record over its enum: a code without a status does not compile)
 * and registers them here when its errors file loads — which it does before
 * any of those errors can be thrown. `common/` knows no feature module.
 */
export function registerErrorStatuses<C extends string>(
  statuses: Readonly<Record<C, number>>,
): void {
  for (const [code, status] of Object.entries<number>(statuses)) {
    const known = STATUS.get(code);
    if (known !== undefined && known !== status) {
      throw new Error(`error code ${code} is registered with two statuses (${known}, ${status})`);
    }
    STATUS.set(code, status);
  }
}

/** The HTTP status of a domain error code; 500 for a code no module registered (a bug). */
export function statusFor(code: string): number {
  return STATUS.get(code) ?? 500;
}

registerErrorStatuses<CommonErrorCode>({
  [CommonErrorCode.ValidationFailed]: 400,
  [CommonErrorCode.BadRequest]: 400,
  [CommonErrorCode.DatabaseUnavailable]: 503,
});
