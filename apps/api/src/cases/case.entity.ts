import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { CaseStatus, CaseType, Json, Priority } from './dto/case.schemas';

/** The `cases` row. Never sent as is: see dto/case.response.ts. */
@Entity({ name: 'cases' })
export class CaseEntity {
  @PrimaryGeneratedColumn('identity', { type: 'integer', generatedIdentity: 'BY DEFAULT' })
  id: number;

  @Column({ name: 'lab_id', type: 'varchar', length: 50 })
  labId: string;

  @Column({ name: 'doctor_id', type: 'varchar', length: 50 })
  doctorId: string;

  @Column({ name: 'product_id', type: 'varchar', length: 50 })
  productId: string;

  @Column({ type: 'varchar', length: 20, default: 'pending' })
  status: CaseStatus;

  @Column({ name: 'case_name', type: 'varchar', length: 255, nullable: true })
  caseName: string | null;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 20, default: 'medium' })
  priority: Priority;

  @Column({ name: 'created_by', type: 'varchar', length: 50, nullable: true })
  createdBy: string | null;

  @Column({ name: 'assigned_to', type: 'varchar', length: 50, nullable: true })
  assignedTo: string | null;

  @Column({ name: 'case_type', type: 'varchar', length: 50 })
  caseType: CaseType;

  /** `YYYY-MM-DD` (pg returns DATE as a string; no time zone games). */
  @Column({ name: 'due_date', type: 'date', nullable: true })
  dueDate: string | null;

  @Column({ name: 'rush_order', type: 'boolean', default: false })
  rushOrder: boolean;

  @Column({ name: 'special_instructions', type: 'text', nullable: true })
  specialInstructions: string | null;

  @Column({ name: 'patient_info', type: 'jsonb', nullable: true })
  patientInfo: Json | null;

  @Column({ name: 'fixed_prosthetic_details', type: 'jsonb', nullable: true })
  fixedProsthetic: Json | null;

  @Column({ name: 'denture_details', type: 'jsonb', nullable: true })
  denture: Json | null;

  @Column({ name: 'night_guard_details', type: 'jsonb', nullable: true })
  nightGuard: Json | null;

  @Column({ name: 'implant_details', type: 'jsonb', nullable: true })
  implant: Json | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}
