// sms — the warehouse (docs/warehouse.md): inbound orders, stock by batch, the stock ledger, the
// two alerts, the pharmacy's shortage requests, outbound orders, purchase orders, stock-takes and
// disposals.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import type { SmsSchema } from './schema'

export type InboundOrder = SmsSchema<'InboundOrderOut'>
export type InboundLine = InboundOrder['lines'][number]
export type InboundOrderIn = SmsSchema<'InboundOrderIn'>
export type InboundLineIn = InboundOrderIn['lines'][number]
export type InboundState = InboundOrder['state']
export const INBOUND_STATES: InboundState[] = ['draft', 'posted', 'reversed']

export type StockRow = SmsSchema<'StockRow'>
export type MovementRow = SmsSchema<'MovementRow'>
export type Movement = SmsSchema<'Movement'>
export const MOVEMENTS: Movement[] = [
  'inbound',
  'inbound_reversal',
  'outbound',
  'delivery',
  'dispense',
  'patient_return',
  'return_out',
  'return_in',
  'disposal',
  'adjustment',
]

export type LowStockRow = SmsSchema<'LowStockRow'>
export type ExpiryRow = SmsSchema<'ExpiryRow'>
export type Threshold = SmsSchema<'ThresholdOut'>

export type ShortageRequest = SmsSchema<'ShortageRequestOut'>
export type ShortageLine = ShortageRequest['lines'][number]
export type ShortageState = ShortageRequest['state']
export const SHORTAGE_STATES: ShortageState[] = ['open', 'partly_fulfilled', 'fulfilled']

export type OutboundOrder = SmsSchema<'OutboundOrderOut'>
export type OutboundLine = OutboundOrder['lines'][number]
export type OutboundOrderIn = SmsSchema<'OutboundOrderIn'>
export type OutboundLineIn = OutboundOrderIn['lines'][number]

export type PurchaseOrder = SmsSchema<'PurchaseOrderOut'>
export type PurchaseLine = PurchaseOrder['lines'][number]
export type PurchaseOrderIn = SmsSchema<'PurchaseOrderIn'>
export type PurchaseState = PurchaseOrder['state']
export const PURCHASE_STATES: PurchaseState[] = ['draft', 'approved', 'received', 'cancelled']
export type Proposal = SmsSchema<'Proposal'>
export type ProposalLine = SmsSchema<'ProposalLine'>
export type ReceiveIn = SmsSchema<'ReceiveIn'>

export type Stocktake = SmsSchema<'StocktakeOut'>
export type StocktakeLine = Stocktake['lines'][number]
export type StocktakeState = Stocktake['state']
export const STOCKTAKE_STATES: StocktakeState[] = ['counting', 'submitted', 'approved', 'cancelled']

export type Disposal = SmsSchema<'DisposalOut'>
export type DisposalIn = SmsSchema<'DisposalIn'>

/** 药品回收: what the pharmacy sent back (退库), as the warehouse received it. */
export type PharmacyReturn = SmsSchema<'ReturnOut'>
export type PharmacyReturnLine = PharmacyReturn['lines'][number]
export type PharmacyReturnDestination = PharmacyReturn['destination']

const INBOUND = '/api/sms/inbound-orders'
const SHORTAGES = '/api/sms/shortage-requests'
const OUTBOUND = '/api/sms/outbound-orders'
const PURCHASES = '/api/sms/purchase-orders'
const STOCKTAKES = '/api/sms/stocktakes'
const DISPOSALS = '/api/sms/disposals'

export const smsApi = {
  inboundOrders: (query: Query, signal?: AbortSignal) => http.get<Page<InboundOrder>>(INBOUND, query, { signal }),
  inboundOrder: (id: number) => http.get<InboundOrder>(`${INBOUND}/${id}`),
  createInbound: (body: InboundOrderIn) => http.post<InboundOrder>(INBOUND, body),
  updateInbound: (id: number, body: InboundOrderIn) => http.put<InboundOrder>(`${INBOUND}/${id}`, body),
  deleteInbound: (id: number) => http.delete(`${INBOUND}/${id}`),
  postInbound: (id: number) => http.post<InboundOrder>(`${INBOUND}/${id}/post`),
  reverseInbound: (id: number, reason: string) => http.post<InboundOrder>(`${INBOUND}/${id}/reverse`, { reason }),

  stock: (query: Query, signal?: AbortSignal) => http.get<Page<StockRow>>('/api/sms/stock', query, { signal }),
  movements: (query: Query, signal?: AbortSignal) => http.get<Page<MovementRow>>('/api/sms/stock/movements', query, { signal }),

  lowStock: (query: Query, signal?: AbortSignal) => http.get<Page<LowStockRow>>('/api/sms/alerts/low-stock', query, { signal }),
  expiry: (query: Query, signal?: AbortSignal) => http.get<Page<ExpiryRow>>('/api/sms/alerts/expiry', query, { signal }),
  threshold: (drugId: number) => http.get<Threshold>(`/api/sms/thresholds/${drugId}`),
  setThreshold: (drugId: number, threshold: number) => http.put<Threshold>(`/api/sms/thresholds/${drugId}`, { threshold }),

  shortageRequests: (query: Query, signal?: AbortSignal) => http.get<Page<ShortageRequest>>(SHORTAGES, query, { signal }),
  shortageRequest: (id: number) => http.get<ShortageRequest>(`${SHORTAGES}/${id}`),

  outboundOrders: (query: Query, signal?: AbortSignal) => http.get<Page<OutboundOrder>>(OUTBOUND, query, { signal }),
  outboundOrder: (id: number) => http.get<OutboundOrder>(`${OUTBOUND}/${id}`),
  /** Writes and posts in one step; the key is made once per opening of the form, so a repeat answers the first. */
  createOutbound: (body: OutboundOrderIn, idempotencyKey: string) =>
    http.post<OutboundOrder>(OUTBOUND, body, { headers: { 'Idempotency-Key': idempotencyKey } }),

  purchaseOrders: (query: Query, signal?: AbortSignal) => http.get<Page<PurchaseOrder>>(PURCHASES, query, { signal }),
  purchaseOrder: (id: number) => http.get<PurchaseOrder>(`${PURCHASES}/${id}`),
  proposal: (warehouseId: number) => http.get<Proposal>(`${PURCHASES}/proposal`, { warehouse_id: warehouseId }),
  createPurchase: (body: PurchaseOrderIn) => http.post<PurchaseOrder>(PURCHASES, body),
  updatePurchase: (id: number, body: PurchaseOrderIn) => http.put<PurchaseOrder>(`${PURCHASES}/${id}`, body),
  approvePurchase: (id: number) => http.post<PurchaseOrder>(`${PURCHASES}/${id}/approve`),
  cancelPurchase: (id: number) => http.post<PurchaseOrder>(`${PURCHASES}/${id}/cancel`),
  receivePurchase: (id: number, body: ReceiveIn) => http.post<PurchaseOrder>(`${PURCHASES}/${id}/receive`, body),

  stocktakes: (query: Query, signal?: AbortSignal) => http.get<Page<Stocktake>>(STOCKTAKES, query, { signal }),
  stocktake: (id: number) => http.get<Stocktake>(`${STOCKTAKES}/${id}`),
  createStocktake: (warehouseId: number, remark: string) => http.post<Stocktake>(STOCKTAKES, { warehouse_id: warehouseId, remark }),
  countLine: (id: number, lineId: number, counted: number) =>
    http.put<Stocktake>(`${STOCKTAKES}/${id}/lines/${lineId}`, { counted_quantity: counted }),
  submitStocktake: (id: number) => http.post<Stocktake>(`${STOCKTAKES}/${id}/submit`),
  approveStocktake: (id: number) => http.post<Stocktake>(`${STOCKTAKES}/${id}/approve`),
  cancelStocktake: (id: number) => http.post<Stocktake>(`${STOCKTAKES}/${id}/cancel`),

  disposals: (query: Query, signal?: AbortSignal) => http.get<Page<Disposal>>(DISPOSALS, query, { signal }),
  createDisposal: (body: DisposalIn) => http.post<Disposal>(DISPOSALS, body),

  pharmacyReturns: (query: Query, signal?: AbortSignal) => http.get<Page<PharmacyReturn>>('/api/sms/returns', query, { signal }),
  pharmacyReturn: (id: number) => http.get<PharmacyReturn>(`/api/sms/returns/${id}`),
}
