import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditConnections } from './audit-connections';
import { AuditLog } from './audit-log';
import { MetricsService } from '../metrics';
import { AUDIT_OBSERVER } from './audit-observer';
import { AuditInterceptor } from './audit.interceptor';
import { AuditService } from './audit.service';
import { AuditReviewController } from './audit-review.controller';
import { AuditReviewRepository } from './audit-review.repository';
import { AuditSealer } from './audit-sealer';
import { AuditVerifier } from './audit-verifier';
import { AuditViewCodec } from './audit-view';

/**
 * The HIPAA audit trail. Exports AuditService only (cross-module rule).
 * Global, so that the cases module (and later others) can record writes in
 * their transactions without importing it, and the audit module can still
 * serve its review routes under /api/v1/cases/{id}/access-log.
 */
@Global()
@Module({
  controllers: [AuditReviewController],
  providers: [
    AuditConnections,
    AuditLog,
    AuditService,
    AuditSealer,
    AuditVerifier,
    AuditReviewRepository,
    AuditViewCodec,
    // Audit write latency/failures and sealing lag go to Prometheus (MetricsModule is global).
    { provide: AUDIT_OBSERVER, useExisting: MetricsService },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  exports: [AuditService],
})
export class AuditModule {}
