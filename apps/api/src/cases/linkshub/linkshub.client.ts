import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { CasesError, CasesErrorCode } from '../cases.errors';

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
 * outage. Calls carry the caller's bearer token and a timeout; an
 * unreachable directory is 503, never a silent pass.
 */
@Injectable()
export class LinksHubClient {
  private readonly base?: string;

  constructor(@Inject(Env) private readonly env: Env) {
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
    try {
      const res = await fetch(`${this.base}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.env.LINKSHUB_TIMEOUT_MS),
      });
      if (res.status >= 500) {
        await res.body?.cancel();
        throw new Error(`status ${res.status}`);
      }
      const body: unknown =
        res.status === 200 ? await res.json().catch(() => undefined) : await res.body?.cancel();
      return { status: res.status, body };
    } catch {
      throw new CasesError(
        CasesErrorCode.DirectoryUnavailable,
        'Doctor directory (LinksHub Core) is unavailable',
      );
    }
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
