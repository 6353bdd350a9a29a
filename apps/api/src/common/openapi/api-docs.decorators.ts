import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input: `errors` maps each failing field (dotted path) to its problem',
  401: 'Missing, malformed, invalid or expired token',
  403: 'No lab, not a member of the X-Lab-Id lab, or no permission',
  404: "Not found (another lab's case is indistinguishable from a missing one)",
  405: 'Method not allowed on this path',
  406: 'Not acceptable: the Accept header allows none of the media types the route serves',
  409: 'Conflicting change',
  413: 'Body too large',
  415: 'Body is not JSON',
  429: 'Rate limited (see Retry-After)',
  501: 'An optional integration this deployment does not configure (the doctor directory)',
  503: 'A dependency needed for the answer is down (database, UMS, directory)',
};

/** Documents error responses in the one error shape. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: ERROR_TEXT[status] ?? 'Error', schema: ref('Error') }),
    ),
  );
}

export function ApiOk(
  name: string,
  status = 200,
  description = 'OK',
): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, schema: ref(name) });
}

export function ApiJsonBody(name: string): MethodDecorator {
  return ApiBody({ schema: ref(name) });
}
