// 收费日结 (oms cashier settlements): the open period, closing it, the reports, a supervisor's day.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'

export interface Flow {
  received: string
  refunded: string
  net: string
}

export interface SettlementTotals extends Flow {
  payment_count: number
  refund_count: number
  insured: string
  self_paid: string
  by_method: (Flow & { method: string })[]
  by_kind: (Flow & { kind: 'registration' | 'drug' | 'item'; payment_count: number; refund_count: number })[]
  payment_numbers: { first: string; last: string; count: number } | null
  refund_numbers: { first: string; last: string; count: number } | null
  first_at: string | null
  last_at: string | null
}

export interface Settlement {
  id: number
  number: string
  cashier: string
  cashier_name: string
  business_date: string
  cutoff: string
  created_at: string
  totals: SettlementTotals
}

export interface OpenPeriod {
  cashier: string
  cutoff: string
  totals: SettlementTotals
}

export interface SettlementDay {
  date: string
  settlements: Settlement[]
  total: SettlementTotals
  unsettled: OpenPeriod[]
}

const BASE = '/api/oms/cashier-settlements'

export const settlementsApi = {
  preview: () => http.get<OpenPeriod>(`${BASE}/preview`),
  settle: () => http.post<Settlement>(BASE),
  list: (query: Query) => http.get<Page<Settlement>>(BASE, query),
  day: (date: string) => http.get<SettlementDay>(`${BASE}/day`, { date }),
  reportUrl: (id: number, format: 'pdf' | 'xlsx') => `${BASE}/${id}/report.${format}`,
}
