// 日志查询: the application log lines of every component (GET /api/system/app-logs), from
// Elasticsearch in production and from the local files in the embedded profile.
import type { Page } from '@/resources/types'

import { http, type Query } from './http'
import type { GatewaySchema } from './schema'

/** One line: its columns, and `line`, the whole JSON line as written (scrubbed). */
export type AppLogEntry = GatewaySchema<'AppLogEntry'>

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The components that write logs; `hamp` is the process that starts the others (`hamp up`). */
export const LOG_SERVICES = ['gateway', 'registry', 'oms', 'hms', 'tms', 'dbs', 'dms', 'sms', 'pms', 'hamp'] as const

export interface AppLogQuery extends Query {
  page?: number
  size?: number
  q?: string
  request_id?: string
  user?: string
  service?: string
  level?: LogLevel
  from?: string
  to?: string
}

export const appLogsApi = {
  list: (query: AppLogQuery, signal?: AbortSignal) => http.get<Page<AppLogEntry>>('/api/system/app-logs', query, { signal }),
}
