import type { PipeTransform } from '@nestjs/common';
import { CasesError } from './cases.errors';
import { INT4_MAX } from './dto/case.schemas';

/** `{id}` is a positive integer (as in the original); anything else is a missing case (404). */
export class CaseIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9]\d{0,9}$/.test(value)) throw CasesError.notFound();
    const id = Number(value);
    if (id > INT4_MAX) throw CasesError.notFound();
    return id;
  }
}
