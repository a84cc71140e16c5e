import type { Page, ResourceRecord } from '@/resources/types'

import { http, type Query } from './http'

export interface ListQuery extends Query {
  page?: number
  size?: number
  sort?: string
  q?: string
  enabled?: boolean
}

/** The generic client of one managed-record resource: `/api/<module>/<path>` (master data: dbs). */
export function resourceApi(path: string, module = 'dbs') {
  const base = `/api/${module}/${path}`
  return {
    list: (query: ListQuery = {}, signal?: AbortSignal) => http.get<Page<ResourceRecord>>(base, query, { signal }),
    get: (id: number) => http.get<ResourceRecord>(`${base}/${id}`),
    create: (body: Record<string, unknown>) => http.post<ResourceRecord>(base, body),
    update: (id: number, body: Record<string, unknown>) => http.put<ResourceRecord>(`${base}/${id}`, body),
    disable: (id: number) => http.post<ResourceRecord>(`${base}/${id}/disable`),
    enable: (id: number) => http.post<ResourceRecord>(`${base}/${id}/enable`),
    remove: (id: number) => http.delete(`${base}/${id}`),
  }
}
