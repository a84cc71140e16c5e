// dms — scheduling (docs/outpatient.md): schedules, leave, visit records.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'

export type Shift = 'morning' | 'afternoon'
export const SHIFTS: Shift[] = ['morning', 'afternoon']

export interface Schedule {
  id: number
  doctor_id: number
  doctor_name: string
  department_id: number
  department_name: string
  date: string
  shift: Shift
  registration_type_id: number
  registration_type_name: string
  quota: number
  booked: number
  free: number
  status: 'open' | 'closed'
  leave_id: number | null
  created_at: string
  updated_at: string
}

export interface Booking {
  key: string
  schedule_id: number
  seq: number
  status: 'booked' | 'released'
  visit_number: string | null
  created_at: string
  released_at: string | null
  date?: string
  shift?: Shift
}

export interface Leave {
  id: number
  doctor_id: number
  doctor_name: string
  start_date: string
  start_shift: Shift
  end_date: string
  end_shift: Shift
  reason: string
  status: 'active' | 'cancelled'
  closed_schedules: number
  created_at: string
}

export interface LeaveDetail {
  leave: Leave
  closed: Schedule[]
  affected_bookings: Booking[]
}

export interface VisitRecord {
  date: string
  doctor_id: number
  doctor_name: string
  department_name: string
  shifts: Shift[]
  quota: number
  booked: number
}

export interface ScheduleQuery extends Query {
  date_from?: string
  date_to?: string
  department_id?: number
  doctor_id?: number
  status?: string
}

export const dmsApi = {
  schedules: (query: ScheduleQuery, signal?: AbortSignal) =>
    http.get<{ items: Schedule[] }>('/api/dms/schedules', query, { signal }),
  createSchedule: (body: { doctor_id: number; date: string; shift: Shift; registration_type_id: number; quota: number }) =>
    http.post<Schedule>('/api/dms/schedules', body),
  updateSchedule: (id: number, body: { registration_type_id: number; quota: number }) =>
    http.put<Schedule>(`/api/dms/schedules/${id}`, body),
  deleteSchedule: (id: number) => http.delete(`/api/dms/schedules/${id}`),
  copyWeek: (body: { from_monday: string; to_monday: string; department_id?: number | null }) =>
    http.post<{ created: number; skipped: number }>('/api/dms/schedules/copy-week', body),

  leaves: (query: Query, signal?: AbortSignal) => http.get<Page<Leave>>('/api/dms/leaves', query, { signal }),
  leave: (id: number) => http.get<LeaveDetail>(`/api/dms/leaves/${id}`),
  createLeave: (body: {
    doctor_id: number
    start_date: string
    start_shift: Shift
    end_date: string
    end_shift: Shift
    reason: string
  }) => http.post<LeaveDetail>('/api/dms/leaves', body),
  cancelLeave: (id: number) => http.post<unknown>(`/api/dms/leaves/${id}/cancel`),

  visitRecords: (query: Query, signal?: AbortSignal) =>
    http.get<{ items: VisitRecord[] }>('/api/dms/visit-records', query, { signal }),
}
