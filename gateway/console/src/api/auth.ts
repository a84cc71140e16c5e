import type { Localized } from '@/resources/types'

import { http } from './http'

export interface User {
  id: number
  username: string
  real_name: string
  permissions: string[]
  /** While true the token carries no permissions: only a password change is possible. */
  must_change_password: boolean
  department_id?: number | null
}

export interface LoginAnswer {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  user: User
}

export interface ModuleInfo {
  key: string
  name: Localized
  available: boolean
}

export const authApi = {
  login: (username: string, password: string) =>
    http.post<LoginAnswer>('/api/auth/login', { username, password }, { anonymous: true }),
  refresh: (refreshToken: string) =>
    http.post<LoginAnswer>('/api/auth/refresh', { refresh_token: refreshToken }, { anonymous: true }),
  me: () => http.get<User>('/api/auth/me'),
  modules: () => http.get<ModuleInfo[]>('/api/auth/modules'),
  logout: () => http.post<void>('/api/auth/logout'),
  /** New tokens come back; the user's other sessions end. 422 names the field at fault. */
  changePassword: (currentPassword: string, newPassword: string) =>
    http.post<LoginAnswer>('/api/auth/password', { current_password: currentPassword, new_password: newPassword }),
}
