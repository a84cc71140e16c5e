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
  state: 'pending' | 'dispensed'
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
