import { type DynamicModule, Module } from '@nestjs/common';
import { CacheModule } from '@lhcms/cache';
import { ConfigModule, type Env } from '@lhcms/config';
import { DatabaseModule } from '@lhcms/database';
import { loggerModule } from '@lhcms/logging';
import { RequestContextModule } from '@lhcms/request-context';
import type { CreateAppOptions } from './app.factory';
import { AttachmentsModule } from './attachments';
import { EmergencyAccessModule } from './emergency-access';
import { EventsModule } from './events';
import { AuditModule } from './audit';
import { CasesModule } from './cases';
import { HealthModule } from './health';
import { MetricsModule } from './metrics';
import { NotesModule } from './notes';
import { ReportsModule } from './reports';
import { SecurityModule } from './security';
import { UmsGatewayModule } from './ums-gateway';
import { WebhookDeliveryModule, WebhooksModule } from './webhooks';

@Module({})
export class AppModule {
  static forRoot(env: Env, options: CreateAppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(env),
        RequestContextModule,
        loggerModule(options.logging),
        CacheModule.forRoot(),
        DatabaseModule.forRoot(),
        MetricsModule,
        UmsGatewayModule,
        // After the ums-gateway: its guard (rate limit per user) runs after authentication.
        SecurityModule,
        AuditModule,
        HealthModule,
        CasesModule,
        NotesModule,
        AttachmentsModule,
        ReportsModule,
        EventsModule,
        WebhooksModule,
        WebhookDeliveryModule,
        EmergencyAccessModule,
        ...(options.imports ?? []),
      ],
    };
  }
}
