import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { Public } from '../ums-gateway/public.decorator';

/** Minimal /health until the health module (terminus probes) lands. */
@Public()
@Controller('health')
export class HealthController {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  @Get()
  async health(@Res({ passthrough: true }) res: FastifyReply) {
    let database = 'healthy';
    try {
      await this.ds.query('SELECT 1');
    } catch {
      database = 'unhealthy';
    }
    const healthy = database === 'healthy';
    res.status(healthy ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return {
      status: healthy ? 'healthy' : 'unhealthy',
      service: 'case_service',
      version: '1.0.0',
      timestamp: new Date().toISOString(),
      checks: { database },
    };
  }
}
