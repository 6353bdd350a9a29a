import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpException,
  Inject,
  Post,
} from '@nestjs/common';
import { verifyPassword } from './passwords';
import { TokenError, Tokens } from './tokens';
import { UMS_DEV_OPTIONS, UmsDevStats, type UmsDevOptions } from './ums-dev.options';
import { UmsStore, type SeedUser } from './ums-store';

function fail(status: number, body: Record<string, unknown>): never {
  throw new HttpException(body, status);
}

export async function userFromToken(
  tokens: Tokens,
  store: UmsStore,
  authorization: string | undefined,
): Promise<SeedUser> {
  try {
    const payload = await tokens.verify(authorization, 'access');
    const user = store.byId(Number(payload.sub));
    if (!user) fail(404, { error: 'User not found' });
    return user;
  } catch (err) {
    if (err instanceof TokenError) fail(err.status, { msg: err.message });
    throw err;
  }
}

@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly store: UmsStore,
    private readonly tokens: Tokens,
    private readonly stats: UmsDevStats,
    @Inject(UMS_DEV_OPTIONS) private readonly opts: UmsDevOptions,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: unknown) {
    const b = (body ?? {}) as Record<string, unknown>;
    const errors: Record<string, string[]> = {};
    for (const f of ['username', 'password'] as const) {
      if (typeof b[f] !== 'string' || b[f] === '') errors[f] = ['Missing data for required field.'];
    }
    if (Object.keys(errors).length) fail(400, { errors });
    const user = this.store.byUsername(b.username as string);
    if (!user || !(await verifyPassword(b.password as string, user.password))) {
      fail(401, { error: 'Invalid username or password' });
    }
    if (user.is_active === false) fail(403, { error: 'Account is inactive' });
    return {
      message: 'Login successful',
      access_token: await this.tokens.sign(user.id, 'access'),
      refresh_token: await this.tokens.sign(user.id, 'refresh'),
      user: this.store.userView(user, this.opts.shape === 'A+B'),
    };
  }

  @Post('refresh')
  @HttpCode(200)
  async refresh(@Headers('authorization') authorization?: string) {
    try {
      const payload = await this.tokens.verify(authorization, 'refresh');
      const user = this.store.byId(Number(payload.sub));
      if (!user || user.is_active === false) fail(401, { msg: 'User not found or inactive' });
      return { access_token: await this.tokens.sign(user.id, 'access') };
    } catch (err) {
      if (err instanceof TokenError) fail(err.status, { msg: err.message });
      throw err;
    }
  }

  @Get('me')
  async me(@Headers('authorization') authorization?: string) {
    this.stats.me++;
    const user = await userFromToken(this.tokens, this.store, authorization);
    if (this.opts.shape === 'B') return { user: this.store.userView(user, false) };
    const view = this.store.userView(user, true);
    return { ...view, user: view };
  }
}
