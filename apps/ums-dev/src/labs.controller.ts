import { Controller, Get, Headers, HttpException, Param } from '@nestjs/common';
import { userFromToken } from './auth.controller';
import { Tokens } from './tokens';
import { UmsDevStats } from './ums-dev.options';
import { UmsStore } from './ums-store';

@Controller('api/labs')
export class LabsController {
  constructor(
    private readonly store: UmsStore,
    private readonly tokens: Tokens,
    private readonly stats: UmsDevStats,
  ) {}

  /** Active labs where the caller holds an active membership (all active labs for a system admin). */
  @Get()
  async list(@Headers('authorization') authorization?: string) {
    this.stats.labs++;
    const user = await userFromToken(this.tokens, this.store, authorization);
    return { labs: this.store.labsOf(user).map((l) => this.store.labView(l)) };
  }

  @Get(':id')
  async one(@Param('id') id: string, @Headers('authorization') authorization?: string) {
    const user = await userFromToken(this.tokens, this.store, authorization);
    const lab = /^\d+$/.test(id) ? this.store.lab(Number(id)) : undefined;
    if (!lab) throw new HttpException({ error: 'Resource not found' }, 404);
    if (!this.store.labsOf(user).some((l) => l.id === lab.id)) {
      throw new HttpException({ error: 'Access to this lab is forbidden' }, 403);
    }
    return { lab: this.store.labView(lab) };
  }
}
