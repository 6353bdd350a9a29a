import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditLog } from './audit-log';
import { AUDIT_OBSERVER, NO_AUDIT_METRICS } from './audit-observer';
import { AuditInterceptor } from './audit.interceptor';
import { AuditService } from './audit.service';
import { AuditReviewController } from './audit-review.controller';
import { AuditReviewRepository } from './audit-review.repository';
import { AuditSealer } from './audit-sealer';
import { AuditVerifier } from './audit-verifier';

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
    AuditLog,
    AuditService,
    AuditSealer,
    AuditVerifier,
    AuditReviewRepository,
    // Until the metrics module binds its MetricsService here.
    { provide: AUDIT_OBSERVER, useValue: NO_AUDIT_METRICS },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  exports: [AuditService],
})
export class AuditModule {}
