// pms — dispensing (docs/outpatient.md, the part the outpatient desk needs).
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import type { PmsSchema } from './schema'

export type DispensingLine = PmsSchema<'LineOut'>
/** `state: cancelled`: every line was refunded at the desk. */
export type DispensingOrder = PmsSchema<'DispensingOrderOut'>

export const pmsApi = {
  dispensingOrders: (query: Query, signal?: AbortSignal) =>
    http.get<Page<DispensingOrder>>('/api/pms/dispensing-orders', query, { signal }),
  dispense: (id: number) => http.post<DispensingOrder>(`/api/pms/dispensing-orders/${id}/dispense`),
}
