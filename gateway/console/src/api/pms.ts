// pms — dispensing (docs/outpatient.md, the part the outpatient desk needs).
import type { Page } from '@/resources/types'

import { http, type Query } from './http'

export interface DispensingLine {
  id?: number
  line_id: number
  drug_id: number
  code: string
  name: string
  spec: string | null
  unit: string | null
  quantity: number
  /** Refunded at the desk: shown struck through, never handed out. */
  cancelled: boolean
}

export interface DispensingOrder {
  id: number
  number?: string
  source?: string
  order_id: number
  order_number: string
  visit_number: string
  patient_name: string
  doctor_name: string
  department_name: string
  /** `cancelled`: every line was refunded. */
  state: 'pending' | 'dispensed' | 'cancelled'
  lines: DispensingLine[]
  created_at: string
  dispensed_at?: string | null
  dispensed_by?: string | null
}

export const pmsApi = {
  dispensingOrders: (query: Query, signal?: AbortSignal) =>
    http.get<Page<DispensingOrder>>('/api/pms/dispensing-orders', query, { signal }),
  dispense: (id: number) => http.post<DispensingOrder>(`/api/pms/dispensing-orders/${id}/dispense`),
}
