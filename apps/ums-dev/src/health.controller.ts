import { Controller, Get, HttpException, Inject } from '@nestjs/common';
import { UMS_DEV_OPTIONS, type UmsDevOptions } from './ums-dev.options';

@Controller('health')
export class HealthController {
  constructor(@Inject(UMS_DEV_OPTIONS) private readonly opts: UmsDevOptions) {}

  @Get()
  health() {
    // The published LHUMS has no /health; shape B reproduces that.
    if (this.opts.shape === 'B') throw new HttpException({ error: 'Resource not found' }, 404);
    return { status: 'healthy', service: 'ums-dev' };
  }
}
