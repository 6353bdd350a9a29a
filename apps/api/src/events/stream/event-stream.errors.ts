import { DomainError } from '../../common/errors/domain-error';
import { registerErrorStatuses } from '../../common/errors/error-status';

export enum EventStreamErrorCode {
  ResumeUnavailable = 'EVENT_STREAM_RESUME_UNAVAILABLE',
  UserLimit = 'EVENT_STREAM_USER_LIMIT',
  ReplicaLimit = 'EVENT_STREAM_REPLICA_LIMIT',
}

registerErrorStatuses<EventStreamErrorCode>({
  [EventStreamErrorCode.ResumeUnavailable]: 410,
  [EventStreamErrorCode.UserLimit]: 429,
  [EventStreamErrorCode.ReplicaLimit]: 503,
});

/** Seconds a refused client should wait before it opens a stream again. */
export const STREAM_RETRY_AFTER_S = 5;

/** Refusals of the live feed (docs/events.md, "The live feed (SSE)"). */
export class EventStreamError extends DomainError<EventStreamErrorCode> {
  /**
   * The Last-Event-ID is not an event of the caller's lab's stream: pruned,
   * not dispatched yet, older than the stream order, or another lab's — the
   * same answer for each (row-level security cannot tell them apart, and must
   * not). Like a Kubernetes watch's 410 for a resource version too old: the
   * client re-reads what it shows and opens the stream without it.
   */
  static resumeUnavailable(): EventStreamError {
    return new EventStreamError(
      EventStreamErrorCode.ResumeUnavailable,
      "Last-Event-ID is not an event of this lab's stream (pruned, unknown or not visible to you): reload and open the stream without it",
    );
  }

  static userLimit(max: number): EventStreamError {
    const e = new EventStreamError(
      EventStreamErrorCode.UserLimit,
      `Too many open event streams for this user (at most ${max} per replica)`,
    );
    e.headers = { 'retry-after': String(STREAM_RETRY_AFTER_S) };
    return e;
  }

  static replicaLimit(): EventStreamError {
    const e = new EventStreamError(
      EventStreamErrorCode.ReplicaLimit,
      'This replica serves as many event streams as it may: try again',
    );
    e.headers = { 'retry-after': String(STREAM_RETRY_AFTER_S) };
    return e;
  }
}
