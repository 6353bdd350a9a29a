import { HttpModule, HttpService } from '@nestjs/axios';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Env } from '@lhcms/config';
import type { AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { outboundHttpConfig } from '../../common/http/outbound';
import { CasesError, CasesErrorCode } from '../../case-model';

type Json = Record<string, unknown>;

export interface DoctorAccount {
  doctor_id: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  practice_name: string | null;
  license_number: string | null;
  specialty: string | null;
  address: {
    street: string | null;
    city: string | null;
    state: string | null;
    zip_code: string | null;
    country: string | null;
  };
  lab_relations: string[] | null;
  created_at: string | null;
  is_active: boolean | null;
}

const s = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;

/** The original's DoctorAccount marshalling: missing keys null, `address` always an object, relations stringified. */
export function toDoctorAccount(raw: unknown): DoctorAccount {
  const d = (typeof raw === 'object' && raw !== null ? raw : {}) as Json;
  const a = (typeof d.address === 'object' && d.address !== null ? d.address : {}) as Json;
  return {
    doctor_id: s(d.doctor_id ?? d.id),
    first_name: s(d.first_name),
    last_name: s(d.last_name),
    email: s(d.email),
    phone: s(d.phone),
    practice_name: s(d.practice_name),
    license_number: s(d.license_number),
    specialty: s(d.specialty),
    address: {
      street: s(a.street),
      city: s(a.city),
      state: s(a.state),
      zip_code: s(a.zip_code),
      country: s(a.country),
    },
    lab_relations: Array.isArray(d.lab_relations) ? d.lab_relations.map((x) => String(x)) : null,
    created_at: s(d.created_at),
    is_active: typeof d.is_active === 'boolean' ? d.is_active : null,
  };
}

/**
 * Client of the doctor/product directory (LinksHub Core). Optional: without
 * LINKSHUB_CORE_URL the create-time checks are skipped and doctor-info is
 * 501 `Doctor directory (LinksHub Core) is not configured` — a fact of the
 * deployment, which the error SLO leaves out (SLO_EXCLUDED_5XX), not an
 * outage. Calls (@nestjs/axios HttpService, no retries: creates are not
 * slowed down by a failing directory) carry the caller's bearer token and a
 * timeout; an unreachable directory is 503, never a silent pass.
 */
@Injectable()
export class LinksHubClient {
  private readonly base?: string;

  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly http: HttpService,
  ) {
    this.base = env.LINKSHUB_CORE_URL?.replace(/\/+$/, '');
  }

  get configured(): boolean {
    return this.base !== undefined;
  }

  private async get(path: string, token: string): Promise<{ status: number; body: unknown }> {
    if (!this.base) {
      throw new CasesError(
        CasesErrorCode.DirectoryNotConfigured,
        'Doctor directory (LinksHub Core) is not configured',
      );
    }
    const unavailable = () =>
      new CasesError(
        CasesErrorCode.DirectoryUnavailable,
        'Doctor directory (LinksHub Core) is unavailable',
      );
    let res: AxiosResponse<string>;
    try {
      res = await firstValueFrom(
        this.http.get<string>(`${this.base}${path}`, {
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
          signal: AbortSignal.timeout(this.env.LINKSHUB_TIMEOUT_MS),
        }),
      );
    } catch {
      throw unavailable(); // the axios error carries the URL and the caller's token: it goes no further
    }
    if (res.status >= 500) throw unavailable();
    let body: unknown;
    if (res.status === 200) {
      try {
        body = JSON.parse(res.data);
      } catch {
        body = undefined;
      }
    }
    return { status: res.status, body };
  }

  /** The doctor record, or undefined when the directory does not know it. */
  async doctor(doctorId: string, token: string): Promise<DoctorAccount | undefined> {
    const r = await this.get(`/api/v1/doctors/${encodeURIComponent(doctorId)}`, token);
    return r.status === 200 ? toDoctorAccount(r.body) : undefined;
  }

  /**
   * The original's create-time checks, in its order: the doctor exists, is
   * actively linked to the lab, and the product exists (400 for each failure).
   */
  async checkCreate(
    doctorId: string,
    productId: string,
    labId: string,
    token: string,
  ): Promise<void> {
    if (!(await this.doctor(doctorId, token)))
      throw new CasesError(CasesErrorCode.DoctorNotFound, 'Doctor not found');
    const rel = await this.get(
      `/api/v1/doctors/${encodeURIComponent(doctorId)}/labs/${encodeURIComponent(labId)}/relation`,
      token,
    );
    const linked = rel.status === 200 && (rel.body as Json | undefined)?.is_active === true;
    if (!linked)
      throw new CasesError(
        CasesErrorCode.DoctorNotLinked,
        'Doctor is not associated with your lab',
      );
    const product = await this.get(`/api/v1/products/${encodeURIComponent(productId)}`, token);
    if (product.status !== 200)
      throw new CasesError(CasesErrorCode.ProductNotFound, 'Product not found');
  }
}

/** The LinksHub client with its HttpModule (timeout LINKSHUB_TIMEOUT_MS, the outbound defaults). */
@Module({
  imports: [
    HttpModule.registerAsync({
      inject: [Env],
      useFactory: (env: Env) => outboundHttpConfig(env.LINKSHUB_TIMEOUT_MS),
    }),
  ],
  providers: [LinksHubClient],
  exports: [LinksHubClient],
})
export class LinksHubModule {}
