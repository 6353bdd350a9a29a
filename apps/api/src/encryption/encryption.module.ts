import { Module } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { DataKeyService } from './data-key.service';
import { KEK_PROVIDER, kekProviderFrom } from './kek-provider.factory';
import { PhiCipher } from './phi-cipher';

/** PHI field encryption: per-lab data keys wrapped by the configured KEK provider. */
@Module({
  providers: [
    { provide: KEK_PROVIDER, inject: [Env], useFactory: (env: Env) => kekProviderFrom(env) },
    DataKeyService,
    PhiCipher,
  ],
  exports: [PhiCipher, DataKeyService],
})
export class EncryptionModule {}
