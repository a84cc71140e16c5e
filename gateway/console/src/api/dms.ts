// dms — scheduling (docs/outpatient.md): schedules, leave, visit records.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import type { DmsSchema } from './schema'

export type Shift = Schedule['shift']
export const SHIFTS: Shift[] = ['morning', 'afternoon']

export type Schedule = DmsSchema<'ScheduleOut'>
export type Booking = DmsSchema<'BookingOut'>
export type Leave = DmsSchema<'LeaveOut'>
export type LeaveDetail = DmsSchema<'LeaveDetail'>
export type VisitRecord = DmsSchema<'VisitRecord'>

export interface ScheduleQuery extends Query {
  date_from?: string
  date_to?: string
  department_id?: number
  doctor_id?: number
  status?: string
}

export const dmsApi = {
  schedules: (query: ScheduleQuery, signal?: AbortSignal) =>
    http.get<DmsSchema<'ScheduleList'>>('/api/dms/schedules', query, { signal }),
  createSchedule: (body: { doctor_id: number; date: string; shift: Shift; registration_type_id: number; quota: number }) =>
    http.post<Schedule>('/api/dms/schedules', body),
  updateSchedule: (id: number, body: { registration_type_id: number; quota: number }) =>
    http.put<Schedule>(`/api/dms/schedules/${id}`, body),
  deleteSchedule: (id: number) => http.delete(`/api/dms/schedules/${id}`),
  copyWeek: (body: { from_monday: string; to_monday: string; department_id?: number | null }) =>
    http.post<DmsSchema<'CopyWeekOut'>>('/api/dms/schedules/copy-week', body),

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
  cancelLeave: (id: number) => http.post<LeaveDetail>(`/api/dms/leaves/${id}/cancel`),

  visitRecords: (query: Query, signal?: AbortSignal) =>
    http.get<DmsSchema<'VisitRecordList'>>('/api/dms/visit-records', query, { signal }),
}
