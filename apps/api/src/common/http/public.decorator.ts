import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'lhcms:public';
export const WITHOUT_LAB = 'lhcms:without-lab';

/** Opens a route to unauthenticated callers (probes, reference data, docs). Everything else needs a token. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Needs a token but no lab (e.g. doctor-info, which the original served to any authenticated user). */
export const WithoutLab = (): MethodDecorator & ClassDecorator => SetMetadata(WITHOUT_LAB, true);
