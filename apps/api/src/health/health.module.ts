import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AttachmentsModule } from '../attachments';
import { UmsGatewayModule } from '../ums-gateway';
import { DependencyChecks } from './dependency-checks';
import { HealthController } from './health.controller';
import { ShutdownState } from './shutdown-state';

/**
 * Probes (@nestjs/terminus). Terminus's own logging is off: a failing
 * readiness probe would log an error every few seconds; DependencyChecks logs
 * when a dependency goes down and when it recovers instead.
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), UmsGatewayModule, AttachmentsModule],
  controllers: [HealthController],
  providers: [DependencyChecks, ShutdownState],
  exports: [ShutdownState],
})
export class HealthModule {}
