// The system-management API of the gateway (docs/system-api.md): users, roles, the
// permission catalogue, the login and operation logs and the online sessions.

import type { Localized, Page } from '@/resources/types'

import { http, type Query } from './http'

export type UserStatus = 'active' | 'disabled'

export interface RoleRef {
  id: number
  name: string
}

export interface UserAdmin {
  id: number
  username: string
  real_name: string
  /** Masked (`138****5678`) unless the caller holds `pii:read`. */
  phone: string | null
  department_id: number | null
  status: UserStatus
  locked: boolean
  locked_until: string | null
  is_superadmin: boolean
  must_change_password: boolean
  second_factor_enabled?: boolean
  roles: RoleRef[]
  last_login_at: string | null
  created_at: string
  updated_at: string
}

export interface UserCreate {
  username: string
  real_name: string
  /** Mobile; the masked value the list showed, sent back unchanged, keeps the stored number. */
  phone: string | null
  department_id: number | null
  role_ids: number[]
}

export type UserUpdate = Omit<UserCreate, 'username'>

export interface UserCreated {
  user: UserAdmin
  initial_password: string
}

export type DataScope = 'all' | 'departments' | 'own'

export interface Role {
  id: number
  name: string
  description: string | null
  permissions: string[]
  data_scope: DataScope
  department_ids: number[]
  /** The 三员 role's key; such a role is built in: never edited or deleted. */
  builtin: 'system_admin' | 'security_admin' | 'audit_admin' | null
  user_count: number
  created_at: string
  updated_at: string
}

export interface RoleInput {
  name: string
  description: string | null
  permissions: string[]
  data_scope: DataScope
  department_ids: number[]
}

/** `GET /api/system/permissions`: module → resource → permission. */
export interface CatalogueModule {
  module: string
  name?: Localized
  resources: CatalogueResource[]
}

export interface CatalogueResource {
  key: string
  name?: Localized
  permissions: CataloguePermission[]
}

export interface CataloguePermission {
  key: string
  action: string
  name?: Localized
}

export interface LoginLogEntry {
  id: number
  at: string
  username: string
  user_id: number | null
  ip: string
  user_agent: string
  result: 'success' | 'failure'
  reason: string | null
  event: LoginEvent
}

/** What a login-log row records: a login attempt, a logout, a session found expired, a password change. */
export const LOGIN_EVENTS = ['login', 'logout', 'session_expired', 'password_changed', 'password_reset'] as const
export type LoginEvent = (typeof LOGIN_EVENTS)[number]

/** A log's hash chain as verified by the module that keeps it (shared/audit_chain.py). */
export interface ChainState {
  module: string
  chain: string
  status: 'intact' | 'broken' | 'unsealed' | 'unavailable'
  rows: number
  archived_through: number | null
  problem: 'edited' | 'deleted' | 'truncated' | 'head_edited' | null
  row_id: number | null
  at: string | null
}

export interface OperationLogEntry {
  module: string
  id: number
  at: string
  actor: string | null
  actor_id: number | null
  action: string
  entity: string
  entity_id: string | number | null
  route: string | null
  request_id: string | null
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
  /** What the row is about in words (a number, a name, a doctor's shift), "" when nothing names it. */
  subject: string
}

export interface OnlineSession {
  id: string
  user_id: number
  username: string
  real_name: string
  ip: string
  user_agent: string
  created_at: string
  last_used_at: string
  expires_at: string
}

export interface PageQuery extends Query {
  page?: number
  size?: number
}

export interface UserQuery extends PageQuery {
  q?: string
  status?: UserStatus
}

export interface LoginLogQuery extends PageQuery {
  username?: string
  result?: 'success' | 'failure'
  event?: LoginEvent
  ip?: string
  from?: string
  to?: string
}

export interface OperationLogQuery extends PageQuery {
  user?: string
  module?: string
  entity?: string
  from?: string
  to?: string
}

const USERS = '/api/system/users'
const ROLES = '/api/system/roles'

export const usersApi = {
  list: (query: UserQuery, signal?: AbortSignal) => http.get<Page<UserAdmin>>(USERS, query, { signal }),
  get: (id: number) => http.get<UserAdmin>(`${USERS}/${id}`),
  create: (body: UserCreate) => http.post<UserCreated>(USERS, body),
  update: (id: number, body: UserUpdate) => http.put<UserAdmin>(`${USERS}/${id}`, body),
  disable: (id: number) => http.post<UserAdmin>(`${USERS}/${id}/disable`),
  enable: (id: number) => http.post<UserAdmin>(`${USERS}/${id}/enable`),
  unlock: (id: number) => http.post<UserAdmin>(`${USERS}/${id}/unlock`),
  resetPassword: (id: number) => http.post<{ initial_password: string }>(`${USERS}/${id}/reset-password`),
  forceLogout: (id: number) => http.post<void>(`${USERS}/${id}/force-logout`),
  /** A lost phone: forgets the authenticator and ends the user's sessions (system:security:write). */
  resetSecondFactor: (id: number) => http.post<UserAdmin>(`${USERS}/${id}/second-factor/reset`),
}

export const rolesApi = {
  list: (query: PageQuery & { q?: string }, signal?: AbortSignal) => http.get<Page<Role>>(ROLES, query, { signal }),
  get: (id: number) => http.get<Role>(`${ROLES}/${id}`),
  create: (body: RoleInput) => http.post<Role>(ROLES, body),
  update: (id: number, body: RoleInput) => http.put<Role>(`${ROLES}/${id}`, body),
  remove: (id: number) => http.delete(`${ROLES}/${id}`),
  catalogue: () => http.get<CatalogueModule[]>('/api/system/permissions'),
}

export const logsApi = {
  logins: (query: LoginLogQuery, signal?: AbortSignal) =>
    http.get<Page<LoginLogEntry>>('/api/system/login-log', query, { signal }),
  operations: (query: OperationLogQuery, signal?: AbortSignal) =>
    http.get<Page<OperationLogEntry>>('/api/system/operation-log', query, { signal }),
  operationChains: () => http.get<ChainState[]>('/api/system/operation-log/chain'),
  loginChain: () => http.get<ChainState>('/api/system/login-log/chain'),
}

export const sessionsApi = {
  list: (query: PageQuery & { username?: string }, signal?: AbortSignal) =>
    http.get<Page<OnlineSession>>('/api/system/sessions', query, { signal }),
  end: (id: string) => http.delete(`/api/system/sessions/${encodeURIComponent(id)}`),
}

/** The security policy in force (deployment settings, shown for review). */
export interface SecurityPolicy {
  password_min_length: number
  password_max_age_days: number
  password_history: number
  lockout_failures: number
  lockout_window_minutes: number
  lockout_minutes: number
  session_idle_minutes: number
  session_absolute_hours: number
  access_token_minutes: number
  second_factor_required_for: string[]
  trusted_networks: string[]
  trusted_proxies: string[]
  login_rate_per_ip_per_minute: number
  login_rate_per_user_per_minute: number
  api_rate_per_second: number
  audit_retention_days: number
}

export const policyApi = {
  get: () => http.get<SecurityPolicy>('/api/system/security-policy'),
}

/** A message between services not delivered (waiting, refused by its receiver, or resolved). */
export interface OutboxMessage {
  module: string
  id: number
  key: string
  destination: string
  method: string
  path: string
  kind: Localized | null
  status: 'pending' | 'rejected' | 'resolved'
  attempts: number
  created_at: string
  next_attempt_at: string
  answer_status: number | null
  answer: string | null
  resolved_at: string | null
  resolved_by: string | null
  resolution_note: string | null
}

export interface OutboxQuery extends PageQuery {
  module?: string
  status?: OutboxMessage['status']
}

export const outboxApi = {
  list: (query: OutboxQuery, signal?: AbortSignal) => http.get<Page<OutboxMessage>>('/api/system/outbox', query, { signal }),
  retry: (module: string, id: number) => http.post<void>(`/api/${module}/outbox/${id}/retry`),
  resolve: (module: string, id: number, note: string) => http.post<void>(`/api/${module}/outbox/${id}/resolve`, { note }),
}
