// The system-management API of the gateway (docs/system-api.md): users, roles, the
// permission catalogue, the login and operation logs and the online sessions.

import type { Localized, Page } from '@/resources/types'

import { http, type Query } from './http'
import type { GatewaySchema } from './schema'

export type UserStatus = GatewaySchema<'UserStatus'>
export type RoleRef = GatewaySchema<'RoleRef'>
/** `phone` is masked (`138****5678`) unless the caller holds `pii:read`. */
export type UserAdmin = GatewaySchema<'UserAdminOut'>
/** `phone`: the masked value the list showed, sent back unchanged, keeps the stored number. */
export type UserCreate = GatewaySchema<'UserCreate'>
export type UserUpdate = GatewaySchema<'UserIn'>
export type UserCreated = GatewaySchema<'UserCreated'>
export type DataScope = GatewaySchema<'DataScope'>

/** `builtin`: the 三员 role's key; such a role is built in: never edited or deleted. */
export type Role = Omit<GatewaySchema<'RoleOut'>, 'builtin'> & {
  builtin?: 'system_admin' | 'security_admin' | 'audit_admin' | null
}
export type RoleInput = GatewaySchema<'RoleIn'>

// The catalogue's names are `{zh, en}` pairs; the schema only says "a dict of strings".
/** `GET /api/system/permissions`: module → resource → permission. */
export type CatalogueModule = Omit<GatewaySchema<'ModuleNode'>, 'name' | 'resources'> & {
  name?: Localized
  resources: CatalogueResource[]
}
export type CatalogueResource = Omit<GatewaySchema<'ResourceNode'>, 'name' | 'permissions'> & {
  name?: Localized
  permissions: CataloguePermission[]
}
export type CataloguePermission = GatewaySchema<'PermissionNode'> & { name?: Localized }

export type LoginLogEntry = GatewaySchema<'LoginLogOut'>

/** What a login-log row records: a login attempt, a logout, a session found expired, a password change. */
export const LOGIN_EVENTS: LoginEvent[] = ['login', 'logout', 'session_expired', 'password_changed', 'password_reset']
export type LoginEvent = GatewaySchema<'LoginEvent'>

/** A log's hash chain as verified by the module that keeps it (shared/audit_chain.py). */
export type ChainState = GatewaySchema<'ChainState'>
/** `subject`: what the row is about in words (a number, a name, a doctor's shift), "" when nothing names it. */
export type OperationLogEntry = GatewaySchema<'OperationLogEntry'>
export type OnlineSession = GatewaySchema<'SessionOut'>

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
export type SecurityPolicy = GatewaySchema<'SecurityPolicy'>

export const policyApi = {
  get: () => http.get<SecurityPolicy>('/api/system/security-policy'),
}

/** A message between services not delivered (waiting, refused by its receiver, or resolved). */
export type OutboxMessage = Omit<GatewaySchema<'OutboxMessage'>, 'kind' | 'status'> & {
  kind?: Localized | null
  status: 'pending' | 'rejected' | 'resolved'
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
