import { Injectable } from '@nestjs/common';

/**
 * The time emergency grants are created, approved and checked against. A
 * provider of its own so that tests control it (expiry without waiting):
 * service tests override it, e2e tests move it with `jest.spyOn(clock, 'now')`.
 */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
