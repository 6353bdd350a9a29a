import { Controller, Get, HttpException, Module, Param } from '@nestjs/common';

/**
 * Test-only stand-in for GET /api/v1/cases/:id while the cases API is not
 * merged (metrics.e2e-spec.ts registers it only when the real route is
 * absent). Answers 401 like the real route without a token.
 */
@Controller('api/v1/cases')
class CaseRouteStandInController {
  @Get(':id')
  read(@Param('id') _id: string): never {
    throw new HttpException({ error: 'Unauthorized' }, 401);
  }
}

@Module({ controllers: [CaseRouteStandInController] })
export class CaseRouteStandInModule {}
