import type { Page, ResourceRecord } from '@/resources/types'

import { http, type Query } from './http'

export interface ListQuery extends Query {
  page?: number
  size?: number
  sort?: string
  q?: string
  enabled?: boolean
}

/**
 * The generic client of one managed-record resource: `/api/<module>/<path>` (master data: dbs).
 * A caller that knows the resource names its generated schema as `T` (`DbsSchema<'DepartmentOut'>`).
 */
export function resourceApi<T extends { id: number } = ResourceRecord>(path: string, module = 'dbs') {
  const base = `/api/${module}/${path}`
  return {
    list: (query: ListQuery = {}, signal?: AbortSignal) => http.get<Page<T>>(base, query, { signal }),
    get: (id: number) => http.get<T>(`${base}/${id}`),
    create: (body: Record<string, unknown>) => http.post<T>(base, body),
    update: (id: number, body: Record<string, unknown>) => http.put<T>(`${base}/${id}`, body),
    disable: (id: number) => http.post<T>(`${base}/${id}/disable`),
    enable: (id: number) => http.post<T>(`${base}/${id}/enable`),
    remove: (id: number) => http.delete(`${base}/${id}`),
  }
}
