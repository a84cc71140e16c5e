// pms — the pharmacy (docs/pharmacy.md): dispensing, the shelf and its ledger, deliveries from the
// warehouse, shortage requests (报缺) and batch traceability.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import type { PmsSchema } from './schema'

export type DispensingLine = PmsSchema<'LineOut'>
export type DispensingBatch = PmsSchema<'LineBatchOut'>
/** `state: cancelled`: every line was refunded at the desk. */
export type DispensingOrder = PmsSchema<'DispensingOrderOut'>

export type PharmacyStock = PmsSchema<'StockOut'>
export type PharmacyMovement = PmsSchema<'MovementOut'>
export type PharmacyMovementKind = PmsSchema<'Movement'>
export type Delivery = PmsSchema<'DeliveryOut'>
export type DeliveryLine = PmsSchema<'DeliveryLineOut'>
export type TraceRow = PmsSchema<'TraceOut'>

export type ShortageRequest = PmsSchema<'ShortageRequestOut'>
export type ShortageLine = PmsSchema<'ShortageLineOut'>
export type ShortageRequestIn = PmsSchema<'ShortageRequestIn'>
export type ShortageLineIn = PmsSchema<'ShortageLineIn'>
export type ShortageState = ShortageRequest['state']
export const SHORTAGE_STATES: ShortageState[] = ['open', 'sent', 'partly_fulfilled', 'fulfilled', 'cancelled']

/** 退药: whole dispensed lines a patient gave back, into the batches they came from. */
export type DrugReturn = PmsSchema<'DrugReturnOut'>
export type DrugReturnLine = PmsSchema<'DrugReturnLineOut'>
export type DrugReturnIn = PmsSchema<'DrugReturnIn'>
/** 退库: pharmacy stock sent back to the warehouse, into stock or to disposal. */
export type WarehouseReturn = PmsSchema<'WarehouseReturnOut'>
export type WarehouseReturnLine = PmsSchema<'WarehouseReturnLineOut'>
export type WarehouseReturnIn = PmsSchema<'WarehouseReturnIn'>
export type ReturnDestination = WarehouseReturn['destination']
export const RETURN_DESTINATIONS: ReturnDestination[] = ['stock', 'disposal']

/** The kinds a pharmacy ledger holds (the rest of shared/stock.py's are the warehouse's). */
export const PHARMACY_MOVEMENTS: PharmacyMovementKind[] = ['delivery', 'dispense', 'patient_return', 'return_out', 'disposal', 'adjustment']

const DISPENSING = '/api/pms/dispensing-orders'
const SHORTAGES = '/api/pms/shortage-requests'
const WAREHOUSE_RETURNS = '/api/pms/warehouse-returns'

export const pmsApi = {
  dispensingOrders: (query: Query, signal?: AbortSignal) => http.get<Page<DispensingOrder>>(DISPENSING, query, { signal }),
  dispense: (id: number) => http.post<DispensingOrder>(`${DISPENSING}/${id}/dispense`),

  stock: (query: Query, signal?: AbortSignal) => http.get<Page<PharmacyStock>>('/api/pms/stock', query, { signal }),
  movements: (query: Query, signal?: AbortSignal) => http.get<Page<PharmacyMovement>>('/api/pms/stock/movements', query, { signal }),
  trace: (query: Query, signal?: AbortSignal) => http.get<Page<TraceRow>>('/api/pms/stock/trace', query, { signal }),

  deliveries: (query: Query, signal?: AbortSignal) => http.get<Page<Delivery>>('/api/pms/deliveries', query, { signal }),
  delivery: (id: number) => http.get<Delivery>(`/api/pms/deliveries/${id}`),

  shortageRequests: (query: Query, signal?: AbortSignal) => http.get<Page<ShortageRequest>>(SHORTAGES, query, { signal }),
  fileShortage: (body: ShortageRequestIn) => http.post<ShortageRequest>(SHORTAGES, body),
  cancelShortage: (id: number) => http.post<ShortageRequest>(`${SHORTAGES}/${id}/cancel`),

  returnDrugs: (dispensingOrderId: number, body: DrugReturnIn) => http.post<DrugReturn>(`${DISPENSING}/${dispensingOrderId}/returns`, body),
  drugReturns: (query: Query, signal?: AbortSignal) => http.get<Page<DrugReturn>>('/api/pms/drug-returns', query, { signal }),
  warehouseReturns: (query: Query, signal?: AbortSignal) => http.get<Page<WarehouseReturn>>(WAREHOUSE_RETURNS, query, { signal }),
  returnToWarehouse: (body: WarehouseReturnIn) => http.post<WarehouseReturn>(WAREHOUSE_RETURNS, body),
}
