// hms — the inpatient service (docs/inpatient.md): wards and beds, the bed board, admissions
// (入院登记) and stays, transfers, deposits, items and drugs booked to a stay, examinations and the
// discharge settlement with its PDF and reversal.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import { resourceApi } from './resources'
import type { DbsSchema, HmsSchema, OmsSchema } from './schema'

export type Ward = HmsSchema<'WardOut'>
export type WardIn = HmsSchema<'WardIn'>
export type Bed = HmsSchema<'BedOut'>
export type BedIn = HmsSchema<'BedIn'>
export type BedUpdate = HmsSchema<'BedUpdate'>
export type BedState = HmsSchema<'BedState'>
export type Occupant = HmsSchema<'Occupant'>
export type BoardWard = HmsSchema<'BoardWard'>
export type Stay = HmsSchema<'StayOut'>
export type StayState = HmsSchema<'StayState'>
export type AdmissionIn = HmsSchema<'AdmissionIn'>
export type Transfer = HmsSchema<'TransferOut'>
export type TransferIn = HmsSchema<'TransferIn'>
export type DepositIn = HmsSchema<'DepositIn'>
export type DepositMethod = HmsSchema<'DepositMethod'>

export const BED_STATES: BedState[] = ['free', 'occupied', 'cleaning', 'closed']
/** What a nurse may set by hand; `occupied` comes only with a stay. */
export const MANUAL_BED_STATES: BedState[] = ['free', 'cleaning', 'closed']
export const STAY_STATES: StayState[] = ['admitted', 'settled']
export const DEPOSIT_METHODS: DepositMethod[] = ['cash', 'card', 'wechat', 'alipay', 'transfer']

/** oms's outpatient transfer (转住院) waiting for a bed, as hms relays it (oms's own shape). */
export type AdmissionRequest = OmsSchema<'AdmissionRequestOut'>

export type DepositKind = HmsSchema<'DepositKind'>
export type Deposit = HmsSchema<'DepositOut'>
export type ChargeKind = HmsSchema<'ChargeKind'>
export type ChargeState = HmsSchema<'ChargeState'>
export type Charge = HmsSchema<'ChargeOut'>
export type CategoryTotal = HmsSchema<'CategoryTotal'>
/** 费用明细: every charge row, totals by category, deposits and the stay's figures. */
export type Account = HmsSchema<'AccountOut'>
export type DrugOrderState = HmsSchema<'DrugOrderState'>
/** `lines` as booked (each a charge row with its state), `credits` the credit rows since. */
export type DrugOrder = HmsSchema<'DrugOrderOut'>
export type DrugLineIn = HmsSchema<'DrugLineIn'>
export type ItemLineIn = HmsSchema<'ItemLineIn'>
/** A drug line booked and not yet dispensed: what blocks a settlement. */
export type UndispensedLine = HmsSchema<'UndispensedLine'>
/** An item needing an examination, with its stay, ward and bed. */
export type Exam = HmsSchema<'ExamOut'>
/** The figures a settlement would write now (`refund` / `due`), and what blocks it. */
export type SettlementPreview = HmsSchema<'SettlementPreview'>
/** A settlement or its reversal (`refunded` / `collected`, negative on a reversal). */
export type Settlement = HmsSchema<'SettlementOut'>
export type SettlementKind = HmsSchema<'SettlementKind'>
/** What SettlementFigures shows of a preview or a settlement. */
export type SettlementFigures = Pick<Settlement, 'total' | 'insured' | 'self_pay' | 'deposits' | 'categories'> &
  Partial<Pick<Settlement, 'refunded' | 'collected' | 'bed_days'>> &
  Partial<Pick<SettlementPreview, 'refund' | 'due'>>

const B = '/api/hms'

export const hmsApi = {
  // 病区床位
  wards: (query: Query, signal?: AbortSignal) => http.get<Page<Ward>>(`${B}/wards`, query, { signal }),
  addWard: (body: WardIn) => http.post<Ward>(`${B}/wards`, body),
  updateWard: (id: number, body: WardIn) => http.put<Ward>(`${B}/wards/${id}`, body),
  setWardEnabled: (id: number, enabled: boolean) => http.post<Ward>(`${B}/wards/${id}/${enabled ? 'enable' : 'disable'}`),
  beds: (query: Query, signal?: AbortSignal) => http.get<Page<Bed>>(`${B}/beds`, query, { signal }),
  addBed: (body: BedIn) => http.post<Bed>(`${B}/beds`, body),
  updateBed: (id: number, body: BedUpdate) => http.put<Bed>(`${B}/beds/${id}`, body),
  setBedState: (id: number, state: BedState, remark?: string | null) => http.post<Bed>(`${B}/beds/${id}/state`, { state, remark: remark ?? null }),
  bedBoard: (query: Query = {}, signal?: AbortSignal) => http.get<BoardWard[]>(`${B}/bed-board`, query, { signal }),

  // 入院登记 and stays
  admissionRequests: (query: Query = {}) => http.get<Page<AdmissionRequest>>(`${B}/admission-requests`, { state: 'pending', size: 100, ...query }),
  admit: (body: AdmissionIn) => http.post<Stay>(`${B}/stays`, body),
  stays: (query: Query, signal?: AbortSignal) => http.get<Page<Stay>>(`${B}/stays`, query, { signal }),
  stay: (id: number) => http.get<Stay>(`${B}/stays/${id}`),
  account: (id: number) => http.get<Account>(`${B}/stays/${id}/account`),
  transfers: (id: number) => http.get<Transfer[]>(`${B}/stays/${id}/transfers`),
  transfer: (id: number, body: TransferIn) => http.post<Transfer>(`${B}/stays/${id}/transfers`, body),

  // 预交款
  deposits: (query: Query, signal?: AbortSignal) => http.get<Page<Deposit>>(`${B}/deposits`, query, { signal }),
  pay: (stayId: number, body: DepositIn) => http.post<Deposit>(`${B}/stays/${stayId}/deposits`, body),
  lowBalance: (query: Query = {}, signal?: AbortSignal) => http.get<Page<Stay>>(`${B}/low-balance`, query, { signal }),

  // 项目记账, 检查
  bookItems: (stayId: number, lines: ItemLineIn[]) => http.post<Charge[]>(`${B}/stays/${stayId}/items`, { lines }),
  cancelCharge: (chargeId: number, reason: string) => http.post<Charge>(`${B}/charges/${chargeId}/cancel`, { reason }),
  exams: (query: Query, signal?: AbortSignal) => http.get<Page<Exam>>(`${B}/exams`, query, { signal }),
  examResult: (chargeId: number, result: string, file: File | null) => {
    const form = new FormData()
    form.append('result', result)
    if (file) form.append('file', file, file.name)
    return http.post<Exam>(`${B}/charges/${chargeId}/exam`, form)
  },
  reportUrl: (chargeId: number) => `${B}/charges/${chargeId}/report`,
  examReportPdfUrl: (chargeId: number) => `${B}/charges/${chargeId}/exam/report.pdf`,

  // 药品记账
  drugOrders: (query: Query, signal?: AbortSignal) => http.get<Page<DrugOrder>>(`${B}/drug-orders`, query, { signal }),
  bookDrugs: (stayId: number, lines: DrugLineIn[]) => http.post<DrugOrder>(`${B}/stays/${stayId}/drug-orders`, { lines }),
  returnDrugs: (orderId: number, lineIds: number[], reason: string, idempotencyKey: string) =>
    http.post<DrugOrder>(`${B}/drug-orders/${orderId}/returns`, { line_ids: lineIds, reason }, { headers: { 'Idempotency-Key': idempotencyKey } }),
  undispensed: (query: Query) => http.get<UndispensedLine[]>(`${B}/undispensed`, query),

  // 出院结算
  settlementPreview: (stayId: number) => http.get<SettlementPreview>(`${B}/stays/${stayId}/settlement-preview`),
  settle: (stayId: number, method: DepositMethod, expectedTotal: string) =>
    http.post<Settlement>(`${B}/stays/${stayId}/settlement`, { method, expected_total: expectedTotal }),
  settlements: (query: Query, signal?: AbortSignal) => http.get<Page<Settlement>>(`${B}/settlements`, query, { signal }),
  settlement: (id: number) => http.get<Settlement>(`${B}/settlements/${id}`),
  reverse: (id: number, reason: string, bedId?: number | null) => http.post<Settlement>(`${B}/settlements/${id}/reverse`, { reason, bed_id: bedId ?? null }),
  settlementPdfUrl: (id: number) => `${B}/settlements/${id}/pdf`,
}

/**
 * What 项目记账 and 药品记账 pick from: master data's enabled inpatient (or common) charge items
 * and drugs, in the shape of oms's price list so the outpatient line editor serves both.
 */
export const inpatientCatalog = {
  items: async (query: { q: string; size: number }): Promise<OmsSchema<'CatalogItem'>[]> => {
    const page = await resourceApi<DbsSchema<'ChargeItemOut'>>('charge-items').list({ q: query.q || undefined, enabled: true, size: 50 })
    return page.items
      .filter((i) => i.scope !== 'outpatient')
      .slice(0, query.size)
      .map((i) => ({ id: i.id, code: i.code, name: i.name, price: i.price, unit: i.unit_name ?? '', needs_exam: i.needs_exam ?? false }))
  },
  drugs: async (query: { q: string; size: number }): Promise<OmsSchema<'CatalogDrug'>[]> => {
    const page = await resourceApi<DbsSchema<'DrugOut'>>('drugs').list({ q: query.q || undefined, enabled: true, size: query.size })
    return page.items.map((d) => ({ id: d.id, code: d.code, name: d.name, spec: d.spec, price: d.price, unit: d.unit_name ?? '' }))
  },
}
