import { type DynamicModule, Module } from '@nestjs/common';
import { AuthController } from './auth.controller';
import { HealthController } from './health.controller';
import { LabsController } from './labs.controller';
import { Tokens } from './tokens';
import { UMS_DEV_OPTIONS, UmsDevStats, type UmsDevOptions } from './ums-dev.options';
import { UmsStore } from './ums-store';

@Module({})
export class UmsDevModule {
  static forRoot(opts: UmsDevOptions, stats: UmsDevStats): DynamicModule {
    return {
      module: UmsDevModule,
      controllers: [AuthController, LabsController, HealthController],
      providers: [
        { provide: UMS_DEV_OPTIONS, useValue: opts },
        { provide: UmsDevStats, useValue: stats },
        { provide: UmsStore, useValue: new UmsStore(opts.seed) },
        {
          provide: Tokens,
          useValue: new Tokens({
            secret: opts.secret,
            accessTtlSeconds: opts.accessTtlSeconds,
            refreshTtlSeconds: opts.refreshTtlSeconds,
          }),
        },
      ],
    };
  }
}
