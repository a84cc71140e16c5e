// oms — outpatient (docs/outpatient.md): registration, visits, pricing, payments, refunds, exams.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import type { OmsSchema } from './schema'

export type VisitState = OmsSchema<'VisitState'>
export const VISIT_STATES: VisitState[] = ['registered', 'in_consultation', 'paid', 'dispensed', 'no_show', 'cancelled', 'transferred']

export type PaymentMethod = OmsSchema<'PaymentMethod'>
export const PAYMENT_METHODS: PaymentMethod[] = ['cash', 'card', 'wechat', 'alipay', 'insurance']
/** How the patient pays their own share of a 医保 payment. */
export type SelfMethod = OmsSchema<'SelfMethod'>
export const SELF_METHODS: SelfMethod[] = ['cash', 'card', 'wechat', 'alipay']

/** A charge type (费别) as oms offers it for a 医保 payment. */
export type ChargeType = OmsSchema<'ChargeTypeChoice'>

/** What a 医保 payment names besides its method (ignored by the server for other methods). */
export interface InsuredChoice {
  charge_type_id: number | null
  self_method: SelfMethod
}

/** 医保统筹支付 and 个人支付 of an amount, as the server computes them: half up to the cent. */
export function insuredSplit(amount: string, ratio: string): { insured: string; self: string } {
  const cents = Math.round(Number(amount) * 100)
  const percent = Math.round(Number(ratio) * 100)
  const insured = Math.floor((cents * percent + 50) / 100)
  return { insured: (insured / 100).toFixed(2), self: ((cents - insured) / 100).toFixed(2) }
}

export type Patient = OmsSchema<'PatientOut'>
export type RegDepartment = OmsSchema<'DepartmentChoice'>
export type RegType = OmsSchema<'RegistrationTypeChoice'>
export type RegDoctor = OmsSchema<'RegistrationDoctor'>
export type Visit = OmsSchema<'VisitOut'>
export type LineState = OmsSchema<'LineState'>
export type OrderState = OmsSchema<'OrderState'>
export type OrderLine = OmsSchema<'LineOut'>
export type Order = OmsSchema<'OrderOut'>
export type Payment = OmsSchema<'PaymentOut'>
/** A transferred visit's request to the inpatient service (待入院 until it admits the patient). */
export type AdmissionRequest = OmsSchema<'AdmissionRequestOut'>
export type VisitDetail = OmsSchema<'VisitDetail'>
export type ExamFile = OmsSchema<'ExamFileOut'>
/** A drug or charge item the desk may price (`/api/oms/catalog/…`, read by oms from master data). */
export type CatalogEntry = OmsSchema<'CatalogDrug'> | OmsSchema<'CatalogItem'>
/** Whom to phone about a visit (`/api/oms/visits/contacts`); the phone is masked without pii:read. */
export type VisitContact = OmsSchema<'VisitContact'>
export type Exam = OmsSchema<'ExamOut'>

/** A list the spec answers either as a bare array or as `{items}`. */
function items<T>(answer: T[] | { items: T[] }): T[] {
  return Array.isArray(answer) ? answer : answer.items
}

const key = (idempotencyKey?: string) => (idempotencyKey ? { headers: { 'Idempotency-Key': idempotencyKey } } : {})

export const omsApi = {
  patients: (query: Query, signal?: AbortSignal) => http.get<Page<Patient>>('/api/oms/patients', query, { signal }),

  regDepartments: async () => items(await http.get<RegDepartment[] | { items: RegDepartment[] }>('/api/oms/registration/departments')),
  regTypes: async () => items(await http.get<RegType[] | { items: RegType[] }>('/api/oms/registration/types')),
  regDoctors: async (query: { department_id: number; registration_type_id: number }, signal?: AbortSignal) =>
    items(await http.get<RegDoctor[] | { items: RegDoctor[] }>('/api/oms/registration/doctors', query, { signal })),

  register: (
    body: { patient_id: number; schedule_id: number; payment_method?: PaymentMethod | null } & Partial<InsuredChoice>,
    idempotencyKey: string,
  ) =>
    http.post<Visit>('/api/oms/visits', body, key(idempotencyKey)),
  visits: (query: Query, signal?: AbortSignal) => http.get<Page<Visit>>('/api/oms/visits', query, { signal }),
  visit: (id: number, signal?: AbortSignal) => http.get<VisitDetail>(`/api/oms/visits/${id}`, undefined, { signal }),
  queue: async (query: { doctor_id: number; date?: string }, signal?: AbortSignal, background = false) =>
    items(await http.get<Visit[] | { items: Visit[] }>('/api/oms/queue', query, { signal, background })),
  setState: (id: number, to: VisitState, reason?: string) =>
    http.post<OmsSchema<'TransitionOut'>>(`/api/oms/visits/${id}/state`, { to, reason }),
  cancelVisit: (id: number, reason: string) => http.post<Visit>(`/api/oms/visits/${id}/cancel`, { reason }),

  catalogDrugs: (query: { q?: string; size?: number }) => http.get<Page<OmsSchema<'CatalogDrug'>>>('/api/oms/catalog/drugs', query),
  catalogItems: (query: { q?: string; size?: number }) => http.get<Page<OmsSchema<'CatalogItem'>>>('/api/oms/catalog/charge-items', query),
  // A repeated parameter (?numbers=…&numbers=…), which Query cannot express.
  contacts: (numbers: string[]) =>
    http.get<VisitContact[]>(`/api/oms/visits/contacts?${new URLSearchParams(numbers.map((n) => ['numbers', n]))}`),
  prescribe: (visitId: number, lines: { drug_id: number; quantity: number; usage?: string | null }[]) =>
    http.post<Order>(`/api/oms/visits/${visitId}/prescriptions`, { lines }),
  orderItems: (visitId: number, lines: { charge_item_id: number; quantity: number }[]) =>
    http.post<Order>(`/api/oms/visits/${visitId}/item-orders`, { lines }),
  orders: (query: Query, signal?: AbortSignal) => http.get<Page<Order>>('/api/oms/orders', query, { signal }),
  cancelOrder: (id: number) => http.post<Order>(`/api/oms/orders/${id}/cancel`),
  prescriptionUrl: (orderId: number) => `/api/oms/orders/${orderId}/prescription.pdf`,
  slipUrl: (visitId: number) => `/api/oms/visits/${visitId}/slip.pdf`,

  chargeTypes: () => http.get<ChargeType[]>('/api/oms/charge-types'),
  pay: (body: { visit_id: number; order_id?: number | null; method: PaymentMethod } & Partial<InsuredChoice>, idempotencyKey: string) =>
    http.post<Payment>('/api/oms/payments', body, key(idempotencyKey)),
  payments: (query: Query, signal?: AbortSignal) => http.get<Page<Payment>>('/api/oms/payments', query, { signal }),
  receiptUrl: (paymentId: number) => `/api/oms/payments/${paymentId}/receipt.pdf`,

  refund: (body: { payment_id: number; line_ids?: number[]; reason: string }) => http.post<Payment>('/api/oms/refunds', body),

  exams: (query: Query, signal?: AbortSignal) => http.get<Page<Exam>>('/api/oms/exams', query, { signal }),
  examResult: (lineId: number, text: string, files: File[]) => {
    const form = new FormData()
    form.append('text', text)
    for (const file of files) form.append('files', file, file.name)
    return http.post<Exam>(`/api/oms/exams/${lineId}/result`, form)
  },
  examFileUrl: (fileId: number) => `/api/oms/exam-files/${fileId}`,
  examReportUrl: (lineId: number) => `/api/oms/exams/${lineId}/report.pdf`,
}
