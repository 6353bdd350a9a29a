import type { PipeTransform } from '@nestjs/common';
import { CasesError } from './cases.errors';
import { INT4_MAX } from './case.schemas';

/** Whether `value` can be a case id: a positive integer in the column's range (int4). */
export function isCaseId(value: string): boolean {
  return /^[1-9]\d{0,9}$/.test(value) && Number(value) <= INT4_MAX;
}

/** `{id}` is a positive integer (as in the original); anything else is a missing case (404). */
export class CaseIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!isCaseId(value)) throw CasesError.notFound();
    return Number(value);
  }
}
