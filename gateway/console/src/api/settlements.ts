// 收费日结 (oms cashier settlements): the open period, closing it, the reports, a supervisor's day.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import type { OmsSchema } from './schema'

export type SettlementTotals = OmsSchema<'SettlementTotals'>
export type Settlement = OmsSchema<'SettlementOut'>
export type OpenPeriod = OmsSchema<'OpenPeriod'>
export type SettlementDay = OmsSchema<'SettlementDay'>

const BASE = '/api/oms/cashier-settlements'

export const settlementsApi = {
  preview: () => http.get<OpenPeriod>(`${BASE}/preview`),
  settle: () => http.post<Settlement>(BASE),
  list: (query: Query) => http.get<Page<Settlement>>(BASE, query),
  day: (date: string) => http.get<SettlementDay>(`${BASE}/day`, { date }),
  reportUrl: (id: number, format: 'pdf' | 'xlsx') => `${BASE}/${id}/report.${format}`,
}
