import { type DynamicModule, Module } from '@nestjs/common';
import { CacheModule } from '@lhcms/cache';
import { ConfigModule, type Env } from '@lhcms/config';
import { DatabaseModule } from '@lhcms/database';
import { loggerModule } from '@lhcms/logging';
import { RequestContextModule } from '@lhcms/request-context';
import { AuditModule } from './audit/audit.module';
import { CasesModule } from './cases/cases.module';
import { HealthModule } from './health/health.module';
import { UmsGatewayModule } from './ums-gateway/ums-gateway.module';

@Module({})
export class AppModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(env),
        RequestContextModule,
        loggerModule(),
        CacheModule.forRoot(),
        DatabaseModule.forRoot(),
        UmsGatewayModule,
        AuditModule,
        HealthModule,
        CasesModule,
      ],
    };
  }
}
